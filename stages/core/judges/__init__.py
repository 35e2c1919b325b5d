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
from collections.abc import Mapping

from ..chat import ClientSettings
from ..chat import EndpointUnavailable as JudgeUnavailable
from ..format import ResponseFormat
from .rubric import DIMENSIONS, AnswerError, Judgement, Rubric, RubricError, load_rubric

__all__ = ["DIMENSIONS", "AnswerError", "JudgeUnavailable", "Judgement", "Rubric",
           "RubricError", "build_judge", "judge_many", "judge_settings", "load_rubric"]

BACKENDS = ("embedded", "openai", "hf")
log = logging.getLogger("kardia")


def judge_settings(judge_cfg) -> str:
    """A one-line description of a judge config for reports (never includes the API key)."""
    if judge_cfg.backend == "embedded":
        return f"embedded ({judge_cfg.rubric})"
    return f"{judge_cfg.backend}:{judge_cfg.model} ({judge_cfg.rubric})"


def _plain(node) -> dict:
    """A DictConfig as a plain dict (JSON for the request body and the cache key)."""
    from omegaconf import DictConfig, OmegaConf

    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


def build_judge(judge_cfg, cache_path: str | None = None, config_key: str = "judge"):
    """The judge a `judge` / `eval_judge` config describes. ``cache_path`` (paths.judge_cache) turns
    on the on-disk answer cache of the LLM backends when ``judge_cfg.cache`` is true. ``config_key``
    (judge or eval_judge) is where the config lives, for error messages (a missing API key)."""
    get = judge_cfg.get if isinstance(judge_cfg, Mapping) else lambda k, d=None: getattr(judge_cfg, k, d)
    backend = get("backend")
    rubric = load_rubric(get("rubric") or "kardia_v1")
    if backend == "embedded":
        from .embedded import EmbeddedJudge

        return EmbeddedJudge(rubric)
    if backend not in BACKENDS:
        raise ValueError(f"judge.backend={backend!r} is not available; known: {list(BACKENDS)}")
    from .cache import JudgeCache

    cache = JudgeCache(cache_path) if cache_path and get("cache", True) else None
    if backend == "openai":
        from .llm import OpenAIJudge

        # chat_template_kwargs rides in `sampling`: sent with every request and part of the cache key
        # (thinking on or off changes the answers); absent when unset, so older keys stay valid.
        # So do the API's own knobs: OpenAI's reasoning models (GPT-5) refuse max_tokens and any temperature
        # but their default, so the field's name is a setting and a null temperature is not sent.
        template, temperature, effort = get("chat_template_kwargs"), get("temperature", 0.0), get("reasoning_effort")
        sampling = {**({"temperature": temperature} if temperature is not None else {}),
                    get("max_tokens_field") or "max_tokens": get("max_tokens", 512),
                    **({"reasoning_effort": effort} if effort else {}),
                    **({"chat_template_kwargs": _plain(template)} if template else {})}
        settings = ClientSettings(
            base_url=get("base_url"), model=get("model"), api_key_env=get("api_key_env"), config_key=config_key,
            concurrency=get("concurrency", 16), timeout_s=get("timeout_s", 60.0),
            max_retries=get("max_retries", 4), backoff_s=get("backoff_s", 1.0),
            sampling=sampling)
        return OpenAIJudge(settings, rubric, cache)
    from .llm import HFJudge

    return HFJudge(get("model"), rubric, batch_size=get("batch_size", 8),
                   max_new_tokens=get("max_tokens", 512), dtype=get("dtype", "float32"), cache=cache)


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
