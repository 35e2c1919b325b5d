"""The ``data`` group: the corpus source, split, history, validation limits and duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .checks import _check, _env_name, _one_of

# What the code can do; values outside these sets fail at load time.
DEDUP_POLICIES = ("drop", "keep")
HISTORY_MODES = ("full", "response_only")
# data.revision values that pin nothing: conf/data/kardiabench.yaml's placeholder and moving branches
UNPINNED = ("unpinned", "main", "master")


@dataclass
class Limits:
    max_exchanges: int
    max_turn_chars: int
    max_person_chars: int


@dataclass
class Dedup:
    exact: str
    near: str
    near_threshold: float


@dataclass
class Data:
    source: str
    test_fraction: float
    history: str
    max_history_turns: Optional[int]   # null: every earlier exchange
    max_reject_rate: float
    limits: Limits
    dedup: Dedup
    # source=synthetic
    n_dialogues: Optional[int] = None
    n_personas: Optional[int] = None
    max_exchanges: Optional[int] = None
    min_exchanges: Optional[int] = None   # null: the default draw; n: every dialogue at least n exchanges long
    # source=kardiabench
    hf_dataset: Optional[str] = None
    revision: Optional[str] = None
    token_env: Optional[str] = None
    path: Optional[str] = None

    def validate(self, where: str = "data", source: str = "params.yaml") -> None:
        from ..data.corpus import SOURCES  # here, not at import: the one registry, beside the readers

        _one_of(self.source, tuple(SOURCES), source, f"{where}.source")
        _one_of(self.history, HISTORY_MODES, source, f"{where}.history")
        _check(0 < self.test_fraction < 1, source, f"{where}.test_fraction", "must be in (0, 1)")
        if self.source == "synthetic":
            for key in ("n_dialogues", "n_personas", "max_exchanges"):
                value = getattr(self, key)
                _check(value is not None and value > 0, source, f"{where}.{key}", "must be positive")
            _check(self.min_exchanges is None or 1 <= self.min_exchanges <= self.max_exchanges, source,
                   f"{where}.min_exchanges", f"must be null or in [1, data.max_exchanges={self.max_exchanges}]")
            _check(self.max_exchanges <= self.limits.max_exchanges, source, f"{where}.max_exchanges",
                   f"{self.max_exchanges} > data.limits.max_exchanges={self.limits.max_exchanges}: validation "
                   "would reject the longer dialogues; raise the limit too")
        elif self.source == "kardiabench":
            _check(bool(self.path) or bool(self.hf_dataset), source, f"{where}.path",
                   "data.source=kardiabench needs data.path (local files) or data.hf_dataset (hub id)")
            _check(bool(self.path) or (bool(self.revision) and self.revision not in UNPINNED), source,
                   f"{where}.revision",
                   f"{self.revision!r} does not pin the hub dataset (a placeholder or a moving branch): set it to "
                   f"the commit sha of the version you use (https://huggingface.co/datasets/{self.hf_dataset}"
                   "/commits/main; -S data.revision=<sha>, or in conf/data/kardiabench.yaml) or a tag, "
                   "or read downloaded files with data.path")
        _check(self.max_history_turns is None or self.max_history_turns >= 0, source, f"{where}.max_history_turns",
               "must be >= 0, or null (every earlier exchange)")
        _check(0 <= self.max_reject_rate <= 1, source, f"{where}.max_reject_rate", "must be in [0, 1]")
        for key in ("max_exchanges", "max_turn_chars", "max_person_chars"):
            _check(getattr(self.limits, key) > 0, source, f"{where}.limits.{key}", "must be positive")
        _one_of(self.dedup.exact, DEDUP_POLICIES, source, f"{where}.dedup.exact")
        _one_of(self.dedup.near, DEDUP_POLICIES, source, f"{where}.dedup.near")
        _check(0 < self.dedup.near_threshold <= 1, source, f"{where}.dedup.near_threshold", "must be in (0, 1]")
        _env_name(self.token_env, source, f"{where}.token_env")
