"""Aggregates and paired comparisons over per-example evaluation rows."""

import pytest

from stages.core.evaluation.metrics import aggregate, compare, score_examples
from stages.core.judges import DIMENSIONS, build_judge


def row(fmt_ok, emo_ok, score):
    return {"format_ok": fmt_ok, "emotion_ok": emo_ok, "scores": None if score is None else {d: score for d in DIMENSIONS}}


def test_aggregate_means_intervals_and_coverage():
    rows = [row(True, True, 5), row(True, False, 3), row(False, False, None), row(True, True, 4)]
    agg = aggregate(rows, seed=0)
    assert agg["n"] == 4 and agg["judge_coverage"] == 0.75
    assert agg["format_compliance"] == 0.75 and agg["emotion_acc"] == 0.5
    assert agg["empathy"] == pytest.approx(4.0)          # over the three scored rows only
    for key in ("format_compliance", "emotion_acc", "empathy"):
        assert agg[f"{key}_low"] <= agg[key] <= agg[f"{key}_high"]


def test_no_judged_rows_means_no_rubric_score_not_a_fake_one():
    agg = aggregate([row(True, True, None)] * 3, seed=0)
    assert agg["judge_coverage"] == 0.0 and "empathy" not in agg


def test_compare_is_paired_and_signed():
    a = [row(False, False, 2)] * 30
    b = [row(True, True, 4)] * 30
    diff = compare(a, b, seed=0)
    assert diff["format_compliance_delta"] == 1.0 and diff["emotion_acc_delta"] == 1.0
    assert diff["empathy_delta"] == 2.0
    assert diff["emotion_acc_p"] == pytest.approx(2 * 0.5 ** 30)   # McNemar: 30 discordant, all one way
    same = compare(a, a, seed=0)
    assert same["emotion_acc_delta"] == 0 and same["emotion_acc_p"] == 1.0


def test_score_example_parses_and_judges(fmt):
    example = {"id": "x-t0", "difficulty": "hard", "emotion": "sad", "persona": "MBTI: INFP\\nAbout: I'm a baker.",
               "context": "User: My dog died and I feel so sad."}
    good = fmt.render({"understanding": "u", "reasoning": "r", "emotion": " Sad ",
                       "response": "I'm so sorry about your dog. That sounds really painful."})
    scored, broken = score_examples(fmt, build_judge("embedded"), [example, example], [good, "I'm sorry."])
    assert scored["format_ok"] and scored["emotion_ok"] and scored["emotion_pred"] == "sad"
    assert set(scored["scores"]) == set(DIMENSIONS)
    assert not broken["format_ok"] and not broken["emotion_ok"] and broken["format_error"]
