"""Our evaluation runs beside the paper's reported numbers, as Markdown.

Reads the evaluate stage's metrics (the workspace's metrics/evaluate.json and, with --experiments,
every DVC experiment from `dvc exp show --json`) and experiments/paper_numbers.yaml (the paper's
numbers, each with its source), and prints: the paper's systems and our models on the six axes
(emotion accuracy + five rubric dimensions) with our 95 % intervals; ours minus the paper for the
model that plays each paper system's role; and the paper's per-stage gains beside our paired
differences. Our rubric scores come from the evaluation judge configured for the run (the embedded
lexical judge by default), which is NOT the paper's LLM judge: those columns are not comparable
until the same judge is used.

    python -m experiments.report                                  # workspace run, Markdown to stdout
    python -m experiments.report --experiments -o reports/paper_vs_ours.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

from stages.core.io import write_text
from stages.core.rewards import DIMENSIONS

AXES = ("emotion_acc", *DIMENSIONS)
MODEL_NAMES = {"base": "untrained backbone", "sft": "SFT", "grpo": "SFT + GRPO"}
EMBEDDED_NOTE = ("**Not comparable:** our rubric scores come from the `{judge}` judge; the paper's come from "
                 "its evaluation judge ({paper_judge}). Only emotion accuracy is measured the same way (exact match of "
                 "the emotion span), and even it is on {data} data with a {model} backbone.")


def load_paper(path: Path) -> dict:
    try:
        paper = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise SystemExit(f"error: {path}: cannot read the paper's numbers ({e})") from None
    for key in ("paper", "judge", "systems", "gains"):
        if key not in (paper or {}):
            raise SystemExit(f"error: {path}: missing top-level key '{key}'")
    for i, entry in enumerate(paper["systems"] + paper["gains"]):
        for key in ("name", "source", "metrics"):
            if key not in entry:
                raise SystemExit(f"error: {path}: entry {i} ({entry.get('name', '?')}) lacks '{key}'")
        unknown = set(entry["metrics"]) - set(AXES)
        if unknown:
            raise SystemExit(f"error: {path}: entry '{entry['name']}' has unknown metrics {sorted(unknown)}; "
                             f"known: {list(AXES)}")
    return paper


def workspace_run(metrics_path: Path) -> dict:
    try:
        return {"name": "workspace", "metrics": json.loads(metrics_path.read_text())}
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"error: {metrics_path}: cannot read evaluate metrics ({e}); run `dvc exp run` first") from None


def experiment_runs(metrics_key: str) -> list[dict]:
    """Every DVC experiment's evaluate metrics from `dvc exp show --json` (DVC 3 layout)."""
    try:
        out = subprocess.run(["dvc", "exp", "show", "--json"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"error: `dvc exp show --json` failed: {getattr(e, 'stderr', e)}") from None
    runs = []
    for baseline in json.loads(out):
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs", []):
                data = (rev.get("data") or {}).get("metrics", {}).get(metrics_key, {}).get("data")
                if data:
                    runs.append({"name": rev.get("name") or rev["rev"][:7], "metrics": data})
    return runs


def cell(metrics: dict, key: str) -> str:
    """'value [low, high]' (emotion accuracy in %), or a dash."""
    if key not in metrics:
        return "–"
    pct = key.endswith("emotion_acc")
    f = (lambda v: f"{100 * v:.1f}") if pct else (lambda v: f"{v:.3f}")
    if f"{key}_low" in metrics:
        return f"{f(metrics[key])} [{f(metrics[f'{key}_low'])}, {f(metrics[f'{key}_high'])}]"
    return f(metrics[key])


def paper_cell(metrics: dict, axis: str) -> str:
    if axis not in metrics:
        return "–"
    return f"{100 * metrics[axis]:.2f}" if axis == "emotion_acc" else f"{metrics[axis]:.3f}"


def delta_cell(ours: dict, key: str, paper_value: float | None, scale: float) -> str:
    if key not in ours or paper_value is None:
        return "–"
    d = (ours[key] - paper_value) * scale
    lo, hi = ((ours[f"{key}_low"] - paper_value) * scale, (ours[f"{key}_high"] - paper_value) * scale) \
        if f"{key}_low" in ours else (d, d)
    return f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" if scale == 1 else f"{d:+.1f} [{lo:+.1f}, {hi:+.1f}]"


def render(paper: dict, runs: list[dict], subset: str, judge: str, data: str, model: str) -> str:
    header = "| system | run | " + " | ".join(["emotion acc (%)", *DIMENSIONS]) + " |"
    rule = "|" + "---|" * (len(AXES) + 2)
    lines = [f"# Ours vs the paper ({paper['paper']})", "",
             EMBEDDED_NOTE.format(judge=judge, paper_judge=paper["judge"], data=data, model=model), "",
             (f"Ours: subset `{subset}`, mean [95 % bootstrap interval]. Paper: reported value (no interval "
              "published); sources in the last table."), "",
             "## Six axes", "", header, rule]
    for system in paper["systems"]:
        lines.append(f"| paper: {system['name']} | – | "
                     + " | ".join(paper_cell(system["metrics"], a) for a in AXES) + " |")
    for run in runs:
        for m, label in MODEL_NAMES.items():
            if f"{subset}/{m}/n" in run["metrics"]:
                lines.append(f"| ours: {label} | {run['name']} | "
                             + " | ".join(cell(run["metrics"], f"{subset}/{m}/{a}") for a in AXES) + " |")

    lines += ["", "## Ours minus the paper", "",
              "Difference and the interval of ours shifted by the paper's value (emotion accuracy in points).", "",
              "| paper system | our model | run | " + " | ".join(["emotion acc", *DIMENSIONS]) + " |",
              "|" + "---|" * (len(AXES) + 3)]
    for system in (s for s in paper["systems"] if s.get("ours")):
        for run in runs:
            key = f"{subset}/{system['ours']}"
            if f"{key}/n" not in run["metrics"]:
                continue
            cells = [delta_cell(run["metrics"], f"{key}/{a}", system["metrics"].get(a), 100 if a == "emotion_acc" else 1)
                     for a in AXES]
            lines.append(f"| {system['name']} | {system['ours']} | {run['name']} | " + " | ".join(cells) + " |")

    lines += ["", "## Gains per training stage", "",
              "Paper: reported gain. Ours: paired difference [95 % interval], p.", "",
              "| gain | metric | paper | run | ours |", "|---|---|---|---|---|"]
    for gain in paper["gains"]:
        for axis, value in gain["metrics"].items():
            scale = 100 if axis == "emotion_acc" else 1
            for run in runs:
                k = f"{subset}/{gain['ours']}/{axis}"
                m = run["metrics"]
                ours = "–" if f"{k}_delta" not in m else (
                    f"{scale * m[f'{k}_delta']:+.2f} [{scale * m[f'{k}_delta_low']:+.2f}, "
                    f"{scale * m[f'{k}_delta_high']:+.2f}] p={m[f'{k}_p']:.3f}")
                lines.append(f"| {gain['name']} | {axis}{' (points)' if scale == 100 else ''} | "
                             f"{scale * value:+.2f} | {run['name']} | {ours} |")

    lines += ["", "## Sources of the paper's numbers", "", "| entry | source |", "|---|---|"]
    lines += [f"| {e['name']} | {e['source']} |" for e in paper["systems"] + paper["gains"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="composed config: metrics path, judge, data, model")
    parser.add_argument("--paper", default="experiments/paper_numbers.yaml", help="the paper's numbers (YAML)")
    parser.add_argument("--experiments", action="store_true", help="add every DVC experiment (dvc exp show --json)")
    parser.add_argument("--subset", default="eval", choices=["eval", "eval_hard", "eval_easy"])
    parser.add_argument("-o", "--output", help="write the Markdown here instead of stdout")
    args = parser.parse_args(argv)
    from stages.core.config import ConfigError, load_config

    try:
        cfg = load_config(args.params)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    metrics_path = Path(cfg.paths.metrics) / "evaluate.json"
    runs = [workspace_run(metrics_path)]
    if args.experiments:
        runs += experiment_runs(metrics_path.as_posix())
    text = render(load_paper(Path(args.paper)), runs, args.subset, cfg.judge.backend, cfg.data.source, cfg.model.name)
    if args.output:
        write_text(args.output, text)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
