"""The MLflow UI as a user opens it: `make ui` on a store holding one pipeline run (a parent run and
its five nested stage runs, written by the real stage wrapper), read by headless Chromium. The parent
is listed with its stage runs folded under it, and expanding it shows all five."""

import asyncio
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from mlflow.tracking import MlflowClient

from stages.core import tracking
from stages.core.stage import stage_main
from tests.pipeline.conftest import compose_params
from tools.ui_snapshot import find_chromium, snapshot

pytestmark = [
    pytest.mark.slow,  # a UI server and a browser (~20-40 s)
    # decided before the store is built: without a browser nothing else is worth running
    pytest.mark.skipif(find_chromium() is None, reason=(
        "no chromium binary on PATH (apt-get install chromium, or set CHROMIUM): nothing can render the MLflow "
        "UI; `make test` installs it where apt-get can")),
]

STAGES = ("prepare", "partition", "sft", "grpo", "evaluate")
EXPERIMENT = "ui-probe"  # the DVC experiment name: the parent run's name, and part of each stage run's


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"make ui exited with {proc.returncode}: {proc.stdout.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the MLflow UI did not answer {url} within {timeout_s:g} s")


@pytest.fixture
def pipeline_store(root, tmp_path, monkeypatch):
    """One pipeline run in a fresh sqlite store: each stage through stage_main (params, tags, metrics)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("DVC_EXP_NAME", EXPERIMENT)
    monkeypatch.delenv(tracking.PARENT_RUN_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    params = compose_params(root, tmp_path / "params.yaml", [])
    for i, name in enumerate(STAGES):
        assert stage_main(name, lambda cfg, i=i, name=name: {f"{name}/done": float(i)}, name)(["--params", str(params)]) == 0
    return uri


def test_make_ui_lists_the_pipeline_run_with_its_five_stage_runs_nested(root, pipeline_store):
    client = MlflowClient(pipeline_store)
    experiment = client.get_experiment_by_name("kardia").experiment_id
    runs = client.search_runs([experiment])
    [parent] = [r for r in runs if r.data.tags.get(tracking.PIPELINE_TAG) == "true"]
    children = [f"{stage}-{EXPERIMENT}" for stage in STAGES]
    assert sorted(r.info.run_name for r in runs if r is not parent) == sorted(children)

    port = free_port()
    proc = subprocess.Popen(["make", "--no-print-directory", "ui", f"UI_PORT={port}"], cwd=root,
                            env={**os.environ, "MLFLOW_TRACKING_URI": pipeline_store}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", proc, timeout_s=90)
        folded, expanded = asyncio.run(snapshot(f"http://127.0.0.1:{port}/#/experiments/{experiment}/runs",
                                                [parent.info.run_name], expand=children, timeout_s=90))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # make, mlflow and its uvicorn worker: the group this test started
        proc.wait(30)
    assert parent.info.run_name == EXPERIMENT
    assert not any(child in folded for child in children)  # nested: hidden until the parent is expanded
    rows = [line.strip() for line in expanded.splitlines()]
    positions = [rows.index(name) for name in (EXPERIMENT, *children) if name in rows]
    assert len(positions) == 6, rows  # each run its own row in the table
    assert positions[0] < min(positions[1:])  # the children follow their parent
