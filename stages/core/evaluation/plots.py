"""Pictures of the evaluate stage: the six-axis radar of the paper's figure, as a PNG for DVC.

DVC's plot templates have no radar, so it is drawn with matplotlib and declared as an image plot.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..charts import figure, save_png
from .metrics import RADAR_AXES

LABELS = {"emotion_acc": "emotion acc.", "relevance": "relevance", "fluency": "fluency",
          "empathy": "empathy", "persona": "persona\nconsistency", "safety": "safety"}


def radar_value(metric: str, value: float) -> float:
    """Every axis on [0, 1]: accuracy as is, a 1-5 rubric score as (s - 1) / 4."""
    return value if metric == "emotion_acc" else (value - 1.0) / 4.0


def radar_png(means: dict[str, dict[str, float]], path: str | Path, title: str) -> None:
    """``means[model][axis]``: one polygon per model over ``RADAR_AXES`` (a missing axis plots at 0)."""
    angles = [2 * math.pi * i / len(RADAR_AXES) for i in range(len(RADAR_AXES))]
    fig, ax = figure(size=(6, 6), projection="polar")
    for model, values in means.items():
        r = [radar_value(a, values[a]) if a in values else 0.0 for a in RADAR_AXES]
        ax.plot([*angles, angles[0]], [*r, r[0]], linewidth=1.8, label=model)
        ax.fill([*angles, angles[0]], [*r, r[0]], alpha=0.12)
    ax.set_xticks(angles, [LABELS[a] for a in RADAR_AXES])
    ax.set_ylim(0, 1)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0], ["", "", "", ""])
    ax.set_title(title, fontsize=10, pad=18)
    ax.legend(loc="upper right", bbox_to_anchor=(1.25, 1.12), fontsize=9)
    fig.text(0.5, 0.02, "emotion accuracy in [0, 1]; rubric scores 1-5 mapped to (s - 1) / 4",
             ha="center", fontsize=8)
    save_png(fig, path, dpi=110, crop=True)   # the legend sits outside the polar axes
