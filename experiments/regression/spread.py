"""The seed spread the regression tolerances are derived from.

A run on another CPU (other kernels, another thread count) changes training like a new seed does, so
a tolerance below the seed-to-seed spread fails CI on hardware it has never seen. ``record`` reads
the runs of an ablation table's rows over their seeds from ``dvc exp show`` and keeps, per checked
metric, the values and the seed standard deviation pooled over the rows (the root of the summed
squared deviations from each row's own mean over the summed degrees of freedom: rows that change
the reward share one noise level, and three seeds alone would give an sd with 2 degrees of
freedom); ``tolerances.yaml`` then sets a rule's tolerance to ``max(tol, k × sd)``. Rows that share
a stage (every row of a reward table restores the same SFT) repeat its metrics' values exactly: those
count once. Each recorded file is one machine's runs; ``merge`` pools the files the tolerances list,
since one machine's seeds can agree more closely than two machines do (AMD EPYC: SFT emotion sd
0.008 over seeds 42-44, while seed 42 gave 0.702-0.765 on two CPUs).
"""

from __future__ import annotations

import datetime
import math
import platform
import statistics
from pathlib import Path

from experiments.dvcexp import ExperimentConfigError


def row_runs(table, row: str, exps) -> dict[int, dict[str, dict]]:
    """seed -> {stage: metrics} of one row's runs that ``dvc exp show`` lists."""
    runs = {}
    for seed in table.seeds:
        # `dvc exp show` lists newest first (HEAD before older baselines): keep the first of a name
        exp = next((e for e in exps if e.name == table.exp_name(row, seed) and e.finished), None)
        if exp is not None:
            runs[seed] = {Path(path).stem: values for path, values in exp.by_file.items()}
    return runs


def record(table, rows: list[str], exps, metrics: dict[str, list[str]]) -> dict:
    """{source, rows, seeds, values, sd, dof} for ``metrics`` (stage -> keys), the sd pooled over
    ``rows``; every row needs at least two seeds."""
    found = {row: row_runs(table, row, exps) for row in rows}
    for row, runs in found.items():
        if len(runs) < 2:
            raise ExperimentConfigError(f"{table.name}/{row}: {len(runs)} of seeds {table.seeds} found in "
                                        f"`dvc exp show`; run `python -m experiments.ablations {table.name}` first")
    values: dict = {}
    for stage, keys in metrics.items():
        for key in keys:
            for row, runs in found.items():
                got = [float(r[stage][key]) for r in runs.values() if key in r.get(stage, {})]
                if len(got) != len(runs):
                    raise ExperimentConfigError(f"{table.name}/{row}: {stage}/{key} missing in some seeds' metrics")
                values.setdefault(stage, {}).setdefault(key, {})[row] = got
    return {"source": table.name, "cpu": cpu_model(), "recorded": datetime.date.today().isoformat(), "rows": rows,
            "seeds": sorted({s for runs in found.values() for s in runs}), "values": values,
            **merge([{"values": values}])}


def summary(sources: list[dict]) -> dict:
    """{sd, dof} per stage and metric, pooled over every source's groups (stage -> metric -> groups)."""
    sd: dict = {}
    dof: dict = {}
    for stage in {s for source in sources for s in source}:
        for key in {k for source in sources for k in source.get(stage, {})}:
            groups = distinct([g for source in sources for g in source.get(stage, {}).get(key, [])])
            sd.setdefault(stage, {})[key] = pooled_sd(groups)
            dof.setdefault(stage, {})[key] = sum(len(g) - 1 for g in groups)
    return {"sd": sd, "dof": dof}


def merge(recorded: list[dict]) -> dict:
    """The spread of several recorded files (machines) pooled: each file's row groups, counted once."""
    return summary([{stage: {key: list(by_row.values()) for key, by_row in keys.items()}
                     for stage, keys in r["values"].items()} for r in recorded])


def distinct(groups: list[list[float]]) -> list[list[float]]:
    """Groups with repeats dropped: rows that share a stage's outputs give its metrics identical values."""
    out: list[list[float]] = []
    for g in groups:
        if g not in out:
            out.append(g)
    return out


def pooled_sd(groups: list[list[float]]) -> float:
    """The seed sd pooled over groups (rows): sqrt(Σ squared deviations from each group's own mean /
    Σ (n - 1)); groups of one value add nothing. NaN when no group has two values."""
    dof = sum(len(g) - 1 for g in groups if g)
    if dof == 0:
        return math.nan
    return math.sqrt(sum((v - statistics.mean(g)) ** 2 for g in groups if g for v in g) / dof)


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), for the record of where a spread was measured."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def sd_of(spread: dict | None, stage: str, metric: str, source: Path) -> float:
    try:
        return float(spread["sd"][stage][metric])
    except (TypeError, KeyError):
        raise ExperimentConfigError(f"{source}: no seed sd for {stage}/{metric}: record it with "
                                    "`python -m experiments.regression --record-spread`") from None
