"""An Optuna sweep killed mid-trial resumes (issue #16): the real sweep command, real `dvc exp run`,
a real Optuna sqlite storage and MLflow store, and a `kill -9` of the sweep's whole process group
while a trial's stage runs. A two-stage probe (tests/support/sweep_probe.py) stands in for the
pipeline, so each trial takes seconds."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.pipeline.conftest import copy_project, env_for, mlflow_runs, run, trial_states

pytestmark = pytest.mark.slow

PIPELINE = {"stages": {
    "first": {"cmd": "python sweep_probe.py first", "deps": ["sweep_probe.py"], "params": ["reward.weights"],
              "outs": ["out/first.txt"]},
    "evaluate": {"cmd": "python sweep_probe.py evaluate", "deps": ["sweep_probe.py", "out/first.txt"],
                 "params": ["reward.weights"], "outs": ["out/evaluate.txt"],
                 "metrics": [{"metrics/evaluate.json": {"cache": False}}]}}}


@pytest.fixture
def repo(tmp_path, root, monkeypatch):
    """A committed repository whose workspace holds a finished run (dvc.lock, metrics), like the
    project's own."""
    monkeypatch.setenv("PROBE_SIGNALS", str(tmp_path))  # env_for passes it on to DVC and the probe
    work = copy_project(root, tmp_path / "repo")
    shutil.copy2(root / "tests/support/sweep_probe.py", work / "sweep_probe.py")
    (work / "dvc.yaml").write_text(yaml.safe_dump(PIPELINE, sort_keys=False))
    run(work, sys.executable, "-m", "tools.compose_params")
    run(work, "git", "init", "-q")
    run(work, "dvc", "repro")
    run(work, "git", "add", "-A")
    run(work, "git", "-c", "user.email=ci@kardia.test", "-c", "user.name=kardia ci", "commit", "-qm", "probe pipeline")
    return work


def trial_params(db: Path, number: int) -> dict[str, float]:
    con = sqlite3.connect(db)
    return dict(con.execute("select p.param_name, p.param_value from trial_params p join trials t "
                            "using (trial_id) where t.number = ?", (number,)))


def group_gone(pgid: int, timeout_s: float = 60) -> None:
    """Wait until every process of the killed group is reaped: the sweep's `dvc exp run` child is
    reparented to init, and until init reaps it DVC's lock check takes its PID for a live holder."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"process group {pgid} still has processes {timeout_s:.0f} s after SIGKILL")


@pytest.mark.reliability(probe="Optuna sweep killed mid-trial (kill -9 of its process group)", kind="fault",
                         outcome="survived", lost="the trial in flight: its partial DVC experiment discarded, "
                                              "re-run with the same parameters")
def test_a_sweep_killed_mid_trial_discards_the_partial_experiment_and_resumes(repo, tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({
        "study": "probe", "seed": 0, "n_trials": 2, "n_startup_trials": 2,
        "objectives": [{"metric": "eval/grpo/persona", "direction": "maximize"}],
        "space": {"reward.weights": {"type": "simplex"}}}))
    cmd = [sys.executable, "-m", "experiments.sweep", str(sweep)]

    (tmp_path / "hold").touch()  # trial 0's evaluate stage waits to be killed
    proc = subprocess.Popen(cmd, cwd=repo, env=env_for(repo), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while not (tmp_path / "started").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "trial 0 never reached its evaluate stage"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    group_gone(proc.pid)
    (tmp_path / "hold").unlink()
    assert trial_states(repo / "optuna.db") == [(0, "RUNNING")]
    half_run = run(repo, "git", "status", "--porcelain").stdout
    assert "params.yaml" in half_run and "dvc.lock" in half_run, "the kill left trial 0 half-way in the workspace"

    # A kill a moment later, after DVC recorded the experiment but before Optuna was told, would
    # also leave an experiment no trial accounts for: make it so.
    run(repo, "dvc", "exp", "run", "-n", "probe-0")

    # Reclaim without running a trial: the experiment is gone, the workspace is the committed one
    # again, trial 0 is queued again.
    reclaimed = run(repo, *cmd, "--report-only", check=False).stdout  # exit 1: no trial finished yet
    assert "trial 0: removed DVC experiment probe-0" in reclaimed and "trial 0: workspace restored to HEAD" in reclaimed
    assert "trial(s) [0] were interrupted" in reclaimed
    assert run(repo, "git", "status", "--porcelain").stdout == ""
    assert "up to date" in run(repo, "dvc", "status").stdout
    assert trial_states(repo / "optuna.db") == [(0, "FAIL"), (1, "WAITING")]

    run(repo, *cmd)  # the sweep goes on to n_trials
    assert trial_states(repo / "optuna.db") == [(0, "FAIL"), (1, "COMPLETE"), (2, "COMPLETE")]
    assert trial_params(repo / "optuna.db", 1) == trial_params(repo / "optuna.db", 0), "re-run with the same λ"
    assert set(run(repo, "dvc", "exp", "list", "--name-only").stdout.split()) == {"probe-1", "probe-2"}
    trials = {r["dvc_exp"]: r["status"] for r in mlflow_runs(repo / "mlflow.db") if r.get("kind") == "sweep-trial"}
    assert trials == {"probe-0": "KILLED", "probe-1": "FINISHED", "probe-2": "FINISHED"}
