"""The real DVC workflow in a fresh git repo: `dvc exp run` composes conf/, runs all five stages,
caches them, and a reward-weight change re-runs only grpo and evaluate."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.conftest import TINY, copy_project, load_yaml

pytestmark = pytest.mark.slow


def sh(cwd: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}"}
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def ran(output: str) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", output)


@pytest.fixture(scope="module")
def repo(tmp_path_factory, root):
    work = copy_project(root, tmp_path_factory.mktemp("repo"))
    sh(work, "git", "init", "-q")
    sh(work, "git", "config", "user.email", "ci@kardia.test")
    sh(work, "git", "config", "user.name", "kardia ci")
    sh(work, "python", "-m", "tools.compose_params", *TINY)
    sh(work, "git", "add", "-A")
    sh(work, "git", "commit", "-qm", "tiny pipeline")
    return work


def test_exp_run_runs_everything_then_repro_is_up_to_date_and_weights_skip_sft(repo):
    overrides = [a for o in TINY for a in ("-S", o)]
    first = sh(repo, "dvc", "exp", "run", *overrides)
    assert ran(first) == ["prepare", "partition", "sft", "grpo", "evaluate"]
    metrics = json.loads((repo / "metrics/evaluate.json").read_text())
    assert 0 <= metrics["eval/sft/format_compliance"] <= 1
    assert 0 <= metrics["eval/grpo/emotion_macro_f1"] <= 1 and metrics["eval/grpo/bleu_low"] <= metrics["eval/grpo/bleu"]
    assert (repo / "reports/predictions.jsonl").stat().st_size > 0
    assert json.loads((repo / "plots/evaluate/confusion_grpo.json").read_text())[0].keys() == {"actual", "predicted"}
    html = repo / "plots.html"
    sh(repo, "dvc", "plots", "show", "-o", str(html.with_suffix("")))
    page = (html.with_suffix("") / "index.html").read_text()
    assert "radar.png" in page and "reward/emotion" in page and "emotion_confusion_grpo" in page

    assert "up to date" in sh(repo, "dvc", "repro")
    assert ran(sh(repo, "dvc", "repro")) == []

    second = sh(repo, "dvc", "exp", "run", *overrides, "-S", "reward.weights=[0.2,0.3,0.5]")
    # partition reads reward (method=rollouts scores with it): it re-runs, writes the same split, and
    # DVC then skips sft because its inputs are unchanged
    assert ran(second) == ["partition", "grpo", "evaluate"]
    assert load_yaml(repo / "params.yaml")["reward"]["weights"] == [0.2, 0.3, 0.5]

    shown = json.loads(sh(repo, "dvc", "exp", "show", "--json"))
    assert shown, "dvc exp show lists the experiments"
    assert "eval/grpo/emotion_acc" in sh(repo, "dvc", "metrics", "show")
