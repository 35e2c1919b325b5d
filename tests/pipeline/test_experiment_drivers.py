"""The experiment drivers on the real tools, in a fresh git repo with the tiny pipeline:
an Optuna sweep of named DVC experiments that is killed mid-trial and resumed, and an ablation table
run by two queue workers into one MLflow store."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.pipeline.conftest import PROJECT_FILES, TINY, copy_project, env_for, mlflow_runs, run, trial_states

pytestmark = pytest.mark.slow


@pytest.fixture
def repo(tmp_path, root):
    work = copy_project(root, tmp_path / "repo")
    if "experiments" not in PROJECT_FILES:  # the drivers are not part of the pipeline's own files
        shutil.copytree(root / "experiments", work / "experiments", ignore=shutil.ignore_patterns("__pycache__"))
    run(work, "git", "init", "-q")
    run(work, "git", "config", "user.email", "ci@kardia.test")
    run(work, "git", "config", "user.name", "kardia ci")
    run(work, sys.executable, "-m", "tools.compose_params", *TINY)
    run(work, "git", "add", "-A")
    run(work, "git", "commit", "-qm", "tiny pipeline")
    return work


def test_sweep_trials_are_named_dvc_experiments_and_a_killed_sweep_resumes(repo):
    sweep = repo / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({
        "study": "tiny", "seed": 3, "n_trials": 2, "n_startup_trials": 2,
        "objectives": [{"metric": "eval/grpo/persona", "direction": "maximize"}],
        "constraints": [{"metric": "eval/grpo/judge_coverage", "min": 0.98}],
        "space": {"reward.weights": {"type": "simplex"},
                  "grpo.trainer.learning_rate": {"type": "float", "low": 1e-5, "high": 1e-4, "log": True}},
        "overrides": TINY}))
    cmd = [sys.executable, "-m", "experiments.sweep", str(sweep)]

    # Kill the whole sweep (driver, dvc, stage) once trial 0's pipeline is under way.
    proc = subprocess.Popen(cmd, cwd=repo, env=env_for(repo), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = repo / "sweeps/tiny/trial-0.log"
    deadline = time.monotonic() + 300
    while not (log.exists() and "Running stage 'partition'" in log.read_text()):
        assert proc.poll() is None and time.monotonic() < deadline, "trial 0 never started its pipeline"
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert trial_states(repo / "optuna.db") == [(0, "RUNNING")]

    resumed = run(repo, *cmd)
    assert "trial(s) [0] were interrupted" in resumed.stdout
    assert trial_states(repo / "optuna.db") == [(0, "FAIL"), (1, "COMPLETE"), (2, "COMPLETE")]

    names = run(repo, "dvc", "exp", "list", "--name-only").stdout.split()
    assert {"tiny-1", "tiny-2"} <= set(names)
    best = json.loads((repo / "sweeps/tiny/best.json").read_text())
    assert best["n_finished"] == 2 and best["best"][0]["dvc_exp"] in ("tiny-1", "tiny-2")
    assert abs(sum(v for k, v in best["best"][0]["params"].items() if k.startswith("lambda/")) - 1) < 1e-3

    runs = mlflow_runs(repo / "mlflow.db")
    [parent] = [r for r in runs if r.get("kind") == "sweep"]
    children = {r["dvc_exp"]: r for r in runs if r.get("mlflow.parentRunId") == parent["run_id"]}
    assert {"tiny-1", "tiny-2"} <= set(children) and children["tiny-0"]["status"] == "KILLED"
    killed_stages = [r for r in runs if r.get("mlflow.parentRunId") == children["tiny-0"]["run_id"]]
    assert killed_stages and all(r["status"] in ("FINISHED", "KILLED") for r in killed_stages)
    for name in ("tiny-1", "tiny-2"):
        assert children[name]["status"] == "FINISHED"
        stages = {r["stage"] for r in runs if r.get("mlflow.parentRunId") == children[name]["run_id"]}
        assert {"grpo", "evaluate"} <= stages, "the trial's stage runs nest under its child run"


def test_ablation_table_runs_on_two_queue_workers_into_one_mlflow_store(repo):
    tables = repo / "tables.yaml"
    tables.write_text(yaml.safe_dump({"tables": {"tiny": {
        "experiments": ["paper_recipe", "no_rubric"], "seeds": [42], "jobs": 2, "overrides": TINY,
        "metrics": ["eval/grpo/format_compliance", "eval/grpo/persona"]}}}))
    run(repo, "git", "add", "tables.yaml")
    run(repo, "git", "commit", "-qm", "table")
    dry = run(repo, sys.executable, "-m", "experiments.ablations", "tiny", "--tables", str(tables), "--dry-run").stdout
    assert "dvc exp run --queue -n tiny-no_rubric-s42 -S 'experiment=no_rubric' -S 'seed=42'" in dry

    out = run(repo, sys.executable, "-m", "experiments.ablations", "tiny", "--tables", str(tables),
              "--poll", "3", "--timeout", "1500").stdout
    rows = [line for line in out.splitlines() if line.startswith(("| paper_recipe |", "| no_rubric |"))]
    assert len(rows) == 2 and all(row.split("|")[2].strip() == "1" for row in rows), out

    runs = mlflow_runs(repo / "mlflow.db")
    by_exp = {}
    for r in runs:
        by_exp.setdefault(r.get("dvc_exp"), set()).add(r.get("stage"))
    for name in ("tiny-paper_recipe-s42", "tiny-no_rubric-s42"):
        assert {"prepare", "partition", "sft", "grpo", "evaluate"} <= by_exp.get(name, set()), by_exp.keys()
    assert not list((repo / ".dvc/tmp").rglob("mlflow.db")), "a worker wrote to a store of its own"
    assert "| tiny-" not in run(repo, sys.executable, "-m", "experiments.ablations", "tiny", "--tables", str(tables),
                                "--render-only").stdout


def test_one_stage_ablations_run_end_to_end_with_the_dvc_graph_unchanged(repo):
    """The two ablations that disable a stage and leave one split empty, as real `dvc exp run`s."""
    tiny = [a for o in TINY for a in ("-S", o)]
    for name, skipped, trained in (("no_curriculum_all_sft", "grpo", "sft"), ("no_curriculum_all_grpo", "sft", "grpo")):
        run(repo, "dvc", "exp", "run", "-n", name, "-S", f"experiment={name}", *tiny)
        metrics = {s: json.loads((repo / f"metrics/{s}.json").read_text()) for s in ("partition", "sft", "grpo")}
        assert metrics[skipped]["train/enabled"] == 0 and metrics[trained]["train/enabled"] == 1
        assert metrics[trained]["train/steps"] > 0
        empty = "hard" if skipped == "grpo" else "easy"
        assert metrics["partition"][f"partition/{empty}_examples"] == 0
        src, dst = ("sft", "grpo") if skipped == "grpo" else ("base", "sft")
        assert (repo / f"models/{src}/model.safetensors").read_bytes() == (repo / f"models/{dst}/model.safetensors").read_bytes()
        evaluate = json.loads((repo / "metrics/evaluate.json").read_text())
        assert {"eval/base/format_compliance", "eval/sft/format_compliance", "eval/grpo/format_compliance"} <= set(evaluate)
    assert {"no_curriculum_all_sft", "no_curriculum_all_grpo"} <= set(run(repo, "dvc", "exp", "list", "--name-only").stdout.split())
