"""One redaction step for what a stage logs and tracks: the values of the secrets the config points at.

A key never sits in the config: ``*_env`` settings name the environment variables that hold it
(config/checks.py refuses anything else). The values of those variables are what must not reach a log line,
an MLflow param or tag, or an error message, whatever code path would carry them there (an HTTP
error quoting a header, a key pasted into a model name). ``Redactor.from_config`` collects them and
``redacted_logs`` puts it in front of every log record; the stage entry point and the MLflow run use the
same instance for errors, params and tags.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator

MARK = "[redacted]"
MIN_SECRET_CHARS = 8  # shorter values ("1", "true") would blank ordinary text; no real key is that short


def env_names(node) -> Iterable[str]:
    """The variable named by every ``*_env`` setting in a (nested) mapping or list."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(key, str) and key.endswith("_env") and isinstance(value, str):
            yield value
        else:
            yield from env_names(value)


class Redactor:
    def __init__(self, secrets: Iterable[str]):
        # longest first, so a key that contains another is replaced whole
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)

    @classmethod
    def from_config(cls, cfg) -> Redactor:
        from omegaconf import OmegaConf

        container = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg
        return cls(os.environ.get(name, "") for name in env_names(container))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MARK)
        return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message through the redactor (any logger, any handler)."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redactor(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


@contextlib.contextmanager
def redacted_logs(redactor: Redactor) -> Iterator[None]:
    """The filter on the root logger's handlers (where every propagated record ends up) while the
    block runs; removed after, so a stage called in process leaves no filter behind."""
    filt = RedactingFilter(redactor)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(filt)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(filt)
