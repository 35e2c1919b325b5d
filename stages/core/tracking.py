"""MLflow: one parent run per pipeline run, one nested run per stage execution, in a sqlite store at
an absolute path.

The parent run stands for one pipeline run, so the UI compares pipeline runs as units: it is named
after the DVC experiment (``DVC_EXP_NAME``, set by ``dvc exp run``) or, outside DVC experiments, after
the git commit and the params.yaml digest. The stages are separate processes, so each finds the
parent by a stable key, the tag ``kardia.pipeline_key`` (the experiment name, or the commit, plus
the digest of the params.yaml bytes, the one stages/core/params_pin.py pins), and creates it when it
is the first; a file lock keyed by the store makes find-or-create atomic for concurrent pipeline runs
on one machine (queue workers). The parent carries the resolved config as params, the headline
metrics (evaluate), the datasets as inputs and is RUNNING while one of its stages runs, then shows
the last stage's outcome.

The default store is ``<repo>/mlflow.db`` where <repo> is DVC_ROOT when DVC sets it (for queued
experiments that is the parent repository, not the temporary copy the stage runs in, so no run is
lost) and the current directory otherwise. MLFLOW_TRACKING_URI in the environment wins.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .config import params_hash

PARENT_RUN_ENV = "KARDIA_MLFLOW_PARENT_RUN_ID"
PIPELINE_KEY_TAG = "kardia.pipeline_key"
PIPELINE_TAG = "kardia.pipeline"   # "true" on parent runs: filter them in the UI with tags.kardia.pipeline = 'true'
# the parent run of this process's stage (None without tracking, or when a sweep trial is the parent)
_pipeline_parent: str | None = None


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


def pipeline_identity(params_file: str | Path) -> tuple[str, str]:
    """(key, run name) of the pipeline run a stage belongs to: under ``dvc exp run`` the experiment
    (its baseline commit and name), otherwise the git commit; both with the digest of the params.yaml
    bytes, so two runs of one experiment name with other values are two parents."""
    from .params_pin import digest

    path = Path(params_file)
    params = digest(path) if path.exists() else "no-params"
    if os.environ.get("DVC_EXP_NAME"):
        name = os.environ["DVC_EXP_NAME"]
        baseline = os.environ.get("DVC_EXP_BASELINE_REV", "")[:12] or "unknown"
        return f"exp:{baseline}:{name}:{params}", name
    commit = git_commit()
    return f"commit:{commit[:12]}:{params}", f"{commit[:7]}-{params}"


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """An exclusive lock per tracking store on this machine (queue workers run stages in parallel)."""
    path = Path(tempfile.gettempdir()) / f"kardia-mlflow-{hashlib.sha256(uri.encode()).hexdigest()[:12]}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pipeline_parent(experiment_id: str, key: str, name: str, tags: dict[str, str],
                    params: dict[str, str]) -> str:
    """The id of the parent run with ``key``, created (with ``tags`` and ``params``) by the first
    stage that asks; the oldest wins should a store shared across machines hold two."""
    import mlflow
    from mlflow.entities import Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    with store_lock(mlflow.get_tracking_uri()):
        found = client.search_runs([experiment_id], f"tags.`{PIPELINE_KEY_TAG}` = '{key}'",
                                   order_by=["attributes.start_time ASC"], max_results=1)
        if found:
            return found[0].info.run_id
        run = client.create_run(experiment_id, run_name=name,
                                tags={**tags, PIPELINE_KEY_TAG: key, PIPELINE_TAG: "true"})
        items = [Param(k, v) for k, v in params.items()]
        for i in range(0, len(items), 100):   # MLflow takes at most 100 params per batch
            client.log_batch(run.info.run_id, params=items[i:i + 100])
        return run.info.run_id


@contextlib.contextmanager
def stage_run(stage: str, cfg: DictConfig, params_file: str | Path,
              redact: Callable[[str], str] = str) -> Iterator[object]:
    """Open the MLflow run of one stage, nested under its pipeline's parent run (or a sweep trial's
    run): tags, resolved params (prefixed ``cfg.``), params file; tag and param values pass
    ``redact`` (``redaction.Redactor``) on their way to the store."""
    global _pipeline_parent
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(cfg.paths.mlflow_db)
    # Set in the environment too: the HF Trainer's MLflow callback reads it.
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    use_experiment(cfg.tracking.experiment_name)
    host = socket.gethostname()
    experiment_id = mlflow.get_experiment_by_name(cfg.tracking.experiment_name).experiment_id
    close_stale_runs(experiment_id, host)
    tags = {
        "stage": stage,
        "host": host,
        "pid": str(os.getpid()),
        "git_commit": git_commit(),
        "dvc_exp": os.environ.get("DVC_EXP_NAME", "workspace"),
        "params_hash": params_hash(cfg),
        "model": cfg.model.name,
    }
    tags = {k: redact(v) for k, v in tags.items()}
    # The "cfg." prefix keeps these apart from the Trainer callback's own params (design.md pitfall 9).
    params = {k: redact(v)[:6000] for k, v in flatten(OmegaConf.to_container(cfg, resolve=True), "cfg.").items()}
    client = MlflowClient()
    # A sweep trial (experiments/sweep.py) nests its stages' runs under the trial's own run.
    parent = os.environ.get(PARENT_RUN_ENV)
    if not parent:
        key, name = pipeline_identity(params_file)
        parent_tags = {k: v for k, v in tags.items() if k != "stage"}
        parent = _pipeline_parent = pipeline_parent(experiment_id, key, redact(name), parent_tags, params)
        # RUNNING while this stage runs; the pid lets close_stale_runs end it if the stage dies
        client.update_run(parent, status="RUNNING")
        client.set_tag(parent, "pid", tags["pid"])
        client.set_tag(parent, "last_stage", stage)
    tags["mlflow.parentRunId"] = parent
    status = "FAILED"
    try:
        with mlflow.start_run(run_name=f"{stage}-{tags['dvc_exp']}", tags=tags) as run:
            mlflow.log_params(params)
            mlflow.log_text(redact(Path(params_file).read_text()), Path(params_file).name)
            try:
                yield run
            except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (the stage entry point raises it): not a failure
                status = "KILLED"
                mlflow.end_run("KILLED")
                raise
        status = "FINISHED"
    finally:
        if _pipeline_parent:   # the parent shows the outcome of its latest stage
            client.set_terminated(_pipeline_parent, status)
            _pipeline_parent = None


def log_parent_metrics(metrics: dict[str, float]) -> None:
    """Put ``metrics`` (evaluate's headline) on the pipeline's parent run; nothing without one."""
    if _pipeline_parent is None:
        return
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    now = int(time.time() * 1000)
    MlflowClient().log_batch(_pipeline_parent, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])


def dataset_frame(path: Path):
    """A JSONL file as a DataFrame MLflow can digest and profile: nested values (chat turns,
    personas) as JSON text."""
    import json

    import pandas as pd

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, (list, dict))).any():
            frame[column] = frame[column].map(lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True))
    return frame


def log_dataset(path: str | Path, name: str, context: str) -> None:
    """Log the JSONL file ``path`` as an MLflow dataset input (name, digest, schema, row count) of the
    stage's run and of the pipeline's parent run, ``context`` ``training`` or ``evaluation``;
    nothing without a run (``--no-track``)."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None or mlflow.active_run() is None:
        return
    import mlflow.data
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.tracking import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    path = Path(path)
    # MLflow's hints are about serving a model on this data, not about logging it: "can be interpreted
    # in multiple ways" (two local-file source kinds), "integer columns cannot represent missing values"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dataset = mlflow.data.from_pandas(dataset_frame(path), source=str(path.resolve()), name=name)
        mlflow.log_input(dataset, context=context)
        if _pipeline_parent is not None:
            MlflowClient().log_inputs(_pipeline_parent, [DatasetInput(
                dataset._to_mlflow_entity(), [InputTag(MLFLOW_DATASET_CONTEXT, context)])])


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


def log_model(checkpoint: str | Path, name: str, how: str) -> str | None:
    """Log the checkpoint directory to the stage's run (``tracking.log_model``): ``transformers``
    an MLflow model (transformers flavor, text-generation; the requirements pinned from this
    environment, not inferred: inference imports every package), ``files`` plain artifacts under
    ``<name>/``, ``none`` nothing. The model's URI is tagged on the stage's and the parent run.
    Returns it; None without a run (``--no-track``) or with ``none``."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None or mlflow.active_run() is None or how == "none":
        return None
    checkpoint = Path(checkpoint)
    if how == "files":
        mlflow.log_artifacts(str(checkpoint), name)
        uri = f"runs:/{mlflow.active_run().info.run_id}/{name}"
    else:
        import mlflow.transformers
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(checkpoint)
        tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        card = None   # the checkpoint's own card (model_card.py); without one MLflow asks the Hub for one
        if (checkpoint / "README.md").is_file():
            from huggingface_hub import ModelCard

            card = ModelCard.load(checkpoint / "README.md")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # signature and dtype notes about a model it cannot see
            info = mlflow.transformers.log_model(
                {"model": model, "tokenizer": tokenizer}, name=name, task="text-generation", model_card=card,
                pip_requirements=[f"transformers=={transformers.__version__}", f"torch=={torch.__version__}"])
        uri = info.model_uri
    mlflow.set_tag("kardia.model_uri", uri)
    if _pipeline_parent is not None:
        from mlflow.tracking import MlflowClient

        MlflowClient().set_tag(_pipeline_parent, "kardia.model_uri", uri)
    return uri
