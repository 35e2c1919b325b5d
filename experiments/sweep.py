"""Optuna sweep over the pipeline: every trial is one named DVC experiment.

    python -m experiments.sweep experiments/sweeps/lambda_thresholds.yaml

Ask/tell: the sampler proposes λ on the simplex, thresholds and learning rates from the sweep file's
`space`; the trial runs `dvc exp run -n <study>-<number> -S …` in this repository; its
metrics/evaluate.json gives the objective(s) and the constraint values (format compliance, judge
coverage). Storage is sqlite (optuna.db at the repository root) or an RDB URL; a study is resumed
by running the same command again: completed trials are kept, a trial whose process died (killed
mid-run) is marked FAIL and queued again with the same parameters, and its half-run DVC experiment
is discarded (experiments/sweep_resume.py). MLflow: one parent run per
study, one child run per trial (tagged with its DVC experiment), the stages' runs nested under it.
Outputs in sweeps/<study>/: best.json (the best trial, or the Pareto front of a multi-objective
study), trials.csv, importance.png, and pareto.png for a multi-objective study (experiments/sweep_report.py;
the MLflow runs: experiments/sweep_tracking.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from experiments.dvcexp import (
    ROOT,
    ExperimentConfigError,
    load_yaml,
    require,
    set_args,
    tool_env,
)
from experiments.sweep_report import print_summary, write_outputs
from experiments.sweep_resume import discard_partial, finished, recover_interrupted
from experiments.sweep_tracking import Tracker

SPACE_TYPES = ("simplex", "float", "categorical")
DIRECTIONS = ("maximize", "minimize")
OUT_DIR = "sweeps"          # sweeps/<study>/: reports and per-trial logs (gitignored)
DEFAULT_DB = "optuna.db"    # at the repository root (gitignored)


@dataclass
class Objective:
    metric: str
    direction: str


@dataclass
class Constraint:
    metric: str
    min: float | None = None
    max: float | None = None

    def violation(self, value: float) -> float:
        """Optuna's convention: <= 0 is feasible."""
        return max((self.min - value) if self.min is not None else -math.inf,
                   (value - self.max) if self.max is not None else -math.inf)


@dataclass
class SweepConfig:
    study: str
    seed: int
    n_trials: int
    n_startup_trials: int
    storage: str | None
    objectives: list[Objective]
    constraints: list[Constraint]
    space: dict[str, dict]
    overrides: list[str]


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and check a sweep file; every error names the file and the key."""
    raw = load_yaml(path)
    study = require(raw, "study", str, path)
    objectives = []
    for i, o in enumerate(require(raw, "objectives", list, path)):
        metric, direction = require(o, "metric", str, f"{path}: objectives[{i}]"), o.get("direction", "maximize")
        if direction not in DIRECTIONS:
            raise ExperimentConfigError(f"{path}: key 'objectives[{i}].direction': {direction!r} is not one of {DIRECTIONS}")
        objectives.append(Objective(metric, direction))
    if not objectives:
        raise ExperimentConfigError(f"{path}: key 'objectives' needs at least one metric")
    constraints = []
    for i, c in enumerate(raw.get("constraints") or []):
        metric = require(c, "metric", str, f"{path}: constraints[{i}]")
        if c.get("min") is None and c.get("max") is None:
            raise ExperimentConfigError(f"{path}: key 'constraints[{i}]' needs min or max")
        constraints.append(Constraint(metric, c.get("min"), c.get("max")))
    space = require(raw, "space", dict, path)
    for key, spec in space.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in SPACE_TYPES:
            raise ExperimentConfigError(f"{path}: key 'space.{key}.type': {kind!r} is not one of {SPACE_TYPES}")
        low, high = (spec.get("low"), spec.get("high")) if kind == "float" else (0, 1)
        if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and low < high
                and (low > 0 or not spec.get("log"))):
            raise ExperimentConfigError(f"{path}: key 'space.{key}': needs low < high (and low > 0 with log)")
        if kind == "categorical" and not spec.get("choices"):
            raise ExperimentConfigError(f"{path}: key 'space.{key}.choices' must be a non-empty list")
    n_trials = require(raw, "n_trials", int, path)
    if n_trials < 1:
        raise ExperimentConfigError(f"{path}: key 'n_trials' must be positive")
    return SweepConfig(study=study, seed=int(raw.get("seed", 0)), n_trials=n_trials,
                       n_startup_trials=int(raw.get("n_startup_trials", 10)), storage=raw.get("storage"),
                       objectives=objectives, constraints=constraints, space=space,
                       overrides=[str(o) for o in raw.get("overrides") or []])


# --- sampling -----------------------------------------------------------------------------------

def simplex(raw: list[float]) -> list[float]:
    """Uniforms in (0, 1] -> a point on the simplex: normalised exponentials (-log u), which for
    independent uniforms is Dirichlet(1, ..., 1), i.e. uniform over the simplex. Only ratios of λ
    matter to group-normalised GRPO advantages, so one point per ray is all a sweep needs."""
    e = [-math.log(u) for u in raw]
    total = sum(e)
    if total <= 0:  # every u == 1: the centre is the only sensible point
        return [1 / len(raw)] * len(raw)
    return [x / total for x in e]


def sample(trial, space: dict[str, dict], reward_names: list[str]) -> tuple[list[str], dict[str, float]]:
    """Ask ``trial`` for every key of ``space``; return the -S overrides and the values actually used."""
    overrides, used = [], {}
    for key, spec in space.items():
        if spec["type"] == "simplex":
            raw = [trial.suggest_float(f"{key}.{name}", 1e-6, 1.0) for name in reward_names]
            weights = [round(w, 4) for w in simplex(raw)]
            overrides.append(f"{key}=[{','.join(repr(w) for w in weights)}]")
            used.update({f"lambda/{name}": w for name, w in zip(reward_names, weights, strict=True)})
        elif spec["type"] == "float":
            value = float(f"{trial.suggest_float(key, spec['low'], spec['high'], log=bool(spec.get('log'))):.4g}")
            overrides.append(f"{key}={value!r}")
            used[key] = value
        else:
            value = trial.suggest_categorical(key, list(spec["choices"]))
            overrides.append(f"{key}={value}")
            used[key] = value
    return overrides, used


def read_metrics(path: Path, keys: list[str]) -> dict[str, float]:
    if not path.exists():
        raise RuntimeError(f"{path} was not written: the trial's evaluate stage did not run")
    metrics = json.loads(path.read_text())
    missing = [k for k in keys if k not in metrics]
    if missing:
        raise RuntimeError(f"{path}: no metric {missing}; known: {sorted(metrics)[:12]} ...")
    return {k: float(metrics[k]) for k in keys}


def constraint_values(metrics: dict[str, float], constraints: list[Constraint]) -> dict[str, float]:
    """Each constraint's violation, keyed by metric; <= 0 is feasible."""
    return {c.metric: c.violation(metrics[c.metric]) for c in constraints}


def storage_url(cfg: SweepConfig, override: str | None, root: Path) -> str:
    return override or cfg.storage or f"sqlite:///{(root / DEFAULT_DB).resolve()}"


def make_study(cfg: SweepConfig, storage: str | None):
    import optuna

    # A resumed study must not replay the sampler's stream from the start (its first proposals would
    # repeat trials already run): seed it with the sweep seed plus the number of trials so far, which
    # is still deterministic for a given history.
    try:
        so_far = len(optuna.load_study(study_name=cfg.study, storage=storage).trials) if storage else 0
    except KeyError:  # a new study
        so_far = 0
    # Constraints reach the sampler through trial.set_constraint (Optuna 5; constraints_func is deprecated).
    sampler = optuna.samplers.TPESampler(seed=cfg.seed + so_far, n_startup_trials=cfg.n_startup_trials,
                                         multivariate=True)
    return optuna.create_study(study_name=cfg.study, storage=storage, sampler=sampler, load_if_exists=True,
                               directions=[o.direction for o in cfg.objectives])


# --- one trial ------------------------------------------------------------------------------------

def run_trial(study, cfg: SweepConfig, tracker: Tracker, root: Path, reward_names: list[str],
              out: Path, metrics_path: Path) -> str:
    """Ask, run the DVC experiment, tell (objectives and constraints from ``metrics_path``, the
    evaluate stage's metrics file). Returns the trial's final state name."""
    from optuna.trial import TrialState

    trial = study.ask()
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())
    overrides, used = sample(trial, cfg.space, reward_names)
    name = f"{cfg.study}-{trial.number}"
    trial.set_user_attr("dvc_exp", name)
    trial.set_user_attr("used", used)
    run_id = tracker.start_trial(trial, name, used)
    trial.set_user_attr("mlflow_run_id", run_id)
    env = tool_env({"MLFLOW_TRACKING_URI": tracker.uri, "KARDIA_MLFLOW_PARENT_RUN_ID": run_id})
    log_path = out / f"trial-{trial.number}.log"
    command = ["dvc", "exp", "run", "-n", name, *set_args(cfg.overrides + overrides)]
    with log_path.open("w") as log:
        print(f"[trial {trial.number}] {shlex.join(command)}", file=log, flush=True)
        rc = subprocess.run(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    keys = [o.metric for o in cfg.objectives] + [c.metric for c in cfg.constraints]
    try:
        if rc != 0:
            raise RuntimeError(f"dvc exp run exited {rc}; see {log_path}")
        metrics = read_metrics(metrics_path, keys)
    except RuntimeError as e:
        trial.set_user_attr("error", str(e))
        study.tell(trial, state=TrialState.FAIL)
        tracker.end_trial(run_id, {}, "FAILED")
        print(f"[trial {trial.number}] FAILED: {e}", file=sys.stderr)
        return "FAIL"
    violations = constraint_values(metrics, cfg.constraints)
    for metric, violation in violations.items():
        trial.set_constraint(metric, violation)
    trial.set_user_attr("metrics", metrics)
    study.tell(trial, [metrics[o.metric] for o in cfg.objectives])
    tracker.end_trial(run_id, {**metrics, "feasible": float(all(v <= 0 for v in violations.values()))}, "FINISHED")
    return "COMPLETE"


def check_trial_params(overrides: list[str], space: dict | None = None, trainer_keys: bool = True) -> None:
    """Compose conf/ with a trial's overrides, as `dvc exp run -S` will, and validate the result; a
    ``space`` key that the composed partition rule ignores (a trace threshold under partition=rollouts,
    or the reverse) is refused: its trials would all equal the baseline."""
    import tempfile

    from hydra.errors import HydraException

    from stages.core.config import ConfigError, check_trainer_keys, load_config
    from stages.core.curriculum import ignored_knobs
    from stages.core.params import compose

    with tempfile.TemporaryDirectory() as tmp:
        composed = Path(tmp) / "params.yaml"
        try:
            compose(composed, overrides)
        except HydraException as e:  # an unknown key, bad override syntax: one message, no traceback
            raise ConfigError(f"conf/ does not compose with these overrides: {e}") from None
        params = load_config(composed)
        ignored = ignored_knobs(params.partition, list(space or {}))
        if ignored:
            raise ConfigError("; ".join(f"space.{key}: {why}" for key, why in ignored.items()))
        if trainer_keys:   # the rollout partition's warm-up is a trainer too
            p = params.partition
            warmup = p.rollouts.policy == "bootstrap" and "rollouts" in (p.method, p.reference)
            check_trainer_keys(params, ("sft", "grpo", *(["partition.rollouts.bootstrap"] if warmup else [])))


# --- entry point --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, help="sweep file, e.g. experiments/sweeps/lambda_thresholds.yaml")
    parser.add_argument("--storage", help="Optuna storage URL (default: the file's storage, else sqlite optuna.db)")
    parser.add_argument("--study", help="study name (default: the file's study)")
    parser.add_argument("--n-trials", type=int, help="finished trials wanted (default: the file's n_trials)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the first n trials' dvc commands from an in-memory study; run nothing")
    parser.add_argument("--report-only", action="store_true", help="write and print the outputs; run no trial")
    parser.add_argument("--recover-all-hosts", action="store_true",
                        help="also re-queue RUNNING trials of other machines (one that died) on a shared RDB")
    parser.add_argument("--max-failures", type=int, default=3, help="stop after this many failed trials (default 3)")
    args = parser.parse_args(argv)
    try:
        cfg = load_sweep(args.config)
    except ExperimentConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cfg.study = args.study or cfg.study
    cfg.n_trials = args.n_trials or cfg.n_trials
    root = ROOT
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from stages.core.config import ConfigError, load_config

    params = load_config(root / "params.yaml")
    reward_names = list(params.reward.names)
    metrics_path = root / params.paths.metrics / "evaluate.json"  # paths live in conf/paths only

    if args.dry_run:
        study = make_study(cfg, None)  # in memory: nothing is recorded
        for _ in range(cfg.n_trials):
            trial = study.ask()
            overrides, _used = sample(trial, cfg.space, reward_names)
            try:  # the trial's composed params, validated as its stages will (trainer keys included)
                check_trial_params(cfg.overrides + overrides, cfg.space)
            except ConfigError as e:
                print(f"error: trial {trial.number}: {e}", file=sys.stderr)
                return 2
            print(f"dvc exp run -n {cfg.study}-{trial.number} "
                  + " ".join(f"-S '{o}'" for o in cfg.overrides + overrides))
            study.tell(trial, [0.0] * len(cfg.objectives))
        return 0

    try:  # a space key the trials' partition rule ignores fails now, not after n_trials identical runs
        check_trial_params(cfg.overrides, cfg.space, trainer_keys=False)
    except ConfigError as e:
        print(f"error: {args.config}: {e}", file=sys.stderr)
        return 2
    storage = storage_url(cfg, args.storage, root)
    study = make_study(cfg, storage)
    out = root / OUT_DIR / cfg.study
    out.mkdir(parents=True, exist_ok=True)
    tracker = Tracker(root, study, cfg)
    host = socket.gethostname()
    recovered = recover_interrupted(study, host, args.recover_all_hosts)
    for t in recovered:
        if t.user_attrs.get("mlflow_run_id"):
            tracker.kill_trial(t.user_attrs["mlflow_run_id"])
        if t.user_attrs.get("host") == host:  # another machine's half-run is in that machine's clone
            for line in discard_partial(study, t, root):
                print(f"resumed: trial {t.number}: {line}")
    if recovered:
        print(f"resumed: trial(s) {[t.number for t in recovered]} were interrupted; "
              "queued again with the same parameters")
    print(f"study {cfg.study} in {storage}: {len(finished(study))}/{cfg.n_trials} finished; "
          f"MLflow parent run {tracker.parent_id} in {tracker.uri}")

    if not args.report_only:
        from tqdm import tqdm

        failures = 0
        with tqdm(total=cfg.n_trials, initial=len(finished(study)), desc=f"study {cfg.study}", unit="trial") as bar:
            while len(finished(study)) < cfg.n_trials:
                failures += run_trial(study, cfg, tracker, root, reward_names, out, metrics_path) == "FAIL"
                bar.update(1)
                if failures >= args.max_failures:
                    print(f"error: {failures} trials failed; stopping (see {out}/trial-*.log)", file=sys.stderr)
                    break
    summary, files = write_outputs(study, cfg, out)
    print_summary(summary, cfg)
    best = summary.get("best") or []
    tracker.finish({f"best/{k}": v for k, v in (best[0]["values"] if best else {}).items()}, files)
    print(f"outputs: {', '.join(str(f.relative_to(root)) for f in files if f.exists())}")
    return 0 if summary.get("best") or summary.get("pareto_front") else 1


if __name__ == "__main__":
    raise SystemExit(main())
