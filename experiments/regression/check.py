"""CI regression check: compare metrics/<stage>.json with a committed baseline under stated tolerances.

    python -m experiments.regression            # after `dvc repro`; exit 1 on a regression or a missing metric
    python -m experiments.regression --update   # accept the current metrics as the new baseline

    python -m experiments.regression --record-spread seed_spread
                                                # the seed sd of every checked metric, pooled over that
                                                # table's rows (TABLE/ROW: one row only)

Rules (expect higher / lower / equal, absolute tol, k × seed sd, k from a family-wise false-alarm
chance) live in experiments/regression/tolerances.yaml, the values in
experiments/regression/baseline.json, the seed spread per machine in experiments/regression/seed_spread/
(pooled). Prints a diff table either way.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from experiments.dvcexp import ROOT, ExperimentConfigError, load_yaml, require
from experiments.regression import spread as seed_spread

HERE = Path(__file__).resolve().parent
EXPECTS = ("higher", "lower", "equal")


@dataclass
class Check:
    stage: str
    metric: str
    expect: str
    tol: float                # the tolerance applied: max(floor, k × sd)
    k: float | None = None    # multiple of the seed sd, when the rule has one
    sd: float | None = None

    @property
    def rule(self) -> str:
        derived = f" (≥ {self.k:.3g} × sd {self.sd:.3g})" if self.k is not None else ""
        return self.expect + (f" ±{self.tol:.3g}" if self.tol else "") + derived

    def status(self, baseline: float, current: float | None) -> str:
        if current is None:
            return "MISSING"
        delta = current - baseline
        if self.expect == "equal":
            return "ok" if abs(delta) <= self.tol else "REGRESSED"
        sign = 1 if self.expect == "higher" else -1
        if sign * delta < -self.tol:
            return "REGRESSED"
        return "better" if sign * delta > self.tol else "ok"


def family_k(false_alarm: float, rules: int, two_sided: bool = False) -> float:
    """The k for ``k: auto``: a run that differs from the baseline's only as a new seed would fails any
    of ``rules`` such checks with chance ``false_alarm`` at most (Bonferroni). Each check compares two
    draws with seed sd σ, whose difference has sd √2·σ, so k = √2 · z(1 − false_alarm / rules), with
    the one-sided z for expect higher/lower and the two-sided one for equal. σ is taken as known."""
    tail = false_alarm / rules / (2 if two_sided else 1)
    return math.sqrt(2) * statistics.NormalDist().inv_cdf(1 - tail)


def load_checks(path: Path, spread: dict | None = None) -> list[Check]:
    """The rules of ``path``; a rule with ``k`` gets tol = max(tol, k × the seed sd in ``spread``),
    ``k: auto`` the k of ``family_k`` for the file's ``false_alarm`` over all its ``auto`` rules."""
    doc = load_yaml(path) or {}
    raw = require(doc, "checks", dict, path)
    rules = [(stage, metric, rule or {}) for stage, metrics in raw.items() for metric, rule in (metrics or {}).items()]
    auto = sum(rule.get("k") == "auto" for _, _, rule in rules)
    false_alarm = doc.get("false_alarm")
    if auto and not (isinstance(false_alarm, (int, float)) and 0 < false_alarm < 1):
        raise ExperimentConfigError(f"{path}: key 'false_alarm': `k: auto` needs a chance in (0, 1), got {false_alarm!r}")
    checks = []
    for stage, metric, rule in rules:
        key = f"checks.{stage}.{metric}"
        expect = rule.get("expect")
        if expect not in EXPECTS:
            raise ExperimentConfigError(f"{path}: key '{key}.expect': {expect!r} is not one of {EXPECTS}")
        tol = rule.get("tol", 0.0)
        if not isinstance(tol, (int, float)) or tol < 0:
            raise ExperimentConfigError(f"{path}: key '{key}.tol': must be a number >= 0, got {tol!r}")
        k = rule.get("k")
        if k is None:
            checks.append(Check(stage, metric, expect, float(tol)))
            continue
        if k == "auto":
            k = family_k(false_alarm, auto, two_sided=expect == "equal")
        if not isinstance(k, (int, float)) or k <= 0:
            raise ExperimentConfigError(f"{path}: key '{key}.k': must be a number > 0 or auto, got {k!r}")
        sd = seed_spread.sd_of(spread, stage, metric, path)
        checks.append(Check(stage, metric, expect, max(float(tol), k * sd), float(k), sd))
    return checks


def spread_files(tolerances: Path) -> list[Path]:
    """The seed-spread files the tolerances name (key ``spread``: one file or a list, one per machine,
    relative to the tolerances file); ``--record-spread`` writes the first."""
    names = (load_yaml(tolerances) or {}).get("spread") or []
    return [tolerances.parent / name for name in ([names] if isinstance(names, str) else names)]


def load_spread(tolerances: Path) -> dict | None:
    """The recorded spread of every listed file that exists, pooled (spread.merge); None where none is."""
    recorded = [json.loads(path.read_text()) for path in spread_files(tolerances) if path.exists()]
    return seed_spread.merge(recorded) if recorded else None


def record_spread(tolerances: Path, source: str) -> Path:
    """Write the seed spread of every metric a rule scales by k, from the runs of ``table[/row]``
    (all the table's rows, pooled, when no row is named), into the first file of ``spread``."""
    from experiments.ablations import load_table
    from experiments.dvcexp import exp_show

    name, _, row = source.partition("/")
    table = load_table(name)
    if row and row not in table.experiments:
        raise ExperimentConfigError(f"--record-spread {source}: {row!r} is not a row of table {name!r}")
    scaled = {}
    for stage, metrics in require(load_yaml(tolerances), "checks", dict, tolerances).items():
        for metric, rule in (metrics or {}).items():
            if (rule or {}).get("k") is not None:
                scaled.setdefault(stage, []).append(metric)
    from stages.core.io import write_json

    paths = spread_files(tolerances)
    if not paths:
        raise ExperimentConfigError(f"{tolerances}: key 'spread': name the file the seed spread goes to")
    path = paths[0]
    write_json(path, seed_spread.record(table, [row] if row else table.experiments, exp_show(ROOT), scaled))
    return path


def read_stage_metrics(metrics_dir: Path, stages: set[str]) -> dict[str, dict[str, float]]:
    out = {}
    for stage in stages:
        path = metrics_dir / f"{stage}.json"
        out[stage] = json.loads(path.read_text()) if path.exists() else {}
    return out


def compare(checks: list[Check], baseline: dict, current: dict) -> list[dict]:
    rows = []
    for c in checks:
        if c.metric not in baseline.get(c.stage, {}):
            raise ExperimentConfigError(f"baseline has no {c.stage}/{c.metric}: run with --update after a reviewed run")
        base = float(baseline[c.stage][c.metric])
        value = current.get(c.stage, {}).get(c.metric)
        value = None if value is None else float(value)
        rows.append({"stage": c.stage, "metric": c.metric, "baseline": base, "current": value,
                     "delta": None if value is None else value - base,
                     "rule": c.rule, "status": c.status(base, value)})
    return rows


def table(rows: list[dict]) -> str:
    def num(v):
        return "–" if v is None else f"{v:.6g}"

    lines = ["| stage | metric | baseline | current | Δ | rule | status |", "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        delta = "–" if r["delta"] is None else f"{r['delta']:+.4g}"
        lines.append(f"| {r['stage']} | {r['metric']} | {num(r['baseline'])} | {num(r['current'])} | {delta} "
                     f"| {r['rule']} | {r['status']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.regression", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics-dir", type=Path, help="where <stage>.json are (default: paths.metrics of params.yaml)")
    parser.add_argument("--baseline", type=Path, default=HERE / "baseline.json")
    parser.add_argument("--tolerances", type=Path, default=HERE / "tolerances.yaml")
    parser.add_argument("--update", action="store_true", help="write the current metrics as the baseline")
    parser.add_argument("--record-spread", metavar="TABLE[/ROW]",
                        help="write the seed sd of the k-scaled metrics from the runs of an ablation table, "
                             "pooled over its rows (or of one row, TABLE/ROW), e.g. seed_spread")
    args = parser.parse_args(argv)
    if args.record_spread:
        try:
            path = record_spread(args.tolerances, args.record_spread)
        except ExperimentConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"wrote {path} from {args.record_spread}")
        return 0
    if args.metrics_dir is None:
        from stages.core.config import load_config

        args.metrics_dir = ROOT / load_config(ROOT / "params.yaml").paths.metrics
    try:
        checks = load_checks(args.tolerances, load_spread(args.tolerances))
        current = read_stage_metrics(args.metrics_dir, {c.stage for c in checks})
        if args.update:
            missing = [f"{c.stage}/{c.metric}" for c in checks if c.metric not in current[c.stage]]
            if missing:
                raise ExperimentConfigError(f"{args.metrics_dir}: no {missing}: run the pipeline first")
            from stages.core.io import write_json

            write_json(args.baseline, {s: {c.metric: current[s][c.metric] for c in checks if c.stage == s}
                                       for s in sorted({c.stage for c in checks})})
            print(f"wrote {args.baseline} from {args.metrics_dir}")
            return 0
        rows = compare(checks, json.loads(args.baseline.read_text()), current)
    except (ExperimentConfigError, FileNotFoundError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(table(rows))
    bad = [r for r in rows if r["status"] in ("REGRESSED", "MISSING")]
    if bad:
        print(f"\nregression: {len(bad)} of {len(rows)} checks failed: "
              + ", ".join(f"{r['stage']}/{r['metric']} ({r['status']})" for r in bad), file=sys.stderr)
        return 1
    print(f"\nno regression: {len(rows)} checks within tolerance of {args.baseline.name}")
    return 0

