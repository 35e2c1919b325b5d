"""One pipeline run, one set of parameters: the first stage a DVC process runs pins the bytes of
params.yaml, and every stage of that run checks them again when it starts and before it records
anything.

Why: DVC releases its repository lock while a stage's command runs (``dvc/stage/run.py``,
``unlocked_repo(cmd_run)``), so a second workspace ``dvc exp run`` composes conf/ into the same
params.yaml while the first run's stage is training, and only then fails on a lock. The first run's
later stages would read the second run's values, and DVC would record them in dvc.lock, the
experiment and MLflow. A stage that finds params.yaml changed under its run stops with exit code 2, so
DVC records nothing of it. Queued and ``--temp`` runs have their own copy of params.yaml and their
own pin.

A run is the DVC process that started the stage (the nearest ancestor that is not a shell: DVC runs
each command through ``$SHELL -c``), named by pid and start time so a reused pid is another run.
Only stages started by DVC (``DVC_STAGE`` set) pin; a stage run by hand or in process does not.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import KardiaError
from .io import write_json

PIN_DIR = Path(".dvc") / "tmp" / "params-pins"   # under DVC_ROOT: DVC's own scratch space, git-ignored
# Set by the launcher (stages/core/launch.py) for the processes it starts: their parent is
# `accelerate launch`, not the DVC process, so they are told which run they belong to.
RUN_ENV = "KARDIA_PARAMS_RUN"
SHELLS = {"sh", "bash", "dash", "zsh", "fish", "ksh"}


class ParamsChanged(KardiaError):
    """params.yaml is no longer what this pipeline run started with."""


def _proc(pid: int) -> tuple[str, int, str] | None:
    """(command name, parent pid, start time in clock ticks) of a live process, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
    return name, int(rest[1]), rest[19]   # fields 4 (ppid) and 22 (starttime) of proc(5)


def run_id() -> str:
    """``<pid>-<start time>`` of the DVC process this stage runs under."""
    if os.environ.get(RUN_ENV):
        return os.environ[RUN_ENV]
    pid = os.getppid()
    while (info := _proc(pid)) is not None and info[0] in SHELLS and info[1] > 1:
        pid = info[1]
    return f"{pid}-{info[2] if info else 'unknown'}"


def _alive(run: str) -> bool:
    pid, _, started = run.partition("-")
    info = _proc(int(pid)) if pid.isdigit() else None
    return info is not None and info[2] == started


def _key(params: Path) -> str:
    """Which params file a pin is for: a run could read another one (``--params``)."""
    return hashlib.sha256(str(params).encode()).hexdigest()[:8]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


@dataclass(frozen=True)
class Pin:
    params: Path
    digest: str
    stage: str   # the run's first stage, which pinned it

    def check(self, when: str) -> None:
        """Raise ParamsChanged if params.yaml differs from the pin; ``when`` says where in the stage."""
        now = digest(self.params) if self.params.exists() else "missing"
        if now != self.digest:
            raise ParamsChanged(
                f"{self.params.name} changed {when}: this pipeline run pinned {self.digest} at stage "
                f"{self.stage}, it is now {now} (another `dvc exp run`, `make params` or an edit rewrote "
                f"it); nothing of this stage is recorded: rerun once the other run is done")


def pin(params_file: str | Path, stage: str) -> Pin | None:
    """Pin params.yaml for this DVC run (first stage) or check it against the pin (later stages);
    None outside DVC."""
    if "DVC_STAGE" not in os.environ:
        return None
    params = Path(params_file).resolve()
    if not params.exists():   # load_config says how to make it
        return None
    run = run_id()
    pins = Path(os.environ.get("DVC_ROOT", ".")) / PIN_DIR
    path = pins / f"{run}-{_key(params)}.json"
    if path.exists():
        saved = json.loads(path.read_text())
        found = Pin(params, saved["digest"], saved["stage"])
        found.check("before this stage started")
        return found
    for old in pins.glob("*.json"):   # runs that ended (or died) leave their pin behind
        if not _alive(old.stem.rsplit("-", 1)[0]):
            old.unlink(missing_ok=True)
    made = Pin(params, digest(params), stage)
    write_json(path, {"params": str(params), "digest": made.digest, "stage": stage})
    return made
