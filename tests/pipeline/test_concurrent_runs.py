"""Two workspace `dvc exp run` at once (issue #16, concurrency). DVC releases its lock while a
stage runs, so the second run composes conf/ into params.yaml under the first one's running stage.
Whatever DVC then does, each run that DVC records must record the parameters it was started with;
a run that cannot must fail, saying why. Two fast probe stages stand in for the pipeline
(tests/support/params_probe.py) through the real stage entry point."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.pipeline.conftest import copy_project

pytestmark = pytest.mark.slow

PIPELINE = {"stages": {
    name: {"cmd": f"python params_probe.py {name}",
           "deps": ["params_probe.py", *(["out/first.json"] if name == "second" else [])],
           "params": ["sft.trainer.max_steps"],
           "outs": [f"out/{name}.json"],
           "metrics": [{f"metrics/{name}.json": {"cache": False}}]}
    for name in ("first", "second")}}


def env(signals: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k not in ("DVC_ROOT", "DVC_STAGE", "MLFLOW_TRACKING_URI")}
    return {**keep, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PROBE_SIGNALS": str(signals)}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, root):
    work = copy_project(root, tmp_path / "repo")
    shutil.copy2(root / "tests/support/params_probe.py", work / "params_probe.py")
    (work / "dvc.yaml").write_text(yaml.safe_dump(PIPELINE, sort_keys=False))
    subprocess.run([sys.executable, "-m", "tools.compose_params"], cwd=work, check=True, capture_output=True)
    git(work, "init", "-q")
    git(work, "-c", "user.email=ci@kardia.test", "-c", "user.name=kardia ci", "commit", "-qm", "probe",
        "--allow-empty")
    git(work, "add", "-A")
    git(work, "-c", "user.email=ci@kardia.test", "-c", "user.name=kardia ci", "commit", "-qm", "probe pipeline")
    return work


@pytest.mark.reliability(probe="two dvc exp run at once in one workspace", kind="fault", outcome="survived",
                         lost="a run that cannot record its own parameters fails, saying why")
def test_a_second_exp_run_cannot_change_the_parameters_of_a_running_one(repo, tmp_path):
    signals = tmp_path / "signals"
    signals.mkdir()
    started = {"one": 1, "two": 2}
    exp_run = ["dvc", "exp", "run", "-n"]
    one = subprocess.Popen([*exp_run, "one", "-S", "sft.trainer.max_steps=1"], cwd=repo, env=env(signals),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (signals / "first.started").exists():
            assert one.poll() is None, one.communicate()[0]
            assert time.monotonic() < deadline, "run one never reached its first stage"
            time.sleep(0.1)
        # run one's first stage is running: DVC's repository lock is free now
        two = subprocess.run([*exp_run, "two", "-S", "sft.trainer.max_steps=2"], cwd=repo, env=env(signals),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    finally:
        (signals / "first.release").touch()
        out_one = one.communicate(timeout=120)[0]
    outputs = {"one": (one.returncode, out_one), "two": (two.returncode, two.stdout)}

    # what DVC recorded in the workspace: each stage in dvc.lock ran for one experiment, with its values
    lock = yaml.safe_load((repo / "dvc.lock").read_text()) if (repo / "dvc.lock").exists() else {}
    for stage, entry in (lock.get("stages") or {}).items():
        out = json.loads((repo / f"out/{stage}.json").read_text())
        locked = entry["params"]["params.yaml"]["sft.trainer.max_steps"]
        assert locked == out["max_steps"] == started[out["exp"]], (stage, entry, out, outputs)
    # and the experiments DVC keeps
    for name, (params, metrics) in experiments(repo, signals).items():
        assert params == started[name] and metrics == {"first": params, "second": params}, outputs
    for name, (code, output) in outputs.items():
        assert code == 0 or "ERROR" in output, output
    # Today DVC lets two rewrite params.yaml, then fails on a stage lock ("is busy"); one's stage notices
    # and refuses. Before the pin, one ran its second stage with two's max_steps and recorded it.
    assert one.returncode == 0 or "error: stage first: params.yaml changed while this stage ran: this " \
        "pipeline run pinned" in out_one, out_one

    # alone, a run's second stage finds the first one's pin, and both record its value
    alone = subprocess.run([*exp_run, "three", "-S", "sft.trainer.max_steps=3"], cwd=repo, env=env(signals),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    assert alone.returncode == 0, alone.stdout
    assert experiments(repo, signals)["three"] == (3, {"first": 3, "second": 3})


def experiments(repo: Path, signals: Path) -> dict[str, tuple[int, dict[str, int]]]:
    """name -> (sft.trainer.max_steps in its params.yaml, {stage: probe/max_steps}) of every experiment."""
    shown = json.loads(subprocess.run(["dvc", "exp", "show", "--json"], cwd=repo, env=env(signals),
                                      capture_output=True, text=True, check=True).stdout)
    found = {}
    for baseline in shown:
        for group in baseline.get("experiments") or []:
            for rev in group["revs"]:
                data = rev["data"]
                metrics = {Path(path).stem: values["data"]["probe/max_steps"]
                           for path, values in data["metrics"].items()}
                found[rev.get("name") or data.get("name")] = (data["params"]["params.yaml"]["data"]["sft"]["trainer"]["max_steps"], metrics)
    return found
