"""Our evaluate metrics beside the paper's reported numbers (experiments/paper_numbers.yaml), as Markdown.

Used by the evaluate stage (reports/paper_vs_ours.md for its own run) and by
``python -m experiments.report`` (the workspace and every DVC experiment). Our rubric scores come from
the configured evaluation judge, not the paper's LLM judge, and the rendering says so.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..judges import DIMENSIONS


class PaperNumbersError(ValueError):
    """experiments/paper_numbers.yaml is unreadable or malformed; the message names file and entry."""


AXES = ("emotion_acc", *DIMENSIONS)
MODEL_NAMES = {"base": "untrained backbone", "sft": "SFT", "grpo": "SFT + GRPO"}
EMBEDDED_NOTE = ("**Not comparable:** our rubric scores come from the `{judge}` judge; the paper's come from "
                 "its evaluation judge ({paper_judge}). Only emotion accuracy is measured the same way (exact match of "
                 "the emotion span), and even it is on {data} data with a {model} backbone.")


def load_paper(path: Path) -> dict:
    try:
        paper = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise PaperNumbersError(f"{path}: cannot read the paper's numbers ({e})") from None
    for key in ("paper", "judge", "systems", "gains"):
        if key not in (paper or {}):
            raise PaperNumbersError(f"{path}: missing top-level key '{key}'")
    for i, entry in enumerate(paper["systems"] + paper["gains"]):
        for key in ("name", "source", "metrics"):
            if key not in entry:
                raise PaperNumbersError(f"{path}: entry {i} ({entry.get('name', '?')}) lacks '{key}'")
        unknown = set(entry["metrics"]) - set(AXES)
        if unknown:
            raise PaperNumbersError(f"{path}: entry '{entry['name']}' has unknown metrics {sorted(unknown)}; "
                             f"known: {list(AXES)}")
    return paper


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
