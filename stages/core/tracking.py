"""MLflow: one run per stage execution, in a sqlite store at an absolute path.

The default store is ``<repo>/mlflow.db`` where <repo> is DVC_ROOT when DVC sets it (for queued
experiments that is the parent repository, not the temporary copy the stage runs in, so no run is
lost) and the current directory otherwise. MLFLOW_TRACKING_URI in the environment wins.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .config import params_hash

PARENT_RUN_ENV = "KARDIA_MLFLOW_PARENT_RUN_ID"


def repo_root() -> Path:
    return Path(os.environ.get("DVC_ROOT", ".")).resolve()


def tracking_uri(db_path: str) -> str:
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{repo_root() / db_path}"


def use_experiment(name: str) -> None:
    """Select (creating if needed) the experiment, with artifacts beside the store, at an absolute path."""
    import mlflow

    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=(repo_root() / "mlartifacts").as_uri())
    mlflow.set_experiment(name)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def flatten(node: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = str(value)
    return out


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def close_stale_runs(experiment_id: str, host: str) -> list[str]:
    """Stage runs of this machine left RUNNING by a process that is gone (SIGKILL, out of memory, a
    power cut) are marked KILLED, so RUNNING in the UI always means a live process. Returns their ids."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    stale = [r.info.run_id for r in client.search_runs(
        [experiment_id], f"attributes.status = 'RUNNING' and tags.host = '{host}'")
        if r.data.tags.get("pid", "").isdigit() and not pid_alive(int(r.data.tags["pid"]))]
    for run_id in stale:
        client.set_terminated(run_id, "KILLED")
    return stale


@contextlib.contextmanager
def stage_run(stage: str, cfg: DictConfig, params_file: str | Path,
              redact: Callable[[str], str] = str) -> Iterator[object]:
    """Open the MLflow run of one stage: tags, resolved params (prefixed ``cfg.``), params file;
    tag and param values pass ``redact`` (``redaction.Redactor``) on their way to the store."""
    import mlflow

    uri = tracking_uri(cfg.paths.mlflow_db)
    # Set in the environment too: the HF Trainer's MLflow callback reads it.
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    use_experiment(cfg.tracking.experiment_name)
    host = socket.gethostname()
    close_stale_runs(mlflow.get_experiment_by_name(cfg.tracking.experiment_name).experiment_id, host)
    tags = {
        "stage": stage,
        "host": host,
        "pid": str(os.getpid()),
        "git_commit": git_commit(),
        "dvc_exp": os.environ.get("DVC_EXP_NAME", "workspace"),
        "params_hash": params_hash(cfg),
        "model": cfg.model.name,
    }
    # A sweep trial (experiments/sweep.py) nests its stages' runs under the trial's own run.
    if os.environ.get(PARENT_RUN_ENV):
        tags["mlflow.parentRunId"] = os.environ[PARENT_RUN_ENV]
    tags = {k: redact(v) for k, v in tags.items()}
    with mlflow.start_run(run_name=f"{stage}-{tags['dvc_exp']}", tags=tags) as run:
        # The "cfg." prefix keeps these apart from the Trainer callback's own params (design.md pitfall 9).
        params = flatten(OmegaConf.to_container(cfg, resolve=True), "cfg.")
        mlflow.log_params({k: redact(v)[:6000] for k, v in params.items()})
        mlflow.log_text(redact(Path(params_file).read_text()), Path(params_file).name)
        try:
            yield run
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (the stage entry point raises it): not a failure
            mlflow.end_run("KILLED")
            raise


def log_metrics(metrics: dict[str, float]) -> None:
    import mlflow

    mlflow.log_metrics({k: float(v) for k, v in metrics.items()})


def log_artifact(path: str | Path, artifact_path: str | None = None) -> None:
    """Attach a file or directory to the stage's run; nothing without one (``--no-track``), where
    mlflow.log_artifact would otherwise start a stray run in a default store."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None or mlflow.active_run() is None:
        return
    path = Path(path)
    if path.is_dir():
        mlflow.log_artifacts(str(path), artifact_path)
    elif path.exists():
        mlflow.log_artifact(str(path), artifact_path)


def set_tags(tags: dict[str, str]) -> None:
    """Tag the stage's run; nothing without one (``--no-track``)."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None and mlflow.active_run() is not None:
        mlflow.set_tags(tags)
