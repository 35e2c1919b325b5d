"""What the experiment drivers share: run `dvc` commands, read `dvc exp show --json`, load their
YAML configs with errors that name the file and key, and point every process at one MLflow store."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


class ExperimentConfigError(ValueError):
    """A sweep/table/regression config that cannot work; the message names the file and key."""


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ExperimentConfigError(f"{path}: file not found")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ExperimentConfigError(f"{path}: expected a mapping at the top level")
    return data


def require(cfg: dict, key: str, kind: type | tuple[type, ...], source: str | Path) -> Any:
    """``cfg[key]`` checked for presence and type; ``key`` may be dotted (``a.b``)."""
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ExperimentConfigError(f"{source}: key '{key}' is missing")
        node = node[part]
    if not isinstance(node, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ExperimentConfigError(f"{source}: key '{key}' must be {names}, got {node!r}")
    return node


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for dvc and the stages: this interpreter's bin first, quiet telemetry, one MLflow store."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
           "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **(extra or {})}


def dvc(args: list[str], cwd: Path, env: dict[str, str] | None = None, capture: bool = True,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run ``dvc <args>``; on failure raise with the command and its output's tail."""
    proc = subprocess.run(["dvc", *args], cwd=cwd, env=env or tool_env(), text=True,
                          capture_output=capture, check=False)
    if check and proc.returncode != 0:
        tail = ((proc.stdout or "") + (proc.stderr or ""))[-3000:]
        raise RuntimeError(f"`dvc {shlex.join(args)}` exited {proc.returncode}:\n{tail}")
    return proc


def set_args(overrides: list[str]) -> list[str]:
    """Hydra overrides as repeated ``-S`` arguments."""
    return [a for o in overrides for a in ("-S", o)]


def shared_mlflow_store(root: Path) -> tuple[str, str]:
    """The absolute MLflow URI every process of a sweep or table uses (MLFLOW_TRACKING_URI wins),
    and the experiment name. The sqlite schema and the experiment are created here, once, before any
    worker starts: parallel first connections race on MLflow's migrations (design.md pitfall 5)."""
    import mlflow

    from stages.core.config import load_config
    from stages.core.tracking import use_experiment

    cfg = load_config(root / "params.yaml")
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root / cfg.paths.mlflow_db).resolve()}"
    mlflow.set_tracking_uri(uri)
    with contextlib.chdir(root):  # artifacts go beside the store, resolved from the repository root
        use_experiment(cfg.tracking.experiment_name)
    return uri, cfg.tracking.experiment_name


@dataclass
class Exp:
    """One experiment row of `dvc exp show --json`: name, commit, params.yaml and all metrics (the
    headline DVC lists and the stages' files read from the commit, ``with_detail``): merged
    (a key that several stages write, e.g. sft's and grpo's ``train/steps``, only as ``<stage>:<key>``;
    every key is also there that way) and per metrics file in ``by_file``."""
    name: str | None
    rev: str
    params: dict
    metrics: dict[str, float]
    by_file: dict[str, dict] = field(default_factory=dict)
    # The queue's executor state (queued, running, success, failed); None for an experiment run
    # outside the queue. A queued, running or failed one's commit holds its baseline's metrics, not its own.
    state: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in (None, "success")


HEADLINE_STEM = "headline"   # metrics/headline.json: a copy of a few of evaluate.json's values


def _merged(by_file: dict[str, dict]) -> dict[str, float]:
    """Every key once unqualified where one stage's file has it (the headline, a copy of evaluate's
    values, is no second stage), and every key as ``<stem>:<key>``."""
    qualified = {f"{Path(path).stem}:{k}": v for path, values in by_file.items() for k, v in values.items()}
    stages = {path: values for path, values in by_file.items() if Path(path).stem != HEADLINE_STEM}
    headline = {k: v for path, values in by_file.items() if Path(path).stem == HEADLINE_STEM for k, v in values.items()}
    keys = Counter(k for values in stages.values() for k in values)
    return headline | {k: v for values in stages.values() for k, v in values.items() if keys[k] == 1} | qualified


def _exp(entry: dict, state: str | None = None) -> Exp:
    data = entry.get("data") or {}
    params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
    by_file = {path: file.get("data") or {} for path, file in (data.get("metrics") or {}).items()}
    return Exp(name=entry.get("name") or data.get("name"), rev=entry.get("rev") or data.get("rev", ""),
               params=params, metrics=_merged(by_file), by_file=by_file, state=state)


# The stages' full metrics files, all kept in git (cache: false) in each experiment's commit. `dvc exp
# show` lists those declared as metrics (the first four stages'); evaluate's (~800 values) is a plain
# output, read here from the commit. The others are read here only where `dvc exp show` left them out.
DETAIL_STAGES = ("prepare", "partition", "sft", "grpo", "evaluate")


def with_detail(root: Path, exps: list[Exp]) -> list[Exp]:
    """Add to each experiment the stages' metrics files ``dvc exp show`` does not list, read from
    its commit (one ``git cat-file --batch`` for all), under the same keys as declared metrics
    (``<paths.metrics>/<stage>.json``); a file the commit lacks (a stage never run) is left out."""
    wanted = []
    for exp in exps:
        folder = (exp.params.get("paths") or {}).get("metrics") or "metrics"
        wanted += [(exp, f"{folder}/{stage}.json") for stage in DETAIL_STAGES
                   if exp.rev and f"{folder}/{stage}.json" not in exp.by_file]
    if not wanted:
        return exps
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=root, check=True, capture_output=True,
                         input="".join(f"{exp.rev}:{path}\n" for exp, path in wanted).encode()).stdout
    at = 0
    for exp, path in wanted:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) != 3 or header[1] != b"blob":   # "<rev>:<path> missing"
            continue
        size = int(header[2])
        body, at = out[at:at + size], at + size + 1
        try:
            exp.by_file[path] = json.loads(body)
        except ValueError:
            continue
    for exp in exps:
        exp.metrics = _merged(exp.by_file)
    return exps


def exp_show(root: Path, all_commits: bool = True) -> list[Exp]:
    """Every experiment DVC knows in ``root`` (of all baselines and branches, or of HEAD's only),
    workspace excluded, with every stage's metrics file (``with_detail``) and its queue state."""
    args = ["exp", "show", "--json", *(["--all-commits"] if all_commits else [])]
    out = json.loads(dvc(args, cwd=root).stdout or "[]")
    exps = []
    for baseline in out:
        for group in baseline.get("experiments") or []:
            state = (group.get("executor") or {}).get("state")
            for rev in group.get("revs") or []:
                exps.append(_exp(rev, state))
    return with_detail(root, exps)
