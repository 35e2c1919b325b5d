"""`python -m stages.chat`: a checkpoint answers in the terminal, spans dimmed only on a terminal, the
persona in the system prompt, generation settings from the checkpoint, readable errors. A tiny
checkpoint trained here to answer in four spans (tests/support/chat_checkpoint.py), no pipeline run."""

import json
import subprocess
import sys

import pytest
from transformers import GenerationConfig

from stages import chat
from stages.core.local_model import (
    CheckpointMissing,
    LocalModel,
    Settings,
    check_checkpoint,
    default_settings,
    read_persona,
    segments,
)
from tests.support.chat_checkpoint import ANSWER, FMT, MAX_NEW_TOKENS, SPANS, shared_chat_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return shared_chat_checkpoint(tmp_path_factory)


@pytest.fixture(scope="module")
def model(checkpoint):
    return LocalModel.load(checkpoint)


def run_chat(root, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "stages.chat", *args], cwd=root, input=stdin, check=False,
                          capture_output=True, text=True, timeout=120)


def test_one_shot_answers_in_four_parseable_spans(root, checkpoint):
    """The command as a user runs it, in its own process: --raw prints the turn as generated."""
    proc = run_chat(root, "--checkpoint", str(checkpoint), "--message", "I failed my driving test.", "--raw")
    assert proc.returncode == 0, proc.stderr
    parsed = FMT.parse(proc.stdout.strip())
    assert parsed.ok, (parsed.error, proc.stdout)
    assert parsed.spans == SPANS
    assert "Traceback" not in proc.stderr


def test_one_shot_prints_the_response_plainly_and_the_other_spans_labelled(checkpoint, capsys):
    """stdout is not a terminal here: no ANSI codes, the labelled spans first, the response last."""
    assert chat.main(["--checkpoint", str(checkpoint), "-m", "My exam went badly."]) == 0
    out = capsys.readouterr().out
    assert "\033[" not in out
    assert out.splitlines() == [f"[understanding] {SPANS['understanding']}", f"[reasoning] {SPANS['reasoning']}",
                                f"[emotion] {SPANS['emotion']}", SPANS["response"]]


def test_spans_are_dimmed_on_a_terminal_and_the_response_is_not(model):
    shown = chat.show(model, ANSWER, color=True)
    lines = shown.splitlines()
    assert all(line.startswith(chat.DIM) and line.endswith(chat.RESET) for line in lines[:3])
    assert lines[3] == SPANS["response"]
    assert chat.show(model, ANSWER, color=False).splitlines()[0] == f"[understanding] {SPANS['understanding']}"


def test_interactive_keeps_the_history_as_responses(monkeypatch, capsys, model):
    seen = []

    def reply(messages, settings=None):
        seen.append([dict(m) for m in messages])
        return ANSWER, "stop"

    monkeypatch.setattr(model, "reply", reply)
    lines = iter(["Hello.", "", "And again.", "/reset", "Fresh start.", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    system = model.system_message("MBTI: INFJ")
    chat.interactive(model, system, model.settings, color=False, raw=False)
    assert [len(m) for m in seen] == [2, 4, 2]
    assert seen[1][0] == system and seen[1][0]["content"] == "Support this user in four spans.\nMBTI: INFJ"
    assert seen[1][2] == {"role": "assistant", "content": SPANS["response"]}
    assert seen[2][1] == {"role": "user", "content": "Fresh start."}
    assert capsys.readouterr().out.count(SPANS["response"]) == 3


def test_interactive_answers_each_line_with_the_history_until_end_of_input(monkeypatch, capsys, checkpoint):
    """The real model, two turns (the second with the first in its prompt), then end of input."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("I feel sad today.\nMy exam went badly.\n"))
    assert chat.main(["--checkpoint", str(checkpoint), "--color", "never"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count(SPANS["response"]) == 2, captured
    assert "not a well-formed" not in captured.err


def test_persona_text_or_file_goes_into_the_system_prompt(tmp_path, model):
    persona = tmp_path / "persona.txt"
    persona.write_text("MBTI: ENFP\nAbout: a chef\n")
    assert read_persona(str(persona)) == "MBTI: ENFP\nAbout: a chef"
    assert read_persona("MBTI: INTJ") == "MBTI: INTJ" and read_persona(None) == ""
    assert model.system_message(read_persona(str(persona))) == {
        "role": "system", "content": "Support this user in four spans.\nMBTI: ENFP\nAbout: a chef"}


def test_settings_come_from_the_checkpoint_then_evaluate(tmp_path, model, root):
    assert model.settings == Settings(max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
    # a checkpoint saved before the stages wrote max_new_tokens: evaluate's, not transformers' 20
    params = tmp_path / "params.yaml"
    params.write_text("evaluate:\n  max_new_tokens: 77\n")
    assert default_settings(GenerationConfig(eos_token_id=2), params).max_new_tokens == 77
    assert default_settings(GenerationConfig(), tmp_path / "none.yaml").max_new_tokens == 160  # conf/evaluate
    sampled = default_settings(GenerationConfig(max_new_tokens=9, do_sample=True, temperature=0.7, top_p=0.9))
    assert sampled == Settings(max_new_tokens=9, do_sample=True, temperature=0.7, top_p=0.9)
    assert model.settings.but(max_new_tokens=5, top_p=None).max_new_tokens == 5


def test_flags_override_the_generation_settings(monkeypatch, checkpoint, capsys):
    used = []
    monkeypatch.setattr(LocalModel, "reply", lambda self, messages, settings=None: used.append(settings) or (ANSWER, "stop"))
    assert chat.main(["--checkpoint", str(checkpoint), "-m", "Hi.", "--max-new-tokens", "12", "--temperature", "0.5",
                      "--seed", "3"]) == 0
    assert used == [Settings(max_new_tokens=12, do_sample=True, temperature=0.5, top_p=None, seed=3)]


def test_a_truncated_answer_still_shows_its_spans_and_says_why(model):
    cut = ANSWER[:ANSWER.index("<|emotion_end|>")]
    assert segments(model.format, cut) == [("understanding", SPANS["understanding"]),
                                           ("reasoning", SPANS["reasoning"]), ("emotion", "sad")]
    assert segments(model.format, "no spans at all") == [(None, "no spans at all")]
    # seen from models/grpo with a persona: the opening token of the first span left out
    forgot = ANSWER.removeprefix("<|understanding_begin|>")
    assert segments(model.format, forgot)[:2] == [("understanding", SPANS["understanding"]),
                                                  ("reasoning", SPANS["reasoning"])]


def test_missing_checkpoint_names_the_path_and_the_command(tmp_path, capsys):
    with pytest.raises(CheckpointMissing, match="make pipeline"):
        check_checkpoint(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    for name in ("absent", "empty"):
        assert chat.main(["--checkpoint", str(tmp_path / name), "-m", "Hi."]) == 2
        err = capsys.readouterr().err
        assert str(tmp_path / name) in err and "make pipeline" in err


def test_help_explains_the_modes(capsys):
    with pytest.raises(SystemExit) as exit_:
        chat.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--checkpoint", "--message", "--persona", "--max-new-tokens", "--temperature", "make chat"):
        assert flag in out


def test_the_checkpoint_format_follows_its_model_card(tmp_path, checkpoint):
    """A response_only checkpoint (its card says so) is parsed as one span, whatever params.yaml says."""
    import shutil

    from stages.core.local_model import response_format

    other = tmp_path / "ro"
    shutil.copytree(checkpoint, other)
    (other / "README.md").write_text("---\n" + json.dumps({"kardia": {"format": "response_only"}}) + "\n---\nbody\n")
    assert response_format(other).style == "response_only"
    assert response_format(checkpoint).style == "four_span"


def test_auto_color_dims_only_on_a_terminal(monkeypatch, capsys, checkpoint):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert chat.main(["--checkpoint", str(checkpoint), "-m", "I feel sad today."]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{chat.DIM}[understanding] {SPANS['understanding']}{chat.RESET}"
    assert lines[-1] == SPANS["response"]


def test_a_long_history_drops_its_oldest_turns_to_fit_the_context(model):
    system = model.system_message("")
    history = [{"role": r, "content": "word " * 40} for _ in range(6) for r in ("user", "assistant")]
    history.append({"role": "user", "content": "Last."})
    fitted, dropped = model.fit([system, *history], max_new_tokens=MAX_NEW_TOKENS)
    assert dropped > 0 and dropped % 2 == 0
    assert fitted[0] == system and fitted[-1]["content"] == "Last." and fitted[1]["role"] == "user"
    assert model.prompt_tokens(fitted) + MAX_NEW_TOKENS <= model.context_length


def test_an_earlier_answer_goes_back_as_its_response(model):
    assert chat.earlier_turn(model, ANSWER) == SPANS["response"]
    no_end = ANSWER.removesuffix("<|response_end|>")
    assert chat.earlier_turn(model, no_end) == SPANS["response"]
    assert chat.earlier_turn(model, "<|emotion_begin|>sad<|emotion_end|> stray") == "sad  stray"
