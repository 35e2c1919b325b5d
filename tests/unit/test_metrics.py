"""Aggregates and paired comparisons over per-example evaluation rows."""

import pytest

from stages.core.evaluation.metrics import CORPUS, aggregate, compare, score_examples
from stages.core.judges import DIMENSIONS, build_judge


def row(fmt_ok, emo_ok, score, response="I hear you, that is hard."):
    return {"format_ok": fmt_ok, "emotion_ok": emo_ok, "scores": None if score is None else {d: score for d in DIMENSIONS},
            "response": response, "reference": "That sounds hard, I hear you.", "emotion_gold": "sad",
            "emotion_pred": "sad" if emo_ok else None, "rouge_l": 0.5, "response_words": float(len(response.split()))}


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
               "context": "User: My dog died and I feel so sad.", "reference": "I'm so sorry about your dog."}
    good = fmt.render({"understanding": "u", "reasoning": "r", "emotion": " Sad ",
                       "response": "I'm so sorry about your dog. That sounds really painful."})
    scored, broken = score_examples(fmt, build_judge({"backend": "embedded"}), [example, example], [good, "I'm sorry."])
    assert scored["format_ok"] and scored["emotion_ok"] and scored["emotion_pred"] == "sad"
    assert set(scored["scores"]) == set(DIMENSIONS) and not scored["judge_reasons"]   # the embedded judge gives none
    assert scored["response"] == "I'm so sorry about your dog. That sounds really painful."
    assert scored["rouge_l"] > 0.3 and scored["response_words"] == 10
    assert not broken["format_ok"] and not broken["emotion_ok"] and broken["format_error"]
    assert broken["response"] == "I'm sorry."      # unparseable: the raw text is what a user would see


class ManyJudge:
    """The batch interface (score_many -> objects with .scores / .reasons, None = abstained)."""

    class Judgement:
        def __init__(self, scores, reasons):
            self.scores, self.reasons = scores, reasons

    def __init__(self):
        self.items = []

    def score_many(self, items):
        self.items += items
        return [None if "skip" in it["response"] else
                self.Judgement({d: 4 for d in DIMENSIONS}, {d: f"{d} ok" for d in DIMENSIONS}) for it in items]


def test_batch_judge_reasons_and_abstentions_reach_the_rows(fmt):
    example = {"id": "x-t0", "emotion": "sad", "persona": "p", "context": "User: hi", "reference": "Oh no."}
    good = fmt.render({"understanding": "u", "reasoning": "r", "emotion": "sad", "response": "I am here."})
    judge = ManyJudge()
    rows = score_examples(fmt, judge, [example, example], [good, "skip me"])
    assert [it["response"] for it in judge.items] == ["I am here.", "skip me"]   # the visible reply is judged
    assert rows[0]["judge_reasons"]["empathy"] == "empathy ok" and rows[0]["scores"]["safety"] == 4
    assert rows[1]["scores"] is None and rows[1]["judge_reasons"] is None
    agg = aggregate(rows, seed=0)
    assert agg["judge_coverage"] == 0.5 and agg["empathy_coverage"] == 0.5 and agg["empathy"] == 4.0


def test_corpus_metrics_have_intervals_and_paired_differences():
    a = [row(True, i % 2 == 0, 3, response=f"same words again {i % 3}") for i in range(40)]
    b = [row(True, True, 3, response=f"new words {i} every time") for i in range(40)]
    agg_a, agg_b = aggregate(a, seed=0), aggregate(b, seed=0)
    for metric in CORPUS:
        for agg in (agg_a, agg_b):
            assert agg[f"{metric}_low"] <= agg[metric] <= agg[f"{metric}_high"], metric
    assert agg_b["distinct_1"] > agg_a["distinct_1"] and agg_b["emotion_macro_f1"] == 1.0
    diff = compare(a, b, seed=0)
    assert diff["distinct_2_delta"] == pytest.approx(agg_b["distinct_2"] - agg_a["distinct_2"])
    assert diff["distinct_2_delta_low"] > 0 and diff["distinct_2_p"] < 0.01


def test_rows_carry_the_weighted_training_reward(fmt):
    from types import SimpleNamespace

    from stages.core.rewards import rubric_value

    example = {"id": "x-t0", "emotion": "sad", "persona": "p", "context": "User: hi", "reference": "Oh no."}
    right = fmt.render({"understanding": "u", "reasoning": "r", "emotion": "sad", "response": "I am here."})
    wrong = fmt.render({"understanding": "u", "reasoning": "r", "emotion": "angry", "response": "I am here."})
    reward = SimpleNamespace(names=["format", "emotion", "rubric"], weights=[0.2, 0.3, 0.5])
    rows = score_examples(fmt, ManyJudge(), [example] * 4, [right, wrong, "no spans", "skip me"], reward)
    rubric = rubric_value({d: 4 for d in DIMENSIONS})        # 0.75
    assert [r["reward"] for r in rows[:3]] == pytest.approx([0.2 + 0.3 + 0.5 * rubric, 0.2 + 0.5 * rubric, 0.5 * rubric])
    assert rows[3]["reward"] is None                         # the judge abstained: no reward, not a zero
    agg = aggregate(rows, seed=0)
    assert agg["reward"] == pytest.approx(sum(r["reward"] for r in rows[:3]) / 3)
    diff = compare(rows[1:3], rows[:2], seed=0)              # (wrong, no spans) -> (right, wrong)
    assert diff["reward_delta"] == pytest.approx((0.3 + 0.2) / 2)   # emotion, then format gained
    without = score_examples(fmt, ManyJudge(), [example], [right])
    assert without[0].get("reward") is None and "reward" not in aggregate(without, seed=0)


def test_a_registered_reward_reaches_the_evaluation_reward_and_the_judge_is_asked_once(fmt, monkeypatch):
    """Adding a reward is its factory in rewards.REWARDS: the evaluation's reward computes it with no
    edit to this module, and the rubric term replays the judgements already made (no second call)."""
    from types import SimpleNamespace

    from stages.core import rewards

    def make_brevity_reward(fmt, judge, max_failure_rate):
        def brevity(completions, **_):
            return [1.0 if len(fmt.response_text(c).split()) <= 3 else 0.0 for c in completions]
        return brevity

    monkeypatch.setitem(rewards.REWARDS, "brevity", make_brevity_reward)
    example = {"id": "x-t0", "emotion": "sad", "persona": "p", "context": "User: hi", "reference": "Oh no."}
    short = fmt.render({"understanding": "u", "reasoning": "r", "emotion": "sad", "response": "I am here."})
    long = fmt.render({"understanding": "u", "reasoning": "r", "emotion": "sad", "response": "I am here with you."})
    judge = ManyJudge()
    reward = SimpleNamespace(names=["brevity", "rubric"], weights=[0.5, 0.5])
    rows = score_examples(fmt, judge, [example] * 2, [short, long], reward)
    rubric = rewards.rubric_value({d: 4 for d in DIMENSIONS})
    assert [r["reward"] for r in rows] == pytest.approx([0.5 + 0.5 * rubric, 0.5 * rubric])
    assert len(judge.items) == 2    # judged once for the rubric scores; the reward's rubric term replays them


def replies(rows_per_example: list[list[dict]]) -> list[dict]:
    """A sampled row's layout: each example's replies in a row, numbered by ``sample``."""
    return [{**r, "id": i, "sample": j} for i, group in enumerate(rows_per_example) for j, r in enumerate(group)]


def test_several_replies_per_example_are_averaged_per_example():
    rows = replies([[row(True, True, 5), row(True, False, 3)], [row(False, False, None), row(True, True, None)]])
    agg = aggregate(rows, seed=0)
    assert agg["n"] == 2                                   # examples, not replies
    assert agg["judge_coverage"] == 0.5                    # share of replies scored
    assert agg["emotion_acc"] == 0.5 and agg["format_compliance"] == 0.75
    assert agg["empathy"] == 4.0                           # example 0's mean; example 1 has no score


def test_identical_replies_score_like_one_reply():
    """k copies of each greedy reply: every per-example mean and the corpus metrics that do not count
    repeats (macro-F1, BLEU) equal the one-reply values, intervals included (examples are resampled)."""
    one = [{**row(True, i % 3 == 0, 1 + i % 5, response=f"words {i % 7} here"), "id": i} for i in range(40)]
    four = replies([[r] * 4 for r in one])
    agg1, agg4 = aggregate(one, seed=0), aggregate(four, seed=0)
    for key in ("emotion_acc", "empathy", "format_compliance", "emotion_macro_f1", "bleu"):
        for suffix in ("", "_low", "_high"):
            assert agg4[key + suffix] == pytest.approx(agg1[key + suffix]), key + suffix


def test_comparing_sampled_rows_is_paired_by_example_with_the_bootstrap():
    a = replies([[row(False, False, 2), row(True, False, 2)] for _ in range(30)])
    b = replies([[row(True, True, 4), row(True, False, 4)] for _ in range(30)])
    diff = compare(a, b, seed=0)
    assert diff["emotion_acc_delta"] == 0.5 and diff["format_compliance_delta"] == 0.5
    assert diff["emotion_acc_p"] < 0.01 and diff["empathy_delta"] == 2.0
    # fractions of replies are not yes/no outcomes: the p is the bootstrap's, not McNemar's 2 * 0.5**30
    assert diff["emotion_acc_p"] != pytest.approx(2 * 0.5 ** 30)
    with pytest.raises(ValueError, match="same examples"):
        compare(a, b[:-2], seed=0)
