"""What every config group's ``validate`` uses: the error type and the small checks that name the key."""

from __future__ import annotations

import re

from ..errors import KardiaError


class ConfigError(KardiaError, ValueError):
    """A params.yaml value that cannot work; the message names the key."""


def _check(ok: bool, source: str, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{source}: key '{key}': {message}")


def _one_of(value, allowed: tuple, source: str, key: str) -> None:
    _check(value in allowed, source, key, f"{value!r} is not one of {list(allowed)}")


ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")  # what a shell exports; a key pasted here is not one


def _env_name(value, source: str, key: str) -> None:
    """An ``*_env`` setting names an environment variable. The value is never echoed: when a key is
    pasted here, the error message (and any log of it) must not carry the key."""
    _check(value is None or ENV_NAME.fullmatch(str(value)) is not None, source, key,
           "must be the NAME of an environment variable (upper case, digits, '_'), never the key itself "
           "(the value is not shown here)")


def _url(value, source: str, key: str) -> None:
    """An http(s) URL without credentials in it (they would reach logs, MLflow and cache keys)."""
    from urllib.parse import urlsplit

    parts = urlsplit(str(value or ""))
    _check(parts.username is None and parts.password is None, source, key,
           "has credentials in it (user:password@): put the key in an environment variable and name it in "
           "api_key_env (the URL is not shown here)")
    _check(parts.scheme in ("http", "https") and bool(parts.netloc), source, key,
           f"must be an http(s) URL, got {value!r}")



DTYPES = ("float32", "bfloat16", "float16")   # model.dtype, judge.dtype (hf)
