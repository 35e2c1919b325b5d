"""Per-example scores, their aggregates with 95 % bootstrap intervals, and paired model comparisons.

Rubric dimensions are reported on the paper's 1-5 scale, averaged over the answers the judge scored,
with ``judge_coverage`` (share of answers scored) beside them so a judge outage cannot pass for a
score. Every model is scored on the same examples, so two models are compared *paired*: a paired
bootstrap interval of the difference for every metric, and McNemar's exact test for the binary ones.
"""

from __future__ import annotations

from statistics import mean

from ..format import ResponseFormat
from ..judges import DIMENSIONS
from ..labels import normalize_emotion
from ..rewards import judge_many
from .statistics import bootstrap_ci, mcnemar, paired_bootstrap

METRICS = ("format_compliance", "emotion_acc", *DIMENSIONS)
BINARY = {"format_compliance": "format_ok", "emotion_acc": "emotion_ok"}


def score_examples(fmt: ResponseFormat, judge, examples: list[dict], outputs: list[str]) -> list[dict]:
    """One row per (example, output): format, emotion and the judge's rubric scores (one batch call)."""
    judged = judge_many(judge, fmt, outputs, [ex["persona"] for ex in examples], [ex["context"] for ex in examples])
    return [score_example(fmt, ex, out, j) for ex, out, j in zip(examples, outputs, judged, strict=True)]


def score_example(fmt: ResponseFormat, example: dict, output: str, judgement) -> dict:
    parsed = fmt.parse(output)
    spans = parsed.spans or {}
    predicted = normalize_emotion(spans["emotion"]) if "emotion" in spans else None
    return {
        "id": example["id"],
        "difficulty": example.get("difficulty"),
        "output": output,
        "format_ok": parsed.ok,
        "format_error": parsed.error,
        "spans": spans,
        "emotion_gold": example["emotion"],
        "emotion_pred": predicted,
        "emotion_ok": predicted == example["emotion"],
        "scores": judgement.scores if judgement is not None else None,
        "judge_reasons": judgement.reasons if judgement is not None else None,
    }


def value(row: dict, metric: str) -> float | None:
    """One example's value of ``metric``; None where the judge did not score it."""
    if metric in BINARY:
        return float(row[BINARY[metric]])
    return None if row["scores"] is None else float(row["scores"][metric])


def aggregate(rows: list[dict], seed: int) -> dict[str, float]:
    """Mean and 95 % bootstrap interval of every metric; rubric metrics absent if nothing was scored."""
    if not rows:
        return {}
    out = {"n": float(len(rows)), "judge_coverage": mean(r["scores"] is not None for r in rows)}
    for metric in METRICS:
        values = [v for r in rows if (v := value(r, metric)) is not None]
        if values:
            out[metric], out[f"{metric}_low"], out[f"{metric}_high"] = bootstrap_ci(values, seed=seed)
    return out


def compare(rows_a: list[dict], rows_b: list[dict], seed: int) -> dict[str, float]:
    """Paired differences b - a over the examples both models were scored on (same order)."""
    out = {}
    for metric in METRICS:
        pairs = [(va, vb) for ra, rb in zip(rows_a, rows_b, strict=True)
                 if (va := value(ra, metric)) is not None and (vb := value(rb, metric)) is not None]
        if not pairs:
            continue
        a, b = zip(*pairs)
        diff = paired_bootstrap(a, b, seed=seed)
        out.update({f"{metric}_delta": diff["delta"], f"{metric}_delta_low": diff["low"],
                    f"{metric}_delta_high": diff["high"], f"{metric}_p": diff["p_value"]})
        if metric in BINARY:  # exact test for yes/no outcomes
            out[f"{metric}_p"] = mcnemar([x == 1.0 for x in a], [x == 1.0 for x in b])["p_value"]
    return out
