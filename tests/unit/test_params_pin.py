"""A pipeline run keeps the parameters it started with (stages/core/params_pin.py): the stages of
one DVC process pin params.yaml at the first and refuse, exit 2, once it has changed."""

import os
import shutil
import subprocess
import sys

import pytest

from stages.core import params_pin
from stages.core.stage import stage_main


@pytest.fixture
def under_dvc(root, tmp_path, monkeypatch):
    """params.yaml in a repository root, as DVC runs a stage there: DVC_STAGE and DVC_ROOT set, one run."""
    shutil.copy2(root / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DVC_STAGE", "probe")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.setattr(params_pin, "run_id", lambda: f"{os.getpid()}-{params_pin._proc(os.getpid())[2]}")
    return tmp_path / "params.yaml"


def stage(name, seen, during=None):
    def run(cfg):
        seen.append(name)
        if during:
            during()
        return {"probe/max_steps": cfg.sft.trainer.max_steps}
    return stage_main(name, run, "probe")


def test_the_stages_of_one_run_refuse_params_that_changed_after_its_first(under_dvc, capsys):
    seen = []
    assert stage("prepare", seen)(["--no-track"]) == 0
    assert stage("partition", seen)(["--no-track"]) == 0   # same bytes: runs
    pinned = params_pin.digest(under_dvc)
    under_dvc.write_text(under_dvc.read_text().replace("max_steps: 900", "max_steps: 2", 1))
    assert stage("sft", seen)(["--no-track"]) == 2
    assert seen == ["prepare", "partition"], "sft refused before it read anything"
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [(f"error: stage sft: params.yaml changed before this stage started: this pipeline run "
                    f"pinned {pinned} at stage prepare, it is now {params_pin.digest(under_dvc)} (another "
                    "`dvc exp run`, `make params` or an edit rewrote it); nothing of this stage is recorded: "
                    "rerun once the other run is done")]
    assert not (under_dvc.parent / "metrics/sft.json").exists()


def test_a_change_while_the_stage_runs_fails_it_and_its_mlflow_run(under_dvc, capsys, monkeypatch):
    import mlflow
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{under_dvc.parent / 'mlflow.db'}")

    def rewrite():  # any byte counts
        under_dvc.write_text(under_dvc.read_text() + "\n")

    try:
        assert stage("sft", [], during=rewrite)([]) == 2
        client = MlflowClient()
        runs = client.search_runs([client.get_experiment_by_name("kardia").experiment_id])
    finally:
        mlflow.set_tracking_uri("")
    assert "error: stage sft: params.yaml changed while this stage ran" in capsys.readouterr().err
    # the stage's run and its pipeline's parent run (stages/core/tracking.py), both FAILED
    [parent] = [r for r in runs if r.data.tags.get("kardia.pipeline") == "true"]
    runs = [r for r in runs if r is not parent]
    assert [r.info.status for r in runs] == ["FAILED"] and "probe/max_steps" not in runs[0].data.metrics
    assert parent.info.status == "FAILED" and not parent.data.metrics
    assert not (under_dvc.parent / "metrics/sft.json").exists()


def test_outside_dvc_nothing_is_pinned(root, tmp_path, monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert params_pin.pin(root / "params.yaml", "sft") is None
    assert not (tmp_path / ".dvc").exists()


def test_the_run_is_the_process_above_the_shell():
    probe = "from stages.core.params_pin import run_id; print(run_id())"
    # `; true` keeps the shell alive between DVC and the stage (bash would otherwise exec python)
    for cmd in ([sys.executable, "-c", probe], ["sh", "-c", f"{sys.executable} -c '{probe}'; true"]):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
        assert out == f"{os.getpid()}-{params_pin._proc(os.getpid())[2]}", cmd


def test_pins_of_runs_that_ended_are_removed(under_dvc, monkeypatch):
    pins = under_dvc.parent / params_pin.PIN_DIR
    pins.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    (pins / f"{dead}-1-abcd1234.json").write_text("{}")
    live = pins / f"{os.getppid()}-{params_pin._proc(os.getppid())[2]}-abcd1234.json"
    live.write_text("{}")
    monkeypatch.setattr(params_pin, "run_id", lambda: "1-0")
    params_pin.pin(under_dvc, "prepare")
    assert sorted(p.name for p in pins.iterdir()) == sorted([live.name, f"1-0-{params_pin._key(under_dvc)}.json"])
