"""An asyncio client for OpenAI-compatible ``/chat/completions`` endpoints, built for RL load.

One event loop per batch (``complete_many`` is synchronous for TRL's synchronous reward functions):
a global semaphore caps requests in flight, every request has its own timeout, and only transient
failures (timeouts, connection errors, 429 and 5xx) are retried, with exponential backoff and jitter
(or the server's Retry-After). Anything else fails the item at once. The API key comes from an
environment variable and is only ever put in the Authorization header: never in a message or log.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import aiohttp

from .usage import Usage

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_BACKOFF_S = 30.0


class JudgeCallError(RuntimeError):
    """A request that failed for good (after the retries it deserved); ``kind`` names the failure."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


class JudgeUnavailable(RuntimeError):
    """The pre-flight call failed: the endpoint is down, unreachable or refuses us."""


@dataclass(frozen=True)
class ClientSettings:
    base_url: str
    model: str
    api_key_env: str | None
    concurrency: int
    timeout_s: float
    max_retries: int
    backoff_s: float
    sampling: dict  # temperature, max_tokens, ... sent with every request (and part of the cache key)


class ChatClient:
    def __init__(self, settings: ClientSettings):
        self.s = settings
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Content-Type": "application/json"}
        if settings.api_key_env:
            key = os.environ.get(settings.api_key_env)
            if not key:
                raise JudgeUnavailable(f"judge API key: environment variable {settings.api_key_env} is not set "
                                       "(judge.api_key_env names it; set it or make it null for a keyless server)")
            self._headers["Authorization"] = f"Bearer {key}"
        # Proxies from the environment apply to remote APIs, never to a server on this machine.
        self._trust_env = urlparse(self.url).hostname not in _LOOPBACK

    def __repr__(self) -> str:  # no headers: they hold the key
        return f"ChatClient({self.url!r}, model={self.s.model!r})"

    def _session(self, limit: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit), trust_env=self._trust_env,
                                     headers=self._headers)

    async def _request(self, session, body: dict, timeout_s: float) -> tuple[str, dict]:
        """One HTTP request -> (content, usage); raises JudgeCallError with transient kinds marked."""
        try:
            async with session.post(self.url, json=body, timeout=aiohttp.ClientTimeout(total=timeout_s)) as r:
                text = await r.text()
                if r.status != 200:
                    kind = f"http_{r.status}"
                    err = JudgeCallError(kind, text[:200])
                    err.transient = r.status == 429 or r.status >= 500
                    err.retry_after = _seconds(r.headers.get("Retry-After"))
                    raise err
        except TimeoutError:
            err = JudgeCallError("timeout", f"no answer within {timeout_s:g}s")
            err.transient, err.retry_after = True, None
            raise err from None
        except aiohttp.ClientConnectionError as e:
            err = JudgeCallError("connection", str(e) or type(e).__name__)
            err.transient, err.retry_after = True, None
            raise err from None
        try:
            data = json.loads(text)
            content = data["choices"][0]["message"]["content"]
            if not isinstance(content, str):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as e:
            err = JudgeCallError("bad_response", f"not a chat completion ({e}): {text[:120]!r}")
            err.transient, err.retry_after = False, None
            raise err from None
        return content, data.get("usage") or {}

    async def _complete(self, session, sem: asyncio.Semaphore, messages: list[dict], usage: Usage) -> str:
        body = {"model": self.s.model, "messages": messages, **self.s.sampling}
        for attempt in range(self.s.max_retries + 1):
            async with sem:  # the concurrency cap covers requests in flight, not backoff sleeps
                start = time.perf_counter()
                usage.requests += 1
                try:
                    content, tokens = await self._request(session, body, self.s.timeout_s)
                except JudgeCallError as e:
                    if not e.transient or attempt == self.s.max_retries:
                        raise
                    delay = e.retry_after
                else:
                    usage.latencies_s.append(time.perf_counter() - start)
                    usage.prompt_tokens += int(tokens.get("prompt_tokens", 0) or 0)
                    usage.completion_tokens += int(tokens.get("completion_tokens", 0) or 0)
                    return content
            usage.retries += 1
            backoff = self.s.backoff_s * 2 ** attempt * (0.5 + random.random())  # jitter: no thundering herd
            await asyncio.sleep(min(MAX_BACKOFF_S, max(backoff, delay or 0.0)))
        raise AssertionError("unreachable")

    async def _many(self, conversations: list[list[dict]], usage: Usage) -> list:
        sem = asyncio.Semaphore(self.s.concurrency)
        async with self._session(self.s.concurrency) as session:
            return await asyncio.gather(*(self._complete(session, sem, m, usage) for m in conversations),
                                        return_exceptions=True)

    def complete_many(self, conversations: list[list[dict]], usage: Usage) -> list[str | JudgeCallError]:
        """The answer text for each conversation, or the JudgeCallError that ended it (failures counted)."""
        if not conversations:
            return []
        results = asyncio.run(self._many(conversations, usage))
        for r in results:
            if isinstance(r, JudgeCallError):
                usage.failures[r.kind] += 1
            elif isinstance(r, BaseException):
                raise r  # a bug, not a judge failure
        return results

    def preflight(self) -> None:
        """One short request at stage start; raise JudgeUnavailable with a clear message if it fails."""
        async def once():
            async with self._session(1) as session:
                body = {"model": self.s.model, "max_tokens": 1,
                        "messages": [{"role": "user", "content": "Reply with OK."}]}
                return await self._request(session, body, min(self.s.timeout_s, 30.0))
        try:
            asyncio.run(once())
        except JudgeCallError as e:
            hint = {"connection": "is the server running (e.g. `vllm serve <model>`) and is judge.base_url right?",
                    "timeout": "the server is up but did not answer in time",
                    "http_401": f"check the API key in ${self.s.api_key_env}",
                    "http_404": "check judge.base_url (it should end in /v1) and judge.model"}.get(e.kind, "")
            raise JudgeUnavailable(f"judge endpoint {self.url} (model {self.s.model!r}) failed the pre-flight "
                                   f"call: {e}. {hint}".strip()) from None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
