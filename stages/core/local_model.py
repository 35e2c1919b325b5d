"""A trained checkpoint to talk to: what ``python -m stages.chat`` and ``python -m stages.serve`` share.

Not to be confused with ``stages/core/chat.py``, the async *client* for remote OpenAI-compatible
servers: this module runs a local checkpoint in this process.

``LocalModel.load(path)`` loads a checkpoint directory (models/sft, models/grpo or any the stages
saved), places it with ``devices.to_generation_device`` and decides:

* the response format (``ResponseFormat``): the style the checkpoint's model card names (``kardia:
  format``), with the system prompt template of params.yaml when its style is the same, else that of
  conf/format/<style>.yaml; a persona goes into that template as evaluate's prompts have it;
* the generation settings: the checkpoint's ``generation_config.json`` (the sft/grpo stages write
  evaluate's ``max_new_tokens`` and ``do_sample`` there), then ``evaluate.max_new_tokens`` of
  params.yaml / conf/evaluate for what it lacks (older checkpoints stop at transformers' 20 tokens).

``reply(messages)`` generates with ``generation.generate_ids`` (the evaluation's code path) and
returns the raw assistant turn, span tokens included; ``segments`` splits such a turn into
(span, text) pieces for display, also when it is cut short or malformed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from .errors import KardiaError
from .format import ResponseFormat, begin, end

log = logging.getLogger("kardia.local_model")
ROOT = Path(__file__).resolve().parents[2]


class CheckpointMissing(KardiaError):
    """The checkpoint directory does not exist or holds no model; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Decoding settings of one reply. ``temperature`` / ``top_p`` apply only when ``do_sample``."""

    max_new_tokens: int
    do_sample: bool = False
    temperature: float | None = None
    top_p: float | None = None
    seed: int = 0

    def but(self, **changes) -> Settings:
        """These settings with the given fields replaced; None values leave a field as it is."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def check_checkpoint(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise CheckpointMissing(f"checkpoint {path} does not exist: run `make pipeline` to train it "
                                "(or give --checkpoint another model directory)")
    if not (path / "config.json").exists():
        raise CheckpointMissing(f"{path} is not a model checkpoint (no config.json): run `make pipeline` "
                                "(`dvc pull` fetches a stored one), or give --checkpoint another directory")
    return path


def _yaml(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}


def _card_meta(path: Path) -> dict:
    """The ``kardia`` block of the checkpoint's model card front matter ({} without a card)."""
    try:
        text = (path / "README.md").read_text(encoding="utf-8")
    except OSError:
        return {}
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        return {}
    meta = yaml.safe_load(text[4:].split("\n---\n", 1)[0]) or {}
    return meta.get("kardia") or {}


def response_format(checkpoint: Path, params: Path = ROOT / "params.yaml") -> ResponseFormat:
    """The checkpoint's ResponseFormat (see the module doc)."""
    fmt_params = _yaml(params).get("format") or {}
    style = _card_meta(checkpoint).get("format") or fmt_params.get("style") or "four_span"
    if fmt_params.get("style") == style and fmt_params.get("system_prompt"):
        return ResponseFormat(style, fmt_params["system_prompt"])
    conf = _yaml(ROOT / "conf" / "format" / f"{style}.yaml")
    return ResponseFormat(style, conf.get("system_prompt", "{persona}"))


def evaluate_max_new_tokens(params: Path = ROOT / "params.yaml") -> int:
    """``evaluate.max_new_tokens`` of params.yaml, else of conf/evaluate/default.yaml, else 160."""
    for source in (params, ROOT / "conf" / "evaluate" / "default.yaml"):
        data = _yaml(source)
        value = (data.get("evaluate") or {}).get("max_new_tokens") if source == params else data.get("max_new_tokens")
        if value:
            return int(value)
    return 160


def default_settings(generation_config, params: Path = ROOT / "params.yaml") -> Settings:
    """The checkpoint's generation config, with evaluate's max_new_tokens where it sets none (a config
    without one says 20, transformers' default: mid-span for this model)."""
    max_new = generation_config.max_new_tokens
    if not max_new or "max_new_tokens" not in generation_config.to_diff_dict():
        max_new = evaluate_max_new_tokens(params)
    do_sample = bool(generation_config.do_sample)
    return Settings(max_new_tokens=int(max_new), do_sample=do_sample,
                    temperature=generation_config.temperature if do_sample else None,
                    top_p=generation_config.top_p if do_sample else None)


def read_persona(value: str | None) -> str:
    """``--persona``: the text of a file when ``value`` names one, else ``value`` itself ('' for none)."""
    if not value:
        return ""
    path = Path(value)
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    except OSError:   # a long persona text is no file name
        pass
    return value.strip()


def segments(fmt: ResponseFormat, text: str) -> list[tuple[str | None, str]]:
    """``text`` as (span name, content) pieces in order; None names text outside any span. Lenient: a
    span cut short by the token limit runs to the end, so a truncated turn still shows its spans."""
    text = fmt.normalize(text)
    parsed = fmt.parse(text)
    if parsed.ok:
        return [(s, parsed.spans[s]) for s in fmt.spans]
    pieces: list[tuple[str | None, str]] = []
    pos = 0
    markers = sorted((text.find(begin(s)), s) for s in fmt.spans if begin(s) in text)
    for start, span in markers:
        if start < pos:
            continue
        if text[pos:start].strip():
            pieces.append((None, text[pos:start].strip()))
        body_start = start + len(begin(span))
        stop = text.find(end(span), body_start)
        nxt = [text.find(begin(s), body_start) for s in fmt.spans if text.find(begin(s), body_start) >= 0]
        limit = min([stop] + nxt) if stop >= 0 else min(nxt, default=len(text))
        if stop >= 0 and limit == stop:
            pieces.append((span, text[body_start:stop].strip()))
            pos = stop + len(end(span))
        else:
            pieces.append((span, text[body_start:limit].strip()))
            pos = limit
    if text[pos:].strip():
        pieces.append((None, text[pos:].strip()))
    return [piece for span, content in pieces
            for piece in ([(span, content)] if span else _closed_spans(fmt, content))]


def _closed_spans(fmt: ResponseFormat, text: str) -> list[tuple[str | None, str]]:
    """Text outside any opened span, split at end markers: what precedes ``<|x_end|>`` is span x (a
    model that forgot the opening token)."""
    out: list[tuple[str | None, str]] = []
    while True:
        found = min(((text.find(end(s)), s) for s in fmt.spans if end(s) in text), default=None)
        if found is None:
            break
        at, span = found
        if text[:at].strip():
            out.append((span, text[:at].strip()))
        text = text[at + len(end(span)):]
    if text.strip():
        out.append((None, text.strip()))
    return out


class LocalModel:
    """One checkpoint in this process: its tokenizer, model, format and default settings."""

    def __init__(self, path: Path, model, tokenizer, fmt: ResponseFormat, settings: Settings):
        self.path, self.model, self.tokenizer, self.format, self.settings = path, model, tokenizer, fmt, settings
        self.name = path.name

    @classmethod
    def load(cls, path: str | Path, dtype: str = "float32", params: Path = ROOT / "params.yaml") -> LocalModel:
        from transformers.utils import logging as hf_logging

        from .devices import to_generation_device
        from .modeling import load_checkpoint

        path = check_checkpoint(path)
        shown = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()   # no 'Loading weights' bar above the chat's first prompt
        try:
            model, tokenizer = load_checkpoint(path, dtype)
        finally:
            if shown:
                hf_logging.enable_progress_bar()
        model = to_generation_device(model, f"chat with {path}")
        return cls(path, model, tokenizer, response_format(path, params), default_settings(model.generation_config, params))

    @property
    def context_length(self) -> int | None:
        return getattr(self.model.config, "max_position_embeddings", None)

    def system_message(self, persona: str = "") -> dict:
        """The system turn of a conversation: the format's system prompt with ``persona`` in it."""
        return {"role": "system", "content": self.format.system_prompt(persona)}

    def prompt_tokens(self, messages: list[dict]) -> int:
        from .modeling import chat_ids

        return len(chat_ids(self.tokenizer, messages, add_generation_prompt=True))

    def fit(self, messages: list[dict], max_new_tokens: int) -> tuple[list[dict], int]:
        """``messages`` without the oldest exchanges (the system turn stays) so the prompt and the reply
        fit the model's context; returns them and how many turns were dropped."""
        limit = self.context_length
        if not limit:
            return messages, 0
        head = messages[:1] if messages and messages[0]["role"] == "system" else []
        body = messages[len(head):]
        dropped = 0
        while len(body) > 1 and self.prompt_tokens(head + body) + max_new_tokens > limit:
            cut = 2 if len(body) > 2 and body[1]["role"] == "assistant" else 1
            body, dropped = body[cut:], dropped + cut
        return head + body, dropped

    def reply(self, messages: list[dict], settings: Settings | None = None) -> tuple[str, str]:
        """(raw assistant turn with its span tokens, finish reason 'stop' or 'length') for ``messages``."""
        from .generation import generate_ids

        s = settings or self.settings
        max_new = s.max_new_tokens
        if self.context_length:   # past the position table a model writes noise or fails
            max_new = max(1, min(max_new, self.context_length - self.prompt_tokens(messages)))
        ids = generate_ids(self.model, self.tokenizer, [messages], batch_size=1, max_new_tokens=max_new,
                           do_sample=s.do_sample, seed=s.seed, temperature=s.temperature, top_p=s.top_p,
                           progress=False)[0]
        finish = "stop" if ids and ids[-1] == self.tokenizer.eos_token_id else "length"
        return self.tokenizer.decode(ids, skip_special_tokens=True), finish
