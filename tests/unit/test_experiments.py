"""Every conf/experiment file composes into a valid config: each ablation is one `dvc exp run`."""

from pathlib import Path

import pytest
import yaml

from stages.core.config import load_config
from tests.unit.test_config import compose

EXPERIMENTS = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "conf/experiment").glob("*.yaml"))


def test_there_are_experiments():
    assert {"paper_recipe", "no_format", "no_emotion", "no_rubric", "rubric_only", "response_only"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_validates_and_says_what_it_ablates(root, tmp_path, name):
    text = (root / "conf/experiment" / f"{name}.yaml").read_text()
    lines = text.splitlines()
    assert lines[0] == "# @package _global_" and lines[1].startswith("# "), "first lines: package, then what it ablates"
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, [f"experiment={name}"])))
    cfg = load_config(params)
    assert len(cfg.reward.weights) == len(cfg.reward.names)


def test_experiments_change_what_they_say(root):
    base = compose(root)
    assert compose(root, ["experiment=paper_recipe"]) == base
    assert compose(root, ["experiment=no_rubric"])["reward"]["names"] == ["format", "emotion"]
    plain = compose(root, ["experiment=response_only"])
    assert plain["format"]["style"] == "response_only" and "emotion" not in plain["reward"]["names"]
    qwen = compose(root, ["experiment=paper_qwen2.5-3b"])
    assert qwen["model"]["name_or_path"] == "Qwen/Qwen2.5-3B-Instruct" and qwen["grpo"]["trainer"]["learning_rate"] == 1e-6
    strict, lenient = (compose(root, [f"experiment=threshold_{k}"])["partition"] for k in ("strict", "lenient"))
    assert strict["max_fail_rate"] < base["partition"]["max_fail_rate"] < lenient["max_fail_rate"]
