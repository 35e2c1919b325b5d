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

Structured answers (the judges'): the request carries ``response_format`` with the answer's JSON
schema (``ClientSettings.response_format``); a server that refuses the field with a 4xx naming it is
asked again without it, and never sent it again by this client (logged once). An answer cut off at the
token limit (``finish_reason: "length"``) is a failed call (kind ``length``), unless the caller keeps
truncated answers (evaluate's API baselines, scored as written like the local models' answers cut at
``evaluate.max_new_tokens``; counted in ``CallStats.truncated``). The pre-flight call also reads the
model's context length where the server reports it (vLLM's ``GET /v1/models``: ``max_model_len``);
from then on a prompt that cannot fit (its tokens + the token limit) fails before it is sent (kind
``context_length``), counted exactly by vLLM's ``POST /tokenize`` when a byte count cannot rule it out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlparse

import aiohttp

log = logging.getLogger("kardia.chat")

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_BACKOFF_S = 30.0
# Chat-template tokens a message may add around its text (role markers, separators) when a byte count
# decides that a prompt surely fits the context; above that bound the server counts exactly.
TEMPLATE_TOKENS_PER_MESSAGE = 64
PREFLIGHT_MESSAGES = [{"role": "user", "content": "Reply with OK."}]  # the pre-flight call's one short prompt


class ChatError(RuntimeError):
    """A request that failed for good (after the retries it deserved); ``kind`` names the failure
    (timeout, connection, http_503, bad_response, malformed)."""

    def __init__(self, kind: str, detail: str, transient: bool = False, retry_after: float | None = None):
        super().__init__(detail)
        self.kind, self.transient, self.retry_after = kind, transient, retry_after


class ChatRefused(ChatError):
    """The endpoint refused the request itself (401, 404, ...): every other request will fail too."""


class FormatRefused(ChatRefused):
    """A 4xx that names ``response_format``: this server does not take structured-output requests."""


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
    response_format: dict | None = None  # the request field for structured answers; None: not sent

    @classmethod
    def from_endpoint(cls, endpoint, config_key: str, *, temperature: float | None = None,
                      max_tokens: int | None = None, key_optional: bool = False,
                      schema: tuple[str, dict] | None = None) -> ClientSettings:
        """The settings an endpoint config (``config.Endpoint``: judge, an API baseline, synthesize.openai)
        describes. A caller that decodes by its own settings (evaluate's baselines, like its models) passes
        ``temperature``, sent in place of the endpoint's unless that is null (not sent), and ``max_tokens``,
        used where the endpoint's is null. A caller whose answers are JSON passes ``schema`` (name, JSON
        schema): sent as ``response_format`` unless the endpoint's ``response_format`` is ``none``."""
        temperature = endpoint.temperature if temperature is None or endpoint.temperature is None else temperature
        max_tokens = endpoint.max_tokens if endpoint.max_tokens is not None else max_tokens
        structured = schema is not None and endpoint.response_format == "json_schema"
        return cls(base_url=endpoint.base_url, model=endpoint.model, api_key_env=endpoint.api_key_env,
                   concurrency=endpoint.concurrency, timeout_s=endpoint.timeout_s,
                   max_retries=endpoint.max_retries, backoff_s=endpoint.backoff_s,
                   sampling=request_fields(endpoint, temperature, max_tokens),
                   config_key=config_key, key_optional=key_optional,
                   response_format=json_schema_format(*schema) if structured else None)


def json_schema_format(name: str, schema: dict) -> dict:
    """OpenAI's structured-output request field (vLLM takes the same): strict, so the schema must close
    every object (``additionalProperties: false``) and require every property."""
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}


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
    truncated: int = 0  # answers cut at the token limit and kept (callers that allow it)


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
        # What this run learned of the server: whether it takes response_format (dropped for good after a
        # refusal), its context length (the pre-flight reads it) and whether it counts tokens for us.
        self.response_format = settings.response_format
        self.max_model_len: int | None = None
        self._tokenize = True

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

    async def _request(self, session, body: dict, timeout_s: float) -> tuple[str, dict, str | None]:
        """One HTTP request -> (content, usage, finish_reason); raises ChatError with transient kinds marked."""
        try:
            async with session.post(self.url, json=body, timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
                text = await r.text()
                if r.status != 200:
                    detail = f"HTTP {r.status} from {self.url}: {text[:200]}"
                    if r.status == 429 or r.status >= 500:
                        raise ChatError(f"http_{r.status}", detail, True, _seconds(r.headers.get("Retry-After")))
                    if "response_format" in body and "response_format" in text:
                        raise FormatRefused("response_format", detail)
                    hint = f" (check {self.s.config_key}.model / api_key_env / base_url)" if r.status in (401, 403, 404) else ""
                    raise ChatRefused(f"http_{r.status}", detail + hint)
        except TimeoutError:  # asyncio's is the builtin since 3.11
            raise ChatError("timeout", f"timeout: no answer within {timeout_s:g}s", True) from None
        except aiohttp.ClientConnectionError as e:
            raise ChatError("connection", f"connection error: {str(e) or type(e).__name__}", True) from None
        try:
            data = json.loads(text)
            choice = data["choices"][0]
            content = choice["message"]["content"]
            if not isinstance(content, str | None):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise ChatError("bad_response", f"not a chat completion from {self.url} ({e}): {text[:120]!r}") from None
        return content or "", data.get("usage") or {}, choice.get("finish_reason")

    def _body(self, messages: list[dict], seed: int | None = None) -> dict:
        return {"model": self.s.model, "messages": messages, **self.s.sampling,
                **({"seed": seed} if seed is not None else {}),
                **({"response_format": self.response_format} if self.response_format else {})}

    async def _post(self, session, messages: list[dict], seed: int | None, timeout_s: float,
                    stats: CallStats, body: dict | None = None) -> tuple[str, dict, str | None]:
        """``_request``; a refused ``response_format`` is dropped for the rest of the run and the request
        sent again without it (a second request, not a retry: nothing was wrong with the first but the field)."""
        body = body or self._body(messages, seed)
        try:
            return await self._request(session, body, timeout_s)
        except FormatRefused as e:
            if self.response_format is not None:  # the first refusal of the run says so, once
                self.response_format = None
                log.warning("%s: the server refused response_format (%s); asking for plain JSON answers, parsed "
                            "and validated as before (set %s.response_format=none to skip the first try)",
                            self.s.config_key, e, self.s.config_key)
            stats.attempt_errors["response_format"] += 1
            stats.requests += 1
            return await self._request(session, {k: v for k, v in body.items() if k != "response_format"}, timeout_s)

    def _token_limit(self) -> tuple[str, int | None]:
        name = "max_completion_tokens" if "max_completion_tokens" in self.s.sampling else "max_tokens"
        return name, self.s.sampling.get(name)

    async def _check_context(self, session, messages: list[dict]) -> None:
        """Raise ChatError(context_length) for a prompt that cannot fit the model's context with the token
        limit, before it is sent. Nothing is known (nothing checked) until the pre-flight read the length."""
        if self.max_model_len is None:
            return
        name, limit = self._token_limit()
        budget = self.max_model_len - (limit or 0)
        # A token holds at least one byte of text: the byte count plus the template's markers bounds it.
        text_bytes = sum(len(str(m.get("content", "")).encode()) for m in messages)
        if text_bytes + TEMPLATE_TOKENS_PER_MESSAGE * len(messages) <= budget or not self._tokenize:
            return
        url = self.s.base_url.rstrip("/").removesuffix("/v1") + "/tokenize"  # vLLM serves it at the root
        try:
            async with session.post(url, json={"model": self.s.model, "messages": messages, "add_generation_prompt": True},
                                    timeout=aiohttp.ClientTimeout(total=self.s.timeout_s)) as r:
                count = (await r.json(content_type=None)).get("count") if r.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError, AttributeError):
            count = None
        if not isinstance(count, int):
            self._tokenize = False  # no exact count here: the server itself will refuse a prompt too long
            log.info("%s: %s does not count tokens; prompts are not checked against max_model_len %d",
                     self.s.config_key, url, self.max_model_len)
            return
        if count + (limit or 0) > self.max_model_len:
            raise ChatError("context_length", f"prompt of {count} tokens + {name}={limit} exceeds the model's context "
                            f"length {self.max_model_len} (max_model_len of {self.s.model!r} at {self.s.base_url}): "
                            f"shorten the prompt, lower {self.s.config_key}.max_tokens or serve a longer context")

    async def complete(self, messages: list[dict], *, seed: int | None = None, parse: Callable[[str], Any] | None = None,
                       keep_malformed: bool = False, stats: CallStats | None = None,
                       keep_truncated: bool = False) -> Any:
        """The (parsed) content of the first choice, or ChatError once the retries are spent.

        ``parse`` may raise Malformed to ask again (counted as a retry). ``keep_malformed``: when the last
        attempt answered but ``parse`` rejected it, return that raw answer instead of failing.
        ``keep_truncated``: an answer cut at the token limit is returned (and counted) instead of failing.
        """
        stats = self.stats if stats is None else stats
        try:
            await self._check_context(self._session, messages)
        except ChatError as e:
            stats.attempt_errors[e.kind] += 1
            stats.failures[e.kind] += 1
            raise
        for attempt in range(self.s.max_retries + 1):
            async with self._sem:  # the concurrency cap covers requests in flight, not backoff sleeps
                start = time.perf_counter()
                stats.requests += 1
                try:
                    content, tokens, finish = await self._post(self._session, messages, seed, self.s.timeout_s, stats)
                    stats.latencies_s.append(time.perf_counter() - start)
                    stats.prompt_tokens += int(tokens.get("prompt_tokens", 0) or 0)
                    stats.completion_tokens += int(tokens.get("completion_tokens", 0) or 0)
                    if finish == "length":
                        if not keep_truncated:  # the same request would be cut the same way: not retried
                            name, limit = self._token_limit()
                            raise ChatError("length", f"answer cut off at {name}={limit} (finish_reason 'length'): "
                                            f"raise {self.s.config_key}.max_tokens")
                        stats.truncated += 1
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
                      seed: int | None = None, on_done: Callable[[], Any] | None = None,
                      keep_truncated: bool = False) -> list[str | ChatError]:
        """The answer text for each conversation, in order, or the ChatError that ended it."""
        async def one(messages):
            try:
                return await self.complete(messages, seed=seed, stats=stats, keep_truncated=keep_truncated)
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
        """One short request at stage start; raise EndpointUnavailable with a clear message if it fails.
        Synchronous: call it outside any running event loop (an async caller awaits ``apreflight``)."""
        asyncio.run(self.apreflight())

    async def apreflight(self) -> None:
        """``preflight`` for a caller inside an event loop (synthesize): the same call, and the same
        lessons kept (a refused response_format, the context length)."""
        async with self._new_session(1) as session:
            # the token limit under the field the requests use (OpenAI's reasoning models refuse
            # max_tokens); a model that reasons first needs more than one token to answer at all
            name, limit = self._token_limit()
            body = {**self._body(PREFLIGHT_MESSAGES), name: 1 if name == "max_tokens" else limit}
            for k in ("temperature", "seed", "chat_template_kwargs"):
                body.pop(k, None)
            try:
                await self._post(session, body["messages"], None, min(self.s.timeout_s, 30.0), self.stats, body)
            except ChatError as e:
                key = self.s.config_key
                hint = {"connection": f"is the server running (e.g. `vllm serve <model>`) and is {key}.base_url right?",
                        "timeout": "the server is up but did not answer in time",
                        "http_401": f"check the API key in ${self.s.api_key_env}",
                        "http_404": f"check {key}.base_url (it should end in /v1) and {key}.model"}.get(e.kind, "")
                raise EndpointUnavailable(f"{key} endpoint {self.url} (model {self.s.model!r}) failed the pre-flight "
                                          f"call: {e}. {hint}".strip()) from None
            self.max_model_len = await self._context_length(session)

    async def _context_length(self, session) -> int | None:
        """The served model's ``max_model_len`` from ``GET <base_url>/models`` (vLLM reports it; OpenAI's API
        and most others do not: then None, and prompts are not checked here)."""
        try:
            async with session.get(self.s.base_url.rstrip("/") + "/models",
                                   timeout=aiohttp.ClientTimeout(total=min(self.s.timeout_s, 30.0))) as r:
                data = await r.json(content_type=None) if r.status == 200 else {}
            entry = next((m for m in data.get("data", []) if isinstance(m, dict) and m.get("id") == self.s.model), {})
        except (aiohttp.ClientError, TimeoutError, ValueError, AttributeError):
            return None
        value = entry.get("max_model_len")
        return value if isinstance(value, int) and value > 0 else None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
