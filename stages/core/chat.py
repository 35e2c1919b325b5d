"""The one asyncio client for OpenAI-compatible ``/chat/completions`` endpoints (judges, synthesize,
evaluate's API baselines).

A semaphore caps requests in flight, every request has its own timeout, and only transient failures
(timeouts, connection errors, 429 and 5xx) are retried, with exponential backoff and jitter (or the
server's Retry-After); so are answers a caller's ``parse`` rejects with ``Malformed``. Anything else
fails at once: a 4xx other than 429 raises ``ChatRefused`` (a wrong key, model or URL stays wrong).
The API key comes from an environment variable and is only ever put in the Authorization header:
never in a message, a repr or a log.

Two ways in: ``async with ChatClient(s) as c: await c.complete(messages, ...)`` (one long-lived
session, as synthesize drives it) and ``c.complete_many(conversations, stats)`` (synchronous, one
event loop per batch: TRL's reward functions and evaluate are synchronous).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlparse

import aiohttp

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_BACKOFF_S = 30.0


class ChatError(RuntimeError):
    """A request that failed for good (after the retries it deserved); ``kind`` names the failure
    (timeout, connection, http_503, bad_response, malformed)."""

    def __init__(self, kind: str, detail: str, transient: bool = False, retry_after: float | None = None):
        super().__init__(detail)
        self.kind, self.transient, self.retry_after = kind, transient, retry_after


class ChatRefused(ChatError):
    """The endpoint refused the request itself (401, 404, ...): every other request will fail too."""


class EndpointUnavailable(RuntimeError):
    """The endpoint cannot be used at all: its API key is missing, or the pre-flight call failed."""


class Malformed(ValueError):
    """Raised by a ``parse`` callback: the answer arrived but is unusable; ask again."""


@dataclass(frozen=True)
class ClientSettings:
    base_url: str
    model: str
    api_key_env: str | None
    concurrency: int
    timeout_s: float
    max_retries: int
    backoff_s: float
    sampling: dict          # temperature, max_tokens, ... sent with every request
    config_key: str = "judge"  # where these settings live, for error messages (judge, synthesize.openai, ...)
    key_optional: bool = False  # an unset api_key_env means "no key" (a local server) instead of an error

    @classmethod
    def from_endpoint(cls, endpoint, config_key: str, *, temperature: float | None = None,
                      max_tokens: int | None = None, key_optional: bool = False) -> ClientSettings:
        """The settings an endpoint config (``config.Endpoint``: judge, an API baseline, synthesize.openai)
        describes. A caller that decodes by its own settings (evaluate's baselines, like its models) passes
        ``temperature``, sent in place of the endpoint's unless that is null (not sent), and ``max_tokens``,
        used where the endpoint's is null."""
        temperature = endpoint.temperature if temperature is None or endpoint.temperature is None else temperature
        max_tokens = endpoint.max_tokens if endpoint.max_tokens is not None else max_tokens
        return cls(base_url=endpoint.base_url, model=endpoint.model, api_key_env=endpoint.api_key_env,
                   concurrency=endpoint.concurrency, timeout_s=endpoint.timeout_s,
                   max_retries=endpoint.max_retries, backoff_s=endpoint.backoff_s,
                   sampling=request_fields(endpoint, temperature, max_tokens),
                   config_key=config_key, key_optional=key_optional)


def request_fields(endpoint, temperature: float | None, max_tokens: int) -> dict:
    """What every request to the endpoint carries besides model and messages. A field is absent when
    unset, so a config that sets none of the newer ones sends (and keys its judge cache on) exactly what
    it always did. OpenAI's reasoning models (GPT-5) refuse max_tokens and any temperature but their
    default: the token field's name is a setting and a null temperature is not sent.
    ``chat_template_kwargs`` (vLLM: Qwen3 thinking off) changes the answers, so it is part of a cache key."""
    template, effort = endpoint.chat_template_kwargs, endpoint.reasoning_effort
    return {**({"temperature": temperature} if temperature is not None else {}),
            (endpoint.max_tokens_field or "max_tokens"): max_tokens,
            **({"reasoning_effort": effort} if effort else {}),
            **({"chat_template_kwargs": _plain(template)} if template else {})}


def _plain(mapping) -> dict:
    """A config mapping (DictConfig or dict) as a plain dict: JSON for the request body and the cache key."""
    from omegaconf import DictConfig, OmegaConf

    return OmegaConf.to_container(mapping, resolve=True) if isinstance(mapping, DictConfig) else dict(mapping)


@dataclass
class CallStats:
    """What a client did: every attempt counts in ``requests``; ``attempt_errors`` counts failed attempts by
    kind (retried or not), ``failures`` the requests that failed for good."""

    requests: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempt_errors: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)  # per successful request


class ChatClient:
    def __init__(self, settings: ClientSettings):
        self.s = settings
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self.stats = CallStats()  # what ``complete`` counts when the caller passes no stats of its own
        self._headers = {"Content-Type": "application/json"}
        key = os.environ.get(settings.api_key_env) if settings.api_key_env else None
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        elif settings.api_key_env and not settings.key_optional:
            raise EndpointUnavailable(
                f"{settings.config_key} API key: environment variable {settings.api_key_env} is not set "
                f"({settings.config_key}.api_key_env names it; set it or make it null for a keyless server)")
        # Proxies from the environment apply to remote APIs, never to a server on this machine.
        self._trust_env = urlparse(self.url).hostname not in _LOOPBACK
        self._session: aiohttp.ClientSession | None = None
        self._sem: asyncio.Semaphore | None = None

    def __repr__(self) -> str:  # no headers: they hold the key
        return f"ChatClient({self.url!r}, model={self.s.model!r})"

    async def __aenter__(self) -> Self:
        self._session = self._new_session(self.s.concurrency)
        self._sem = asyncio.Semaphore(self.s.concurrency)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._session.close()
        self._session = self._sem = None

    def _new_session(self, limit: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit), trust_env=self._trust_env,
                                     headers=self._headers)

    async def _request(self, session, body: dict, timeout_s: float) -> tuple[str, dict]:
        """One HTTP request -> (content, usage); raises ChatError with transient kinds marked."""
        try:
            async with session.post(self.url, json=body, timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
                text = await r.text()
                if r.status != 200:
                    detail = f"HTTP {r.status} from {self.url}: {text[:200]}"
                    if r.status == 429 or r.status >= 500:
                        raise ChatError(f"http_{r.status}", detail, True, _seconds(r.headers.get("Retry-After")))
                    hint = f" (check {self.s.config_key}.model / api_key_env / base_url)" if r.status in (401, 403, 404) else ""
                    raise ChatRefused(f"http_{r.status}", detail + hint)
        except TimeoutError:  # asyncio's is the builtin since 3.11
            raise ChatError("timeout", f"timeout: no answer within {timeout_s:g}s", True) from None
        except aiohttp.ClientConnectionError as e:
            raise ChatError("connection", f"connection error: {str(e) or type(e).__name__}", True) from None
        try:
            data = json.loads(text)
            content = data["choices"][0]["message"]["content"]
            if not isinstance(content, str | None):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise ChatError("bad_response", f"not a chat completion from {self.url} ({e}): {text[:120]!r}") from None
        return content or "", data.get("usage") or {}

    async def complete(self, messages: list[dict], *, seed: int | None = None, parse: Callable[[str], Any] | None = None,
                       keep_malformed: bool = False, stats: CallStats | None = None) -> Any:
        """The (parsed) content of the first choice, or ChatError once the retries are spent.

        ``parse`` may raise Malformed to ask again (counted as a retry). ``keep_malformed``: when the last
        attempt answered but ``parse`` rejected it, return that raw answer instead of failing.
        """
        stats = self.stats if stats is None else stats
        body = {"model": self.s.model, "messages": messages, **self.s.sampling,
                **({"seed": seed} if seed is not None else {})}
        for attempt in range(self.s.max_retries + 1):
            async with self._sem:  # the concurrency cap covers requests in flight, not backoff sleeps
                start = time.perf_counter()
                stats.requests += 1
                try:
                    content, tokens = await self._request(self._session, body, self.s.timeout_s)
                    stats.latencies_s.append(time.perf_counter() - start)
                    stats.prompt_tokens += int(tokens.get("prompt_tokens", 0) or 0)
                    stats.completion_tokens += int(tokens.get("completion_tokens", 0) or 0)
                    if parse is None:
                        return content
                    try:
                        return parse(content)
                    except Malformed as e:
                        if keep_malformed and attempt == self.s.max_retries:
                            stats.attempt_errors["malformed"] += 1
                            return content
                        raise ChatError("malformed", f"unusable answer: {e}", True) from None
                except ChatError as e:
                    stats.attempt_errors[e.kind] += 1
                    if not e.transient or attempt == self.s.max_retries:
                        stats.failures[e.kind] += 1
                        raise
                    delay = e.retry_after
            stats.retries += 1
            backoff = self.s.backoff_s * 2 ** attempt * (0.5 + random.random())  # jitter: no thundering herd
            await asyncio.sleep(min(MAX_BACKOFF_S, max(backoff, delay or 0.0)))
        raise AssertionError("unreachable")

    def complete_many(self, conversations: list[list[dict]], stats: CallStats | None = None, *,
                      seed: int | None = None, on_done: Callable[[], Any] | None = None) -> list[str | ChatError]:
        """The answer text for each conversation, in order, or the ChatError that ended it."""
        async def one(messages):
            try:
                return await self.complete(messages, seed=seed, stats=stats)
            finally:
                if on_done is not None:
                    on_done()

        async def run():
            async with self:
                return await asyncio.gather(*(one(m) for m in conversations), return_exceptions=True)

        if not conversations:
            return []
        results = asyncio.run(run())
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, ChatError):
                raise r  # a bug, not an endpoint failure
        return results

    def preflight(self) -> None:
        """One short request at stage start; raise EndpointUnavailable with a clear message if it fails."""
        async def once():
            async with self._new_session(1) as session:
                # the token limit under the field the requests use (OpenAI's reasoning models refuse
                # max_tokens); a model that reasons first needs more than one token to answer at all
                limit = "max_completion_tokens" if "max_completion_tokens" in self.s.sampling else "max_tokens"
                body = {"model": self.s.model, limit: 1 if limit == "max_tokens" else self.s.sampling[limit],
                        **{k: v for k, v in self.s.sampling.items() if k == "reasoning_effort"},
                        "messages": [{"role": "user", "content": "Reply with OK."}]}
                return await self._request(session, body, min(self.s.timeout_s, 30.0))
        try:
            asyncio.run(once())
        except ChatError as e:
            key = self.s.config_key
            hint = {"connection": f"is the server running (e.g. `vllm serve <model>`) and is {key}.base_url right?",
                    "timeout": "the server is up but did not answer in time",
                    "http_401": f"check the API key in ${self.s.api_key_env}",
                    "http_404": f"check {key}.base_url (it should end in /v1) and {key}.model"}.get(e.kind, "")
            raise EndpointUnavailable(f"{key} endpoint {self.url} (model {self.s.model!r}) failed the pre-flight "
                                      f"call: {e}. {hint}".strip()) from None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
