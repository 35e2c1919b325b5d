"""Issue #13 part 6, with the real `dvc queue`: two workers started by experiments.gpu_workers with
one (fake) GPU each; every experiment's stage sees its own worker's CUDA_VISIBLE_DEVICES, and the
two experiments that ran at once saw different ones. No GPU is needed: the ids are only handed out."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from experiments import gpu_workers
from experiments.dvcexp import exp_show
from tests.pipeline.conftest import copy_project

pytestmark = pytest.mark.slow

# A stage that records the GPUs it was given. It first waits at a barrier until two experiments have
# started: worker 1 holds its first one there, so the second can only run on worker 2 (on this loaded
# machine worker 2 may come up a minute after worker 1; a fixed sleep was not enough).
PROBE = """import json, os, pathlib, time
barrier = pathlib.Path(os.environ["PROBE_BARRIER"])
(barrier / os.environ["CUDA_VISIBLE_DEVICES"]).touch()
deadline = time.monotonic() + 300
while len(list(barrier.iterdir())) < 2:
    assert time.monotonic() < deadline, "the second experiment never started: both on one worker?"
    time.sleep(0.5)
os.makedirs("out", exist_ok=True)
json.dump({"gpu": int(os.environ["CUDA_VISIBLE_DEVICES"])}, open("out/gpus.json", "w"))
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=ci@kardia.test", "-c", "user.name=kardia ci", *args], cwd=repo,
                   check=True, capture_output=True)


def test_each_queue_worker_runs_its_experiments_on_its_own_gpus(tmp_path, root):
    repo = copy_project(root, tmp_path / "repo")
    (repo / "gpu_probe.py").write_text(PROBE)
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"probe": {
        "cmd": "python gpu_probe.py ${sleep_s}", "deps": ["gpu_probe.py"], "params": ["sleep_s"],
        "metrics": [{"out/gpus.json": {"cache": False}}]}}}))
    (repo / "params.yaml").write_text("sleep_s: 0\n")
    (repo / ".dvc/config").write_text((root / ".dvc/config").read_text().replace("enabled = true", "enabled = false"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "probe")
    env = {**{k: v for k, v in os.environ.items() if k not in ("DVC_ROOT", "DVC_STAGE")},
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "PROBE_BARRIER": str(tmp_path / "barrier")}
    (tmp_path / "barrier").mkdir()

    def dvc(args, cwd, env=env, **_):
        proc = subprocess.run(["dvc", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"dvc {' '.join(args)}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
        return proc

    for n in (1, 2):
        dvc(["exp", "run", "--queue", "-n", f"e{n}", "-S", f"sleep_s={n}"], repo)
    try:
        gpu_workers.start(repo, 2, 1, env=env, visible=["6", "7"])
        deadline = time.monotonic() + 420
        while True:
            status = dvc(["queue", "status"], repo).stdout
            if status.count("Success") + status.count("Failed") == 2:
                break
            assert time.monotonic() < deadline, status
            time.sleep(2)
        assert status.count("Success") == 2, status
        seen = {e.name: e.metrics.get("gpu") for e in exp_show(repo)}
        assert sorted(seen.values()) == [6, 7], seen
    finally:
        subprocess.run(["dvc", "queue", "stop", "--kill"], cwd=repo, env=env, capture_output=True, check=False)
