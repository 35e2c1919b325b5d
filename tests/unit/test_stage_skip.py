"""A disabled sft/grpo stage (SFT-only / GRPO-only ablations) passes its input checkpoint through
unchanged, so the DVC graph stays fixed and evaluate still has three models to compare."""

import pytest
from omegaconf import OmegaConf

import stages.grpo
import stages.sft


def _checkpoint(path):
    path.mkdir(parents=True)
    (path / "config.json").write_text('{"model_type": "qwen2"}')
    (path / "model.safetensors").write_bytes(bytes(range(256)) * 4)
    return path


def _cfg(tmp_path, stage):
    paths = {k: str(tmp_path / k) for k in ("base_model", "sft_model", "grpo_model", "plots", "partitioned")}
    return OmegaConf.create({"paths": paths, "sft": {"enabled": stage != "sft"}, "grpo": {"enabled": stage != "grpo"},
                             "reward": {"names": ["format", "rubric"]}})


@pytest.mark.parametrize("stage, module, src, dst, series", [
    ("sft", stages.sft, "base_model", "sft_model", "sft_loss.csv"),
    ("grpo", stages.grpo, "sft_model", "grpo_model", "grpo_rewards.csv"),
])
def test_disabled_stage_copies_its_input_checkpoint(tmp_path, stage, module, src, dst, series):
    cfg = _cfg(tmp_path, stage)
    _checkpoint(tmp_path / src)
    (tmp_path / dst).mkdir()
    (tmp_path / dst / "stale.bin").write_text("from an earlier run")  # replaced, not merged into
    metrics = module.run(cfg)
    assert metrics == {"train/enabled": 0.0, "train/steps": 0, "train/weight_change": 0.0}
    assert sorted(p.name for p in (tmp_path / dst).iterdir()) == ["config.json", "model.safetensors"]
    for name in ("config.json", "model.safetensors"):
        assert (tmp_path / dst / name).read_bytes() == (tmp_path / src / name).read_bytes()
    header = (tmp_path / "plots" / series).read_text().splitlines()
    assert len(header) == 1 and header[0].startswith("step,")
