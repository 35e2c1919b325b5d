"""One OpenAI-compatible endpoint schema for the openai judge, each API baseline and synthesize.openai."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .checks import _check, _env_name, _one_of, _url

MAX_TOKENS_FIELDS = ("max_tokens", "max_completion_tokens")
REASONING_EFFORTS = ("minimal", "low", "medium", "high")
RESPONSE_FORMATS = ("json_schema", "none")   # Endpoint.response_format (stages/core/chat.py)


@dataclass(kw_only=True)
class Endpoint:
    """One OpenAI-compatible ``/chat/completions`` endpoint and how to talk to it: the openai judge
    (judge, eval_judge), each of evaluate.api_baselines and synthesize.openai. Flat in its group's
    config (``judge.base_url``, ``synthesize.openai.max_retries``); the client (stages/core/chat.py)
    is built from it by ``ClientSettings.from_endpoint``."""

    base_url: Optional[str] = None           # ".../v1", without credentials
    model: Optional[str] = None              # the served model's name
    api_key_env: Optional[str] = None        # name of the env var holding the key (null: none)
    timeout_s: float = 60.0                  # per request
    max_retries: int = 4                     # per request: timeouts, connection errors, 429, 5xx (and unparseable answers)
    backoff_s: float = 1.0                   # first backoff; doubles per retry, with jitter, capped at 30 s
    concurrency: int = 16                    # requests in flight
    temperature: Optional[float] = 0.0       # null = not sent (OpenAI reasoning models take only their default)
    max_tokens: int = 512
    # the request field max_tokens goes in. OpenAI's reasoning models (GPT-5, o-series) refuse
    # max_tokens and take max_completion_tokens, which also bounds their reasoning tokens.
    max_tokens_field: str = "max_tokens"
    reasoning_effort: Optional[str] = None   # sent when set (OpenAI reasoning models: minimal ... high)
    chat_template_kwargs: Optional[dict[str, Any]] = None   # sent in each request (vLLM: Qwen3 thinking off)
    # json_schema: calls whose answers are JSON (the judge's) send their schema as response_format, and
    # fall back to plain answers when the server refuses the field; none: never sent
    response_format: str = "json_schema"

    def validate(self, where: str, source: str = "params.yaml") -> None:
        _check(bool(self.model), source, f"{where}.model", "must name the served model")
        _one_of(self.response_format, RESPONSE_FORMATS, source, f"{where}.response_format")
        _check(self.max_tokens is None or self.max_tokens > 0, source, f"{where}.max_tokens", "must be positive")
        _check(self.temperature is None or self.temperature >= 0, source, f"{where}.temperature",
               "must be >= 0, or null (not sent: the model's default)")
        _url(self.base_url, source, f"{where}.base_url")
        _check(self.concurrency > 0, source, f"{where}.concurrency", "must be positive")
        _check(self.timeout_s > 0, source, f"{where}.timeout_s", "must be positive")
        _check(self.max_retries >= 0, source, f"{where}.max_retries", "must be >= 0")
        _check(self.backoff_s >= 0, source, f"{where}.backoff_s", "must be >= 0")
        _env_name(self.api_key_env, source, f"{where}.api_key_env")
        _one_of(self.max_tokens_field, MAX_TOKENS_FIELDS, source, f"{where}.max_tokens_field")
        _check(self.reasoning_effort is None or self.reasoning_effort in REASONING_EFFORTS, source,
               f"{where}.reasoning_effort",
               f"{self.reasoning_effort!r} is not null or one of {list(REASONING_EFFORTS)}")
