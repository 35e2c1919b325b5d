"""Reward functions in TRL's contract, as tables of hand-written completions."""

import pytest

from stages.core.judges import DIMENSIONS, Judgement, build_judge
from stages.core.judges.usage import Usage
from stages.core.rewards import (
    JudgeFailureRateExceeded,
    build_reward_funcs,
    make_emotion_reward,
    make_format_reward,
    make_rubric_reward,
    rubric_value,
)

PERSONA = ("MBTI: ISFJ\nAbout: I'm a pediatric nurse who bakes sourdough on weekends.\n"
           "Signature: Kindness is free.\nRecent Activities: Adopted a cat named Miso; started night shifts.")
CONTEXT = "User: Night shifts are wearing me down and I feel so drained and sad lately."
GOOD = ("<|understanding_begin|>A pediatric nurse worn down by night shifts.<|understanding_end|>"
        "<|reasoning_begin|>As a caring ISFJ she gives a lot and needs rest.<|reasoning_end|>"
        "<|emotion_begin|>sad<|emotion_end|>"
        "<|response_begin|>I'm sorry the night shifts are draining you. That sounds really hard. "
        "Could a slow sourdough morning with Miso help you recover?<|response_end|>")


def conv(text):
    return [{"role": "assistant", "content": text}]


@pytest.mark.parametrize("completion, expected", [
    (GOOD, 1.0),
    (GOOD.replace("<|emotion_begin|>sad<|emotion_end|>", ""), 0.0),             # a span missing
    (GOOD.replace("<|reasoning_end|>", ""), 0.0),                              # unclosed span
    (GOOD.replace(">sad<", "> <"), 0.0),                                       # empty span
    (GOOD + " P.S. hi", 0.0),                                                  # text after the turn
    ("I'm sorry you feel sad.", 0.0),                                          # plain text
    (GOOD.replace("<|understanding_begin|>", "<understanding>").replace("<|understanding_end|>", "</understanding>"), 1.0),
])
def test_format_reward(fmt, completion, expected):
    assert make_format_reward(fmt)(completions=[conv(completion)]) == [expected]
    assert make_format_reward(fmt)(completions=[completion]) == [expected]  # plain-text completions too


@pytest.mark.parametrize("completion, gold, expected", [
    (GOOD, "sad", 1.0),
    (GOOD.replace(">sad<", "> Sad \n<"), "sad", 1.0),       # case and whitespace normalised
    (GOOD, "lonely", 0.0),
    (GOOD.replace(">sad<", ">very sad<"), "sad", 0.0),      # exact match, not containment
    (GOOD.replace("<|response_end|>", ""), "sad", 0.0),     # malformed turn earns nothing
])
def test_emotion_reward(fmt, completion, gold, expected):
    assert make_emotion_reward(fmt)(completions=[conv(completion)], emotion=[gold]) == [expected]


def test_rubric_reward_in_unit_range_and_logs_dimensions(fmt):
    logged = {}
    fn = make_rubric_reward(fmt, build_judge({"backend": "embedded"}), max_failure_rate=0.0)
    bad = GOOD.replace("I'm sorry the night shifts are draining you. That sounds really hard. "
                       "Could a slow sourdough morning with Miso help you recover?", "whatever whatever whatever")
    good_score, bad_score = fn(completions=[conv(GOOD), conv(bad)], persona=[PERSONA] * 2, context=[CONTEXT] * 2,
                               log_metric=lambda k, v: logged.__setitem__(k, v))
    assert 0.0 <= bad_score < good_score <= 1.0
    assert logged["judge/failure_rate"] == 0.0
    assert set(logged) == {"judge/failure_rate", *(f"judge/{d}" for d in DIMENSIONS)}
    assert all(1 <= logged[f"judge/{d}"] <= 5 for d in DIMENSIONS)


class FlakyJudge:
    """Fails on every completion that mentions 'timeout', as a remote judge would."""

    rubric = None
    last_usage = Usage()  # nothing asked of an endpoint: no usage metrics

    def score_many(self, items):
        return [None if "timeout" in it["response"] else Judgement({d: 5 for d in DIMENSIONS}, {}) for it in items]


def test_failed_judgements_abstain_instead_of_scoring_zero(fmt):
    fn = make_rubric_reward(fmt, FlakyJudge(), max_failure_rate=0.5)
    assert fn(completions=["fine", "timeout"], persona=["p"] * 2, context=["c"] * 2) == [1.0, None]


@pytest.mark.reliability(probe="judge failures above reward.max_judge_failure_rate in GRPO", kind="bad input",
                         outcome="clear error")
def test_failure_rate_above_limit_stops_training(fmt):
    fn = make_rubric_reward(fmt, FlakyJudge(), max_failure_rate=0.25)
    with pytest.raises(JudgeFailureRateExceeded, match="max_judge_failure_rate"):
        fn(completions=["timeout", "timeout", "ok"], persona=["p"] * 3, context=["c"] * 3)


def test_rubric_value_normalisation():
    assert rubric_value({d: 1 for d in DIMENSIONS}) == 0.0
    assert rubric_value({d: 5 for d in DIMENSIONS}) == 1.0
    assert rubric_value({d: 3 for d in DIMENSIONS}) == 0.5


def test_registry_follows_reward_names_order(fmt):
    funcs = build_reward_funcs(["rubric", "format"], fmt, FlakyJudge(), 0.1)
    assert [f.__name__ for f in funcs] == ["rubric", "format"]


def test_zero_std_fraction_counts_groups_without_spread_ignoring_abstentions():
    from stages.core.rewards import zero_std_fraction
    assert zero_std_fraction([1, 1, 0, 1, 0.5, 0.5, None, 0.5], group_size=4) == 0.5
    assert zero_std_fraction([1, 0, 1], group_size=2) is None  # not whole groups


def test_with_group_stats_logs_per_reward_zero_std_and_keeps_the_name():
    from stages.core.rewards import with_group_stats
    logged = {}

    def emotion(completions, **_):
        return [1.0, 1.0, 0.0, 1.0]

    wrapped = with_group_stats(emotion, group_size=2)
    assert wrapped.__name__ == "emotion"
    assert wrapped(["a"] * 4, log_metric=lambda k, v: logged.__setitem__(k, v)) == [1.0, 1.0, 0.0, 1.0]
    assert logged == {"zero_std/emotion": 0.5}
