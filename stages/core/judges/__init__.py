"""Rubric judges behind one interface, chosen by a `conf/judge/` config.

``build_judge(judge_cfg)`` returns an object with ``score_many(items) -> list[Judgement | None]``
(item = dict(response, persona, context); ``None`` = failed or abstained), ``preflight()`` (call at
stage start: raises JudgeUnavailable with a clear message when an endpoint is down), ``rubric``
(weights for the reward), ``version`` and ``usage`` / ``last_usage`` (calls, tokens, cache hits,
latency). Backends: ``embedded`` (deterministic CPU proxy), ``openai`` (any OpenAI-compatible
endpoint, async, cached), ``hf`` (a local transformers chat model, batched, cached).
``judge_many(judge, fmt, texts, ...)`` judges the reply span of each model turn (GRPO's rubric
reward, evaluation), abstaining (None) for the whole batch when the judge fails.
"""

from __future__ import annotations

import logging

from ..chat import ClientSettings
from ..chat import EndpointUnavailable as JudgeUnavailable
from ..config import Judge, typed
from ..format import ResponseFormat
from .rubric import DIMENSIONS, AnswerError, Judgement, Rubric, RubricError, answer_schema, load_rubric

__all__ = ["DIMENSIONS", "AnswerError", "JudgeUnavailable", "Judgement", "Rubric",
           "RubricError", "build_judge", "judge_many", "judge_settings", "load_rubric"]

log = logging.getLogger("kardia")


def judge_settings(judge_cfg) -> str:
    """A one-line description of a judge config for reports (never includes the API key)."""
    if judge_cfg.backend == "embedded":
        return f"embedded ({judge_cfg.rubric})"
    return f"{judge_cfg.backend}:{judge_cfg.model} ({judge_cfg.rubric})"


def _cache(judge_cfg, cache_path: str | None):
    """The on-disk answer cache of an LLM backend (paths.judge_cache), when ``judge_cfg.cache`` is on."""
    from .cache import JudgeCache

    return JudgeCache(cache_path) if cache_path and judge_cfg.cache else None


def _embedded(judge_cfg, rubric: Rubric, cache_path: str | None, config_key: str):
    from .embedded import EmbeddedJudge

    return EmbeddedJudge(rubric)


def _openai(judge_cfg, rubric: Rubric, cache_path: str | None, config_key: str):
    from .llm import OpenAIJudge

    # What the requests carry (temperature, token field, reasoning_effort, chat_template_kwargs) is
    # part of the cache key: settings that change the answers must not replay another's.
    # Answers are JSON: their schema goes as response_format unless judge.response_format is none.
    return OpenAIJudge(ClientSettings.from_endpoint(judge_cfg, config_key, schema=answer_schema()), rubric,
                       _cache(judge_cfg, cache_path))


def _hf(judge_cfg, rubric: Rubric, cache_path: str | None, config_key: str):
    from .llm import HFJudge

    return HFJudge(judge_cfg.model, rubric, batch_size=judge_cfg.batch_size, max_new_tokens=judge_cfg.max_tokens,
                   dtype=judge_cfg.dtype, cache=_cache(judge_cfg, cache_path))


# The registry, the one list of judge backends: ``judge.backend`` (config validates against these
# keys) -> builder(judge_cfg, rubric, cache_path, config_key). A new backend: its builder, one entry
# here, conf/judge/<name>.yaml (and its settings in stages/core/config/judge.py if it has new ones).
BACKENDS = {"embedded": _embedded, "openai": _openai, "hf": _hf}


def build_judge(judge_cfg, cache_path: str | None = None, config_key: str = "judge"):
    """The judge a `judge` / `eval_judge` config describes. ``cache_path`` (paths.judge_cache) turns
    on the on-disk answer cache of the LLM backends when ``judge_cfg.cache`` is true. ``config_key``
    (judge or eval_judge) is where the config lives, for error messages (a missing API key)."""
    judge_cfg = typed(Judge, judge_cfg)   # a dict (tools, tests): the schema's defaults fill it in
    if judge_cfg.backend not in BACKENDS:
        raise ValueError(f"judge.backend={judge_cfg.backend!r} is not available; known: {list(BACKENDS)}")
    rubric = load_rubric(judge_cfg.rubric or "kardia_v1")
    return BACKENDS[judge_cfg.backend](judge_cfg, rubric, cache_path, config_key)


def judge_many(judge, fmt: ResponseFormat, texts: list[str], personas: list[str],
               contexts: list[str]) -> list[Judgement | None]:
    """Judge the visible reply of each completion; None where the judge failed or abstained."""
    items = [{"response": fmt.response_text(t), "persona": p, "context": c}
             for t, p, c in zip(texts, personas, contexts, strict=True)]
    try:
        return judge.score_many(items)
    except Exception as e:  # noqa: BLE001 - a judge outage abstains; the failure-rate limit stops the run
        log.warning("judge failed on a batch of %d: %s", len(items), e)
        return [None] * len(items)
