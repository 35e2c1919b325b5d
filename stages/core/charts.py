"""The pipeline's plots as PNG images, for ``dvc plots show``.

DVC draws CSV/JSON plots with Vega, which its HTML page loads from a CDN: offline, only images
render. So each stage draws its series with matplotlib beside the data (the CSV/JSON stays, for
``dvc plots show <file>`` online or any other tool), and dvc.yaml's top-level ``plots`` lists the
images only: one entry per picture, none declared twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .io import atomic_path

DPI = 100


def figure(size=(6.4, 3.6), **subplot_kw):
    """A new figure with one axes (``subplot_kw``: e.g. ``projection="polar"``), on matplotlib's Agg
    backend: stages and sweeps run headless, where an interactive backend would fail or hang."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size, subplot_kw=subplot_kw or None)


def save_png(fig, path: str | Path, dpi: int = DPI, crop: bool = False) -> None:
    """``fig`` as a PNG at ``path``, written atomically (a killed run leaves no half image for DVC to
    cache), then closed (pyplot keeps every open figure alive). ``crop``: cut the image to what is
    drawn (``bbox_inches="tight"``: a legend placed outside the axes stays in) instead of fitting the
    axes into the figure (``tight_layout``)."""
    import matplotlib.pyplot as plt

    if not crop:
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight" if crop else None)
    plt.close(fig)


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def line_png(rows: Sequence[dict], x: str, ys: Sequence[str], path: str | Path, title: str,
             empty: str = "no logged steps") -> None:
    """One line per column of ``ys`` over ``x``; a column's empty cells are skipped; with no data
    at all (a disabled stage) the picture says ``empty``, so the declared output still exists."""
    fig, ax = figure()
    drawn = 0
    for y in ys:
        points = [(_number(r.get(x)), _number(r.get(y))) for r in rows]
        points = [(a, b) for a, b in points if a is not None and b is not None]
        if points:
            ax.plot(*zip(*points, strict=True), marker="." if len(points) < 30 else None, label=y)
            drawn += 1
    if drawn:
        ax.set_xlabel(x)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    save_png(fig, path)


def bar_png(rows: Sequence[dict], label: str, value: str, path: str | Path, title: str) -> None:
    """Horizontal bars: ``value`` per ``label`` (partition: dialogues per resolution-rate bin)."""
    fig, ax = figure()
    labels = [str(r[label]) for r in rows]
    ax.barh(range(len(rows)), [_number(r[value]) or 0.0 for r in rows])
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_xlabel(value)
    ax.set_ylabel(label)
    ax.set_title(title, fontsize=10)
    save_png(fig, path)


def confusion_png(records: Sequence[dict], path: str | Path, title: str) -> None:
    """The confusion matrix of ``{actual, predicted}`` records (DVC's confusion template's data)."""
    fig, ax = figure(size=(6.4, 5.6))
    actual = sorted({r["actual"] for r in records})
    predicted = actual + sorted({r["predicted"] for r in records} - set(actual))
    counts = Counter((r["actual"], r["predicted"]) for r in records)
    grid = [[counts[(a, p)] for p in predicted] for a in actual]
    image = ax.imshow(grid or [[0]], cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(predicted)), predicted, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(actual)), actual, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    fig.colorbar(image, ax=ax, fraction=0.04)
    ax.set_title(title, fontsize=10)
    save_png(fig, path)
