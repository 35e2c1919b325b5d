"""chat: talk to a trained checkpoint in the terminal.

    python -m stages.chat                                        # interactive, models/grpo
    python -m stages.chat --checkpoint models/sft --persona persona.txt
    python -m stages.chat --checkpoint models/grpo --message "I failed my driving test."   # one answer
    make chat CHECKPOINT=models/sft PERSONA="MBTI: INFJ"

Each answer shows the understanding, reasoning and emotion spans dimmed (when stdout is a terminal)
and the response plainly. The persona (text, or a file holding it) goes into the project's system
prompt (conf/format) as in training. The interactive mode keeps the conversation: earlier answers go
back to the model as their response span, the form the training dialogues have; /reset starts over,
/quit or Ctrl-D ends. Generation follows the checkpoint's generation_config.json (evaluate's settings)
unless flags say otherwise.

Not a DVC stage; the model runs in this process (stages/core/local_model.py). The OpenAI-compatible
*client* the judges use is stages/core/chat.py, a different thing.
"""

from __future__ import annotations

import argparse
import os
import sys

from stages.core.format import ALL_SPANS

DEFAULT_CHECKPOINT = "models/grpo"
DIM, RESET = "\033[2m", "\033[0m"
LABELS = {s: s for s in ALL_SPANS}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m stages.chat", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT,
                   help=f"model directory (default: {DEFAULT_CHECKPOINT})")
    p.add_argument("--message", "-m", help="answer this one message and exit (no interactive session)")
    p.add_argument("--persona", default=None,
                   help="the user's profile for the system prompt: text, or a file holding it (default: none)")
    g = p.add_argument_group("generation (default: the checkpoint's generation_config.json, then "
                             "evaluate.max_new_tokens)")
    g.add_argument("--max-new-tokens", type=int, default=None, help="token limit of one answer")
    g.add_argument("--sample", dest="do_sample", action="store_true", default=None, help="sample instead of greedy")
    g.add_argument("--greedy", dest="do_sample", action="store_false", help="greedy decoding")
    g.add_argument("--temperature", type=float, default=None, help="sampling temperature (implies --sample)")
    g.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass (implies --sample)")
    g.add_argument("--seed", type=int, default=None, help="torch seed of each answer (default 0)")
    p.add_argument("--raw", action="store_true", help="print the answer as generated, span tokens included")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="dim the reasoning spans with ANSI codes (auto: only when stdout is a terminal)")
    return p


def show(model, text: str, color: bool, raw: bool = False) -> str:
    """The answer as printed: non-response spans labelled (and dimmed), the response plain."""
    from stages.core.local_model import segments

    if raw:
        return text
    lines = []
    for span, content in segments(model.format, text):
        if span == "response":
            lines.append(content)
        else:
            label = f"[{LABELS[span]}] " if span else ""
            line = label + content
            lines.append(f"{DIM}{line}{RESET}" if color else line)
    return "\n".join(lines) if lines else text


def note(text: str, color: bool) -> None:
    print(f"{DIM}({text}){RESET}" if color else f"({text})", file=sys.stderr)


def answer(model, messages, settings, color: bool, raw: bool) -> str:
    """Generate, print and return the reply to ``messages``."""
    text, finish = model.reply(messages, settings)
    print(show(model, text, color, raw), flush=True)
    parsed = model.format.parse(text)
    if finish == "length":
        note(f"stopped at {settings.max_new_tokens} new tokens; --max-new-tokens gives more room", color)
    elif not parsed.ok and not raw:
        note(f"not a well-formed {model.format.style} answer: {parsed.error}", color)
    return text


def interactive(model, system: dict, settings, color: bool, raw: bool) -> None:
    import contextlib

    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - line editing and history for input()
    print(f"Chatting with {model.path} ({model.format.style}, max {settings.max_new_tokens} new tokens, "
          f"{'sampling' if settings.do_sample else 'greedy'}). /reset starts over, /quit or Ctrl-D ends.",
          file=sys.stderr)
    history: list[dict] = []
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            print(file=sys.stderr)
            return
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return
        if line == "/reset":
            history = []
            note("conversation cleared", color)
            continue
        history.append({"role": "user", "content": line})
        messages, dropped = model.fit([system, *history], settings.max_new_tokens)
        if dropped:
            history = messages[1:]
            note(f"dropped the {dropped} oldest turns to fit the model's {model.context_length}-token context", color)
        text = answer(model, messages, settings, color, raw)
        history.append({"role": "assistant", "content": earlier_turn(model, text)})


def earlier_turn(model, text: str) -> str:
    """An answer as the next prompt carries it: its response only, as the training dialogues have
    earlier turns; from a malformed answer its response span if any, else its text without span tokens."""
    from stages.core.local_model import segments

    responses = [content for span, content in segments(model.format, text) if span == "response"]
    return responses[0] if responses else model.format.plain_text(text).strip()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        print("chat: --max-new-tokens must be at least 1", file=sys.stderr)
        return 2
    from stages.core.local_model import CheckpointMissing, LocalModel, check_checkpoint, read_persona

    try:
        check_checkpoint(args.checkpoint)   # before the slow imports
    except CheckpointMissing as e:
        print(f"chat: {e}", file=sys.stderr)
        return 2
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    model = LocalModel.load(args.checkpoint)
    sampling = args.temperature is not None or args.top_p is not None
    settings = model.settings.but(max_new_tokens=args.max_new_tokens, seed=args.seed, temperature=args.temperature,
                                  top_p=args.top_p, do_sample=True if sampling and args.do_sample is None else args.do_sample)
    system = model.system_message(read_persona(args.persona))
    try:
        if args.message is not None:
            messages, _ = model.fit([system, {"role": "user", "content": args.message}], settings.max_new_tokens)
            answer(model, messages, settings, color, args.raw)
        else:
            interactive(model, system, settings, color, args.raw)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
