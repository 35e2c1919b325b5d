"""A killed stage leaves no RUNNING MLflow run behind: SIGTERM unwinds like Ctrl-C and the run ends
KILLED (exit 130); a run whose process died without unwinding (SIGKILL) is marked KILLED by the next
stage that starts on the same machine. A stage whose input file is missing says which, in one line."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

PROBE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from stages.core.stage import stage_main

    def run(cfg):
        Path("started").write_text("1")
        time.sleep(120)
        return {}

    sys.exit(stage_main("probe", run, "a stage that waits to be killed")(["--params", sys.argv[1]]))
""")


def stage_runs(db):
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    return client.search_runs([client.get_experiment_by_name("kardia").experiment_id])


@pytest.mark.reliability(probe="SIGTERM of a stage", kind="fault", outcome="survived",
                         lost="the stage's work; its MLflow run ends KILLED, DVC records nothing")
def test_sigterm_ends_the_stage_run_killed(root, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    env["PYTHONPATH"] = str(root)
    proc = subprocess.Popen([sys.executable, "-c", PROBE, str(root / "params.yaml")], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "started").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the probe stage never started"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "error: stage probe: interrupted (SIGTERM)" in err and "Traceback" not in err
    found = stage_runs(tmp_path / "mlflow.db")
    # the stage's run and its pipeline's parent run (stages/core/tracking.py): both KILLED, not FAILED
    assert sorted((r.data.tags.get("stage", "parent"), r.info.status) for r in found) == [
        ("parent", "KILLED"), ("probe", "KILLED")]


@pytest.mark.reliability(probe="stale RUNNING MLflow runs of a dead process", kind="fault", outcome="survived",
                         lost="nothing: marked KILLED by the next stage on the machine")
def test_a_dead_processs_running_run_is_marked_killed(tmp_path):
    import mlflow
    from mlflow.tracking import MlflowClient

    from stages.core.tracking import close_stale_runs

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")

    client = MlflowClient()
    exp_id = client.create_experiment("kardia", artifact_location=(tmp_path / "art").as_uri())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    host = socket.gethostname()
    gone = client.create_run(exp_id, tags={"stage": "sft", "host": host, "pid": dead.stdout.strip()})
    alive = client.create_run(exp_id, tags={"stage": "grpo", "host": host, "pid": str(os.getpid())})
    elsewhere = client.create_run(exp_id, tags={"stage": "sft", "host": "another-machine", "pid": "1"})
    assert close_stale_runs(exp_id, host) == [gone.info.run_id]
    status = {r.info.run_id: r.info.status for r in client.search_runs([exp_id])}
    assert status == {gone.info.run_id: "KILLED", alive.info.run_id: "RUNNING", elsewhere.info.run_id: "RUNNING"}


@pytest.mark.reliability(probe="a missing input file", kind="bad input", outcome="clear error")
def test_a_missing_input_file_is_one_line_naming_it_and_exit_2(root, tmp_path, monkeypatch, capsys):
    from stages import partition

    monkeypatch.chdir(tmp_path)  # no data/prepared here: prepare never ran
    assert partition.main(["--params", str(root / "params.yaml"), "--no-track"]) == 2
    err = capsys.readouterr().err
    assert "error: stage partition:" in err and "data/prepared/train.jsonl" in err and "Traceback" not in err


@pytest.fixture(autouse=True)
def _restore_tracking_uri():
    import mlflow

    before = mlflow.get_tracking_uri()
    yield
    mlflow.set_tracking_uri(before)
