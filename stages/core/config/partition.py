"""The ``partition`` group: the curriculum method, its thresholds and the rollout sampling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .checks import _check, _one_of

PARTITION_METHODS = ("trace", "rollouts", "random", "all_sft", "all_grpo")


@dataclass
class Rollouts:
    policy: str
    num_generations: int
    temperature: float
    top_p: float
    max_new_tokens: int
    batch_size: int
    max_contexts: Optional[int]
    resolve_threshold: float
    easy_min_rate: float

    def validate(self, where: str = "partition.rollouts", source: str = "params.yaml") -> None:
        _check(bool(self.policy), source, f"{where}.policy", "'base' or a checkpoint directory")
        _check(self.num_generations >= 1, source, f"{where}.num_generations", "must be >= 1")
        for key in ("max_new_tokens", "batch_size"):
            _check(getattr(self, key) > 0, source, f"{where}.{key}", "must be positive")
        _check(self.temperature > 0, source, f"{where}.temperature", "must be positive (sampling)")
        _check(0 < self.top_p <= 1, source, f"{where}.top_p", "must be in (0, 1]")
        _check(self.max_contexts is None or self.max_contexts > 0, source, f"{where}.max_contexts",
               "must be positive or null")
        for key in ("resolve_threshold", "easy_min_rate"):
            _check(0 <= getattr(self, key) <= 1, source, f"{where}.{key}", "must be in [0, 1]")


@dataclass
class Partition:
    method: str
    max_fail_rate: float
    min_solved_rate: float
    rollouts: Rollouts
    easy_fraction: Optional[float]
    histogram_bins: int

    def validate(self, where: str = "partition", source: str = "params.yaml") -> None:
        _one_of(self.method, PARTITION_METHODS, source, f"{where}.method")
        for key in ("max_fail_rate", "min_solved_rate"):
            _check(0 <= getattr(self, key) <= 1, source, f"{where}.{key}", "must be in [0, 1]")
        self.rollouts.validate(f"{where}.rollouts", source)
        _check(self.histogram_bins > 0, source, f"{where}.histogram_bins", "must be positive")
        fraction = self.easy_fraction
        _check(fraction is None or 0 < fraction < 1, source, f"{where}.easy_fraction", "must be in (0, 1) or null")
