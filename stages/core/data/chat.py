"""A small async client for OpenAI-compatible chat endpoints (``POST {base_url}/chat/completions``).

Timeouts per request, bounded retries with exponential backoff on network errors, timeouts, HTTP 429
/ 5xx and answers the caller's ``parse`` rejects (malformed output); other HTTP errors (401, 404, ...)
fail at once with the server's message, since retrying cannot fix a wrong key or model name.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from typing import Any, Self

log = logging.getLogger("kardia.chat")

BACKOFF_S = 0.2  # [ours] first retry delay; doubles per retry


class ChatError(RuntimeError):
    pass


class ChatConfigError(ChatError):
    """The endpoint refused the request itself (401, 404, ...): every other request will fail too."""


class Malformed(ValueError):
    """Raised by a ``parse`` callback: the answer arrived but is unusable; ask again."""


class ChatClient:
    def __init__(self, base_url: str, model: str, api_key_env: str, timeout_s: float, max_retries: int,
                 temperature: float, max_tokens: int):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.timeout_s, self.max_retries = model, timeout_s, max_retries
        self.temperature, self.max_tokens = temperature, max_tokens
        key = os.environ.get(api_key_env, "")
        self.headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
        self.session = None
        self.stats = {"requests": 0, "retries": 0, "malformed": 0, "errors": 0, "timeouts": 0}

    @classmethod
    def from_config(cls, c) -> ChatClient:
        return cls(c.base_url, c.model, c.api_key_env, c.timeout_s, c.max_retries, c.temperature, c.max_tokens)

    async def __aenter__(self) -> Self:
        import aiohttp

        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()

    async def complete(self, messages: list[dict], *, seed: int, parse: Callable[[str], Any] = str,
                       keep_malformed: bool = False) -> Any:
        """The parsed content of the first choice; ChatError after ``max_retries`` failed retries.

        ``keep_malformed``: when every attempt answered but ``parse`` rejected the last answer, return
        that raw answer instead of failing (the caller's filters drop it, and count it).
        """
        import aiohttp

        body = {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens, "seed": seed}
        last, malformed = "no attempt", None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats["retries"] += 1
                await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1))
            self.stats["requests"] += 1
            malformed = None
            try:
                async with self.session.post(self.url, json=body, headers=self.headers) as resp:
                    text = await resp.text()
                    if resp.status == 429 or resp.status >= 500:
                        self.stats["errors"] += 1
                        last = f"HTTP {resp.status}: {text[:200]}"
                        continue
                    if resp.status >= 400:
                        raise ChatConfigError(f"{self.url} answered HTTP {resp.status}: {text[:500]} "
                                        "(check synthesize.openai.model / api_key_env / base_url)")
                    content = json.loads(text)["choices"][0]["message"]["content"]
            except TimeoutError:  # asyncio's is the builtin since 3.11
                self.stats["timeouts"] += 1
                last = f"timeout after {self.timeout_s}s"
                continue
            except aiohttp.ClientError as e:
                self.stats["errors"] += 1
                last = f"{type(e).__name__}: {e}"
                continue
            except (KeyError, IndexError, TypeError, ValueError) as e:  # not an OpenAI chat response
                self.stats["errors"] += 1
                last = f"unexpected response body ({type(e).__name__}: {e})"
                continue
            try:
                return parse(content)
            except Malformed as e:
                self.stats["malformed"] += 1
                last, malformed = f"unusable answer: {e}", content
        if keep_malformed and malformed is not None:
            return malformed
        raise ChatError(f"{self.url}: gave up after {self.max_retries + 1} attempts ({last})")
