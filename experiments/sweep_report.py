"""What a sweep reports: the best feasible trial (or the Pareto front of a multi-objective study),
best.json, trials.csv, the parameter importance chart and the Pareto chart (experiments/sweep.py runs it)."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from experiments.sweep_resume import finished

if TYPE_CHECKING:
    from experiments.sweep import Objective, SweepConfig


def feasible(trial) -> bool:
    return all(v <= 0 for v in trial.constraints.values())


def dominates(a: list[float], b: list[float], objectives: list[Objective]) -> bool:
    sign = [1 if o.direction == "maximize" else -1 for o in objectives]
    better_or_equal = all(s * x >= s * y for s, x, y in zip(sign, a, b, strict=True))
    return better_or_equal and any(s * x > s * y for s, x, y in zip(sign, a, b, strict=True))


def pareto_front(trials: list, objectives: list[Objective]) -> list:
    return [t for t in trials if not any(dominates(o.values, t.values, objectives) for o in trials if o is not t)]


def best_trials(study, cfg: SweepConfig) -> list:
    """Feasible completed trials: the single best one, or the Pareto front."""
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if feasible(t)]
    if not done:
        return []
    if len(cfg.objectives) == 1:
        pick = max if cfg.objectives[0].direction == "maximize" else min
        return [pick(done, key=lambda t: t.values[0])]
    return sorted(pareto_front(done, cfg.objectives), key=lambda t: t.number)


def describe(t, cfg: SweepConfig) -> dict:
    return {"trial": t.number, "dvc_exp": t.user_attrs.get("dvc_exp"), "params": t.user_attrs.get("used", {}),
            "values": dict(zip((o.metric for o in cfg.objectives), t.values, strict=True)),
            "metrics": t.user_attrs.get("metrics", {})}


def importance_plot(study, cfg: SweepConfig, path: Path) -> dict[str, float] | None:
    """Importance of each sampled parameter for the first objective (Optuna's default evaluator), as a bar chart."""
    import optuna
    from optuna.trial import TrialState

    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 2:
        return None
    # Optuna 5's default evaluator (PED-ANOVA) explains what reaches *low* target values: negate a maximised one.
    sign = -1.0 if cfg.objectives[0].direction == "maximize" else 1.0
    with warnings.catch_warnings():  # its "computes importances for low target" notice: handled by `sign`
        warnings.simplefilter("ignore", UserWarning)
        importances = optuna.importance.get_param_importances(study, target=lambda t: sign * t.values[0])
    from stages.core.charts import figure, save_png

    names = list(importances)[::-1]
    fig, ax = figure(size=(6, 0.4 * len(names) + 1.2))
    ax.barh(names, [importances[n] for n in names])
    ax.set_xlabel(f"importance for {cfg.objectives[0].direction} {cfg.objectives[0].metric} (PED-ANOVA)")
    ax.set_title(f"study {cfg.study}")
    save_png(fig, path, dpi=120)
    return dict(importances)


def pareto_plot(study, cfg: SweepConfig, front: list, path: Path) -> None:
    from optuna.trial import TrialState

    from stages.core.charts import figure, save_png

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    fig, ax = figure(size=(5.5, 4.5))
    for group, style in (([t for t in done if not feasible(t)], {"c": "lightgray", "label": "infeasible"}),
                         ([t for t in done if feasible(t)], {"c": "tab:blue", "label": "feasible"})):
        ax.scatter([t.values[0] for t in group], [t.values[1] for t in group], **style)
    front = sorted(front, key=lambda t: t.values[0])
    ax.plot([t.values[0] for t in front], [t.values[1] for t in front], "o-", c="tab:red", label="Pareto front")
    ax.set_xlabel(cfg.objectives[0].metric)
    ax.set_ylabel(cfg.objectives[1].metric)
    ax.legend()
    save_png(fig, path, dpi=120)


def write_outputs(study, cfg: SweepConfig, out: Path) -> tuple[dict, list[Path]]:
    from stages.core.io import write_json

    best = best_trials(study, cfg)
    files = [out / "best.json", out / "trials.csv"]
    summary = {"study": cfg.study, "objectives": [vars(o) for o in cfg.objectives],
               "constraints": [vars(c) for c in cfg.constraints], "n_finished": len(finished(study)),
               "best" if len(cfg.objectives) == 1 else "pareto_front": [describe(t, cfg) for t in best]}
    importances = importance_plot(study, cfg, out / "importance.png")
    if importances is not None:
        summary["importance"] = importances
        files.append(out / "importance.png")
    if len(cfg.objectives) > 1 and best:
        pareto_plot(study, cfg, best, out / "pareto.png")
        files.append(out / "pareto.png")
    write_json(out / "best.json", summary)
    with (out / "trials.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["trial", "state", "dvc_exp", "feasible", "values", "params"])
        for t in study.get_trials(deepcopy=False):
            writer.writerow([t.number, t.state.name, t.user_attrs.get("dvc_exp"), feasible(t) if t.values else "",
                             json.dumps(t.values), json.dumps(t.user_attrs.get("used", t.params))])
    return summary, files


def print_summary(summary: dict, cfg: SweepConfig) -> None:
    rows = summary.get("best") or summary.get("pareto_front") or []
    title = "best feasible trial" if "best" in summary else "Pareto front (feasible trials)"
    print(f"\nstudy {cfg.study}: {summary['n_finished']} finished trials; {title}:")
    if not rows:
        print("  no feasible trial yet")
    for r in rows:
        values = ", ".join(f"{k}={v:.4g}" for k, v in r["values"].items())
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["params"].items())
        print(f"  trial {r['trial']} (dvc exp {r['dvc_exp']}): {values}\n    {params}")
    if "importance" in summary:
        print("  importance: " + ", ".join(f"{k}={v:.2f}" for k, v in summary["importance"].items()))
