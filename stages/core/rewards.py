"""Rubric-ERL reward functions in TRL's contract (the judges themselves are in stages/core/judges).

``fn(prompts, completions, **kwargs) -> list[float | None]``; kwargs carry the dataset columns
(``emotion``, ``persona``, ``context``) repeated per completion, plus TRL's ``log_metric``.
``None`` abstains: TRL then ignores that reward for that completion, which is what a failed judge
call must do (a 0 would fake an advantage).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from .errors import KardiaError
from .format import ResponseFormat
from .judges import DIMENSIONS, judge_many
from .labels import normalize_emotion

RewardFn = Callable[..., list]


class JudgeFailureRateExceeded(KardiaError, RuntimeError):
    pass


def completion_text(completion) -> str:
    """TRL passes conversational completions as [{'role': 'assistant', 'content': ...}]."""
    if isinstance(completion, list):
        return "".join(m["content"] for m in completion)
    return completion


def rubric_value(scores: dict[str, int], weights: dict[str, float] | None = None) -> float:
    """Rubric reward in [0, 1]: weighted mean over dimensions of (s - 1) / 4 [ours normalisation]
    (equal weights unless the rubric file gives others)."""
    weights = weights or dict.fromkeys(DIMENSIONS, 1.0)
    return sum(w * (scores[d] - 1) / 4 for d, w in weights.items()) / sum(weights.values())


def rubric_weights(judge) -> dict[str, float] | None:
    """The judge's rubric weights per dimension (None: equal weights)."""
    return judge.rubric.weights if getattr(judge, "rubric", None) is not None else None


def weighted_reward(terms: dict[str, float | None], names: list[str], weights: list[float]) -> float | None:
    """r = Σ λ_i r_i over ``reward.names`` / ``reward.weights``, the sum GRPO maximises
    (``sum_then_normalize``); None where a term abstained (the judge did not score the reply)."""
    values = [terms[n] for n in names]
    if any(v is None for v in values):
        return None
    return sum(w * v for w, v in zip(weights, values, strict=True))


def make_format_reward(fmt: ResponseFormat) -> RewardFn:
    def format(completions, **_) -> list[float]:
        """1 if all spans are present, in order and non-empty, else 0 [paper]."""
        return [1.0 if fmt.is_valid(completion_text(c)) else 0.0 for c in completions]
    return format


def make_emotion_reward(fmt: ResponseFormat) -> RewardFn:
    def emotion(completions, emotion, **_) -> list[float]:
        """1 if the emotion span equals the gold label after case/whitespace normalisation [paper+ours]."""
        out = []
        for c, gold in zip(completions, emotion):
            parsed = fmt.parse(completion_text(c))
            out.append(1.0 if parsed.ok and normalize_emotion(parsed.spans["emotion"]) == gold else 0.0)
        return out
    return emotion


def make_rubric_reward(fmt: ResponseFormat, judge, max_failure_rate: float) -> RewardFn:
    weights = rubric_weights(judge)

    def rubric(completions, persona, context, log_metric=None, log_extra=None, **_) -> list[float | None]:
        """Judge's rubric score of the reply in [0, 1]; None (abstain) where the judge failed."""
        judged = judge_many(judge, fmt, [completion_text(c) for c in completions], persona, context)
        scored = [j.scores for j in judged if j is not None]
        failure_rate = 1 - len(scored) / len(judged)
        if log_metric is not None:
            log_metric("judge/failure_rate", failure_rate)
            for d in DIMENSIONS:
                if scored:
                    log_metric(f"judge/{d}", sum(s[d] for s in scored) / len(scored))
            for key, value in judge.last_usage.metrics().items():
                log_metric(key, value)
        if log_extra is not None:  # the judge's reasons beside each completion in TRL's completion log
            log_extra("judge_reasons", [json.dumps(j.reasons, ensure_ascii=False) if j is not None else "failed"
                                        for j in judged])
        if failure_rate > max_failure_rate:
            raise JudgeFailureRateExceeded(
                f"judge failed on {failure_rate:.0%} of completions in this step, above "
                f"reward.max_judge_failure_rate={max_failure_rate:.0%}: check the judge backend")
        return [rubric_value(j.scores, weights) if j is not None else None for j in judged]
    return rubric


# The registry, the one list of rewards: reward name (what ``reward.names`` may say: config validates
# against these keys; evaluation computes its ``reward`` with these same functions) -> factory(fmt,
# judge, max_failure_rate) of its reward function, whose __name__ is the name (TRL names the
# reward's metrics ``rewards/<__name__>/...`` after it). A new reward: its factory, one entry here.
REWARDS: dict[str, Callable[[ResponseFormat, object, float], RewardFn]] = {
    "format": lambda fmt, judge, max_failure_rate: make_format_reward(fmt),
    "emotion": lambda fmt, judge, max_failure_rate: make_emotion_reward(fmt),
    "rubric": make_rubric_reward,
}
# The dataset columns a reward function may read (besides ``prompts`` and ``completions``): GRPO
# keeps them in its dataset, evaluation passes them from the test examples.
COLUMNS = ("emotion", "persona", "context")


def build_reward_funcs(names: list[str], fmt: ResponseFormat, judge, max_failure_rate: float) -> list[RewardFn]:
    """The reward functions in ``reward.names`` order (which ``reward.weights`` follows)."""
    return [REWARDS[n](fmt, judge, max_failure_rate) for n in names]


class _Replay:
    """A judge that answers with judgements already made: evaluation judged each reply once, and the
    rubric reward must see those answers, not ask again (a second call costs and may answer otherwise)."""

    def __init__(self, judge, judged: list):
        self.rubric = getattr(judge, "rubric", None)
        self._judged = judged

    def score_many(self, items: list[dict]) -> list:
        if len(items) != len(self._judged):
            raise ValueError(f"replayed {len(self._judged)} judgements for {len(items)} replies")
        return list(self._judged)


def reward_terms(names: list[str], fmt: ResponseFormat, judge, examples: list[dict], completions: list[str],
                 judged: list) -> list[dict[str, float | None]]:
    """Each reward of ``names`` for each completion, computed as GRPO computes it (the registered
    functions, the same columns), the rubric from ``judged`` (the judge's answers for these
    completions, in order). No failure-rate stop here: an evaluation reports its judge coverage."""
    funcs = build_reward_funcs(names, fmt, _Replay(judge, judged), max_failure_rate=1.0)
    columns = {c: [ex[c] for ex in examples] for c in COLUMNS}
    prompts = [ex.get("prompt") for ex in examples]
    values = [fn(prompts=prompts, completions=completions, **columns) for fn in funcs]
    return [dict(zip(names, per_completion, strict=True)) for per_completion in zip(*values, strict=True)]


def zero_std_fraction(values: list, group_size: int) -> float | None:
    """Share of groups whose scored completions all got the same value: such a group has zero advantage
    from this reward and teaches nothing through it. TRL's ``RepeatSampler`` puts a prompt's G
    completions next to each other, so groups are consecutive runs of ``group_size``; abstentions
    (None) are left out. None when the batch is not whole groups."""
    if group_size < 2 or not values or len(values) % group_size:
        return None
    groups = [[v for v in values[i:i + group_size] if v is not None] for i in range(0, len(values), group_size)]
    return sum(len(set(g)) <= 1 for g in groups) / len(groups)


def with_group_stats(fn: RewardFn, group_size: int) -> RewardFn:
    """``fn`` that also logs ``zero_std/<name>`` per step (TRL's ``frac_reward_zero_std`` is for the
    weighted sum only, where a continuous rubric score hides a silent emotion reward)."""
    @functools.wraps(fn)  # TRL names the reward's metrics after __name__
    def wrapped(*args, log_metric=None, **kwargs):
        values = fn(*args, log_metric=log_metric, **kwargs)
        frac = zero_std_fraction(values, group_size)
        if log_metric is not None and frac is not None:
            log_metric(f"zero_std/{fn.__name__}", frac)
        return values
    return wrapped
