"""The seed spread the regression tolerances are derived from.

A run on another CPU (other kernels, another thread count) changes training like a new seed does, so
a tolerance below the seed-to-seed spread fails CI on hardware it has never seen. ``record`` reads
the runs of one ablation-table row over its seeds from ``dvc exp show`` and keeps, per checked
metric, the values and their sample standard deviation; ``tolerances.yaml`` then sets a rule's
tolerance to ``max(tol, k × sd)``.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from experiments.dvcexp import ExperimentConfigError


def record(table, row: str, exps, metrics: dict[str, list[str]]) -> dict:
    """{source, seeds, values, sd} for ``metrics`` (stage -> keys) over the seeds of ``table``'s
    ``row`` that ran; at least two seeds are needed for a standard deviation."""
    runs: dict[int, dict[str, dict]] = {}
    for seed in table.seeds:
        name = table.exp_name(row, seed)
        # `dvc exp show` lists newest first (HEAD before older baselines): keep the first of a name
        exp = next((e for e in exps if e.name == name), None)
        if exp is not None:
            runs[seed] = {Path(path).stem: values for path, values in exp.by_file.items()}
    if len(runs) < 2:
        raise ExperimentConfigError(f"{table.name}/{row}: {len(runs)} of seeds {table.seeds} found in "
                                    f"`dvc exp show`; run `python -m experiments.ablations {table.name}` first")
    values, sd = {}, {}
    for stage, keys in metrics.items():
        for key in keys:
            got = [float(r[stage][key]) for r in runs.values() if key in r.get(stage, {})]
            if len(got) != len(runs):
                raise ExperimentConfigError(f"{table.name}/{row}: {stage}/{key} missing in some seeds' metrics")
            values.setdefault(stage, {})[key] = got
            sd.setdefault(stage, {})[key] = statistics.stdev(got)
    return {"source": f"{table.name}/{row}", "seeds": sorted(runs), "values": values, "sd": sd}


def sd_of(spread: dict | None, stage: str, metric: str, source: Path) -> float:
    try:
        return float(spread["sd"][stage][metric])
    except (TypeError, KeyError):
        raise ExperimentConfigError(f"{source}: no seed sd for {stage}/{metric}: record it with "
                                    "`python -m experiments.regression --record-spread`") from None
