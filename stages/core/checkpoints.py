"""Persistent trainer checkpoints: where a training stage keeps them, and resuming after a crash.

A run keeps its Trainer checkpoints in ``<paths.checkpoints>/<stage>-<key>/checkpoint-N``. The key is a
hash of everything that decides the run: the params groups dvc.yaml declares for the stage (the same
ones whose change makes DVC re-run it) and the fingerprints of its input checkpoint and training data.
A re-run with the same settings therefore finds the checkpoints of a crashed run and resumes from the
newest complete one; any other setting gets a directory of its own and starts fresh. The directory is
not a DVC output (DVC deletes outputs before it re-runs a stage) and is removed once the stage has
saved its result, which lives in the stage's DVC output from then on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from .io import checkpoint_fingerprint, file_fingerprint, write_json

log = logging.getLogger("kardia")

DVC_YAML = Path(__file__).resolve().parents[2] / "dvc.yaml"

# Trainer settings that decide where checkpoints and logs go, not what is trained: a crashed run
# re-run with --no-track (report_to) or another save interval still resumes.
NOT_IN_KEY = ("report_to", "save_strategy", "save_steps", "save_total_limit")

TRAINER_STATE = "trainer_state.json"  # written last by Trainer._save_checkpoint: its presence = complete


def stage_params(stage: str) -> list[str]:
    """The params groups (or dotted keys) dvc.yaml declares for ``stage``: one source for what a stage's
    result depends on."""
    params = yaml.safe_load(DVC_YAML.read_text())["stages"][stage]["params"]
    if not all(isinstance(p, str) for p in params):
        raise RuntimeError(f"{DVC_YAML}: stage {stage} params must be params.yaml keys, got {params}")
    return params


def _lookup(values: dict, name: str):
    """A params group, or one dotted key of it (``evaluate.max_new_tokens``), as dvc.yaml names it."""
    for part in name.split("."):
        values = values[part]
    return values


def run_key(cfg, stage: str, init_path: str | Path, data_path: str | Path) -> dict:
    """What decides a run of ``stage``, as plain data (hashed into the run directory's name)."""
    values = OmegaConf.to_container(cfg, resolve=True)
    groups = {name: _lookup(values, name) for name in stage_params(stage)}
    groups[stage]["trainer"] = {k: v for k, v in groups[stage]["trainer"].items() if k not in NOT_IN_KEY}
    return {"stage": stage, "params": groups,
            "init": checkpoint_fingerprint(init_path, f"{stage} input"),
            "data": file_fingerprint(data_path)}


def run_dir(cfg, stage: str, init_path: str | Path, data_path: str | Path) -> Path:
    """The checkpoint directory of this run (created); ``run.json`` in it records the key's contents."""
    key = run_key(cfg, stage, init_path, data_path)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(cfg.paths.checkpoints) / f"{stage}-{digest}"
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "run.json").exists():
        write_json(path / "run.json", key)
    return path


def trainer_state(checkpoint: Path) -> dict | None:
    """The checkpoint's trainer state, or None when it is incomplete (killed while saving)."""
    try:
        return json.loads((checkpoint / TRAINER_STATE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def latest(directory: Path) -> tuple[Path, dict] | None:
    """The newest complete ``checkpoint-N`` in ``directory`` and its trainer state."""
    found = []
    for path in directory.glob("checkpoint-*"):
        step = path.name.removeprefix("checkpoint-")
        if step.isdigit() and (state := trainer_state(path)) is not None:
            found.append((int(step), path, state))
    if not found:
        return None
    _, path, state = max(found, key=lambda f: f[0])
    return path, state


def resume_point(stage: str, directory: Path) -> str | None:
    """The checkpoint to pass as ``Trainer.train(resume_from_checkpoint=...)``, logged; None: start fresh."""
    found = latest(directory)
    if found is None:
        return None
    path, state = found
    log.info("resuming %s from %s (step %d of %d)", stage, path.name, state["global_step"], state["max_steps"])
    return str(path)


def finish(directory: Path) -> None:
    """Drop a run's checkpoints once its result is saved: the stage's DVC output holds it now, and a
    forced re-run (``dvc repro -f``) must train again rather than resume at the last step."""
    shutil.rmtree(directory)
