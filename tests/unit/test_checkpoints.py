"""Run directories of persistent checkpoints: same settings, same directory; other settings, a fresh one."""

import json

import pytest

from stages.core.checkpoints import latest, resume_point, run_dir
from stages.core.config import load_config


@pytest.fixture
def inputs(tmp_path):
    init = tmp_path / "base"
    init.mkdir()
    (init / "config.json").write_text("{}")
    data = tmp_path / "easy.jsonl"
    data.write_text('{"prompt": "p", "completion": "c"}\n')
    return init, data


def directory(root, tmp_path, inputs, *overrides, stage="sft"):
    cfg = load_config(root / "params.yaml", [f"paths.checkpoints={tmp_path / 'checkpoints'}", *overrides])
    return run_dir(cfg, stage, *inputs)


def test_same_settings_same_directory_other_settings_fresh(root, tmp_path, inputs):
    first = directory(root, tmp_path, inputs)
    assert first == directory(root, tmp_path, inputs) and first.name.startswith("sft-")
    assert json.loads((first / "run.json").read_text())["params"]["sft"]["trainer"]["learning_rate"] > 0
    for override in ("sft.trainer.learning_rate=0.001", "seed=7", "model.hidden_size=64", "sft.max_examples=5"):
        assert directory(root, tmp_path, inputs, override) != first, override
    assert directory(root, tmp_path, inputs, stage="grpo") != first
    # the settings that only say where checkpoints and logs go do not part a run from its checkpoints
    assert directory(root, tmp_path, inputs, "sft.trainer.save_steps=7", "sft.trainer.report_to=[]") == first


def test_other_inputs_start_fresh(root, tmp_path, inputs):
    first = directory(root, tmp_path, inputs)
    init, data = inputs
    data.write_text('{"prompt": "p", "completion": "other"}\n')
    second = directory(root, tmp_path, inputs)
    (init / "model.safetensors").write_bytes(b"weights")
    third = directory(root, tmp_path, inputs)
    assert len({first, second, third}) == 3


def test_resume_from_the_newest_complete_checkpoint(tmp_path, caplog):
    assert resume_point("sft", tmp_path) is None
    for step, state in ((10, {"global_step": 10, "max_steps": 50}), (20, {"global_step": 20, "max_steps": 50})):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}/trainer_state.json").write_text(json.dumps(state))
    (tmp_path / "checkpoint-30").mkdir()                  # killed before its trainer state was written
    (tmp_path / "checkpoint-40").mkdir()
    (tmp_path / "checkpoint-40/trainer_state.json").write_text('{"global_st')  # killed while writing it
    assert latest(tmp_path)[0].name == "checkpoint-20"
    with caplog.at_level("INFO", logger="kardia"):
        assert resume_point("sft", tmp_path) == str(tmp_path / "checkpoint-20")
    assert "resuming sft from checkpoint-20 (step 20 of 50)" in caplog.text
