"""Per-example scores and their aggregates: format compliance, emotion accuracy, rubric scores.

Rubric dimensions are reported on the paper's 1-5 scale, averaged over the answers the judge scored,
with ``coverage`` (share of answers scored) beside them so a judge outage cannot pass for a score.
"""

from __future__ import annotations

from statistics import mean

from ..format import ResponseFormat
from ..labels import normalize_emotion
from ..rewards import DIMENSIONS, judge_scores


def score_example(fmt: ResponseFormat, judge, example: dict, output: str) -> dict:
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
        "scores": judge_scores(judge, fmt, output, example["persona"], example["context"]),
    }


def aggregate(rows: list[dict]) -> dict[str, float]:
    """Means over ``rows``; rubric means over the scored rows only, absent when the judge scored none."""
    if not rows:
        return {}
    scored = [r["scores"] for r in rows if r["scores"] is not None]
    out = {
        "n": float(len(rows)),
        "format_compliance": mean(r["format_ok"] for r in rows),
        "emotion_acc": mean(r["emotion_ok"] for r in rows),
        "judge_coverage": len(scored) / len(rows),
    }
    if scored:
        out.update({d: mean(s[d] for s in scored) for d in DIMENSIONS})
    return out
