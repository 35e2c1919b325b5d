"""Rubric-ERL reward functions in TRL's contract, and the judge factory.

``fn(prompts, completions, **kwargs) -> list[float | None]``; kwargs carry the dataset columns
(``emotion``, ``persona``, ``context``) repeated per completion, plus TRL's ``log_metric``.
``None`` abstains: TRL then ignores that reward for that completion, which is what a failed judge
call must do (a 0 would fake an advantage).
"""

from __future__ import annotations

from collections.abc import Callable

from ..format import ResponseFormat
from ..labels import normalize_emotion
from .embedded_judge import DIMENSIONS, EmbeddedJudge

RewardFn = Callable[..., list]


class JudgeFailureRateExceeded(RuntimeError):
    pass


def build_judge(backend: str):
    if backend == "embedded":
        return EmbeddedJudge()
    raise ValueError(f"judge.backend={backend!r} is not available; known: ['embedded']")


def completion_text(completion) -> str:
    """TRL passes conversational completions as [{'role': 'assistant', 'content': ...}]."""
    if isinstance(completion, list):
        return "".join(m["content"] for m in completion)
    return completion


def judge_scores(judge, fmt: ResponseFormat, text: str, persona: str, context: str) -> dict[str, int] | None:
    """Score the visible reply of one completion on the five rubric dimensions; None if the judge fails."""
    try:
        return judge.score(fmt.response_text(text), persona, context)
    except Exception:  # noqa: BLE001 - any judge failure abstains; the failure rate is watched
        return None


def rubric_value(scores: dict[str, int]) -> float:
    """Rubric reward in [0, 1]: mean over dimensions of (s - 1) / 4 [ours normalisation]."""
    return sum((scores[d] - 1) / 4 for d in DIMENSIONS) / len(DIMENSIONS)


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
    def rubric(completions, persona, context, log_metric=None, **_) -> list[float | None]:
        """Judge's rubric score of the reply in [0, 1]; None (abstain) where the judge failed."""
        all_scores = [judge_scores(judge, fmt, completion_text(c), p, ctx)
                      for c, p, ctx in zip(completions, persona, context)]
        scored = [s for s in all_scores if s is not None]
        failure_rate = 1 - len(scored) / len(all_scores)
        if log_metric is not None:
            log_metric("judge/failure_rate", failure_rate)
            for d in DIMENSIONS:
                if scored:
                    log_metric(f"judge/{d}", sum(s[d] for s in scored) / len(scored))
        if failure_rate > max_failure_rate:
            raise JudgeFailureRateExceeded(
                f"judge failed on {failure_rate:.0%} of completions in this step, above "
                f"reward.max_judge_failure_rate={max_failure_rate:.0%}: check the judge backend")
        return [rubric_value(s) if s is not None else None for s in all_scores]
    return rubric


def build_reward_funcs(names: list[str], fmt: ResponseFormat, judge, max_failure_rate: float) -> list[RewardFn]:
    """The reward functions in ``reward.names`` order (which ``reward.weights`` follows)."""
    factories = {
        "format": lambda: make_format_reward(fmt),
        "emotion": lambda: make_emotion_reward(fmt),
        "rubric": lambda: make_rubric_reward(fmt, judge, max_failure_rate),
    }
    return [factories[n]() for n in names]
