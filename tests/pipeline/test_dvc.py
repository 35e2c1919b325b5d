"""The real DVC workflow in a fresh git repo: `dvc exp run` composes conf/, runs all five stages,
caches them, a reward-weight change re-runs only grpo and evaluate, and changing it back restores grpo
from DVC's run-cache."""

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
    # images only, each once: the page needs no script (DVC's Vega plots load from a CDN)
    shown = re.findall(r'<img src="([^"]+)"', page)
    assert "<script" not in page and len(shown) == len(set(shown)) == 7
    assert all(any(name in src for src in shown) for name in ("radar.png", "grpo_rewards.png", "confusion_grpo.png"))
    headline = json.loads((repo / "metrics/headline.json").read_text())
    assert 0 < len(headline) <= 24 and headline["eval/grpo/emotion_acc"] == metrics["eval/grpo/emotion_acc"]

    assert "up to date" in sh(repo, "dvc", "repro")
    assert ran(sh(repo, "dvc", "repro")) == []

    second = sh(repo, "dvc", "exp", "run", *overrides, "-S", "reward.weights=[0.2,0.3,0.5]")
    # only grpo reads reward (the rollout partition has its own mix, partition.rollouts.reward): partition
    # and sft are skipped, grpo and evaluate re-run
    assert ran(second) == ["grpo", "evaluate"]
    assert load_yaml(repo / "params.yaml")["reward"]["weights"] == [0.2, 0.3, 0.5]
    grpo_second = (repo / "metrics/grpo.json").read_text()

    # back to the first run's weights: grpo comes from DVC's run-cache, the first run's own outputs
    third = sh(repo, "dvc", "exp", "run", *overrides)
    assert ran(third) == ["evaluate"] and "Stage 'grpo' is cached - skipping run" in third
    assert (repo / "metrics/grpo.json").read_text() != grpo_second
    assert json.loads((repo / "metrics/evaluate.json").read_text()) == metrics

    listed = json.loads(sh(repo, "dvc", "exp", "show", "--json"))
    assert listed, "dvc exp show lists the experiments"
    assert "eval/grpo/emotion_acc" in sh(repo, "dvc", "metrics", "show")
    # the default view: the headline and the small stage files, not evaluate's; the drivers get every file
    files = {path for baseline in listed for group in baseline.get("experiments") or []
             for rev in group.get("revs") or [] for path in ((rev.get("data") or {}).get("metrics") or {})}
    assert files == {"metrics/headline.json"} | {f"metrics/{s}.json" for s in ("prepare", "partition", "sft", "grpo")}
    from experiments.dvcexp import exp_show
    exps = exp_show(repo, all_commits=False)
    assert exps and all("eval/grpo/bleu" in e.metrics and "grpo:train/steps" in e.metrics for e in exps)
