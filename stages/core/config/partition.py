"""The ``partition`` group: the curriculum method, its thresholds and the rollout sampling."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .checks import _check, _one_of
from .reward import Reward

PARTITION_METHODS = ("trace", "rollouts", "random", "all_sft", "all_grpo")
PARTITION_RULES = ("trace", "rollouts")   # partition.reference: the rule the no-curriculum ablations compare to


@dataclass
class Bootstrap:
    """partition.rollouts.policy=bootstrap: a warm-up SFT on a seeded slice of the training dialogues
    (stages/core/bootstrap.py); ``trainer`` goes to trl.SFTConfig like sft.trainer."""

    fraction: float
    trainer: dict[str, Any] = field(default_factory=dict)

    def validate(self, where: str, source: str = "params.yaml") -> None:
        _check(0 < self.fraction < 1, source, f"{where}.fraction", "must be in (0, 1)")
        lr, steps = self.trainer.get("learning_rate"), self.trainer.get("max_steps")
        _check(isinstance(lr, (int, float)) and lr > 0, source, f"{where}.trainer.learning_rate",
               f"must be a positive number, got {lr!r}")
        _check(isinstance(steps, int) and steps > 0, source, f"{where}.trainer.max_steps",
               f"a warm-up is a fixed, positive number of steps; got {steps!r}")


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
    reward: Reward                 # the partition's own reward mix, separate from grpo's `reward`
    bootstrap: Bootstrap

    def validate(self, where: str = "partition.rollouts", source: str = "params.yaml") -> None:
        _check(bool(self.policy), source, f"{where}.policy", "'base', 'bootstrap' or a checkpoint directory")
        self.reward.validate(f"{where}.reward", source)
        self.bootstrap.validate(f"{where}.bootstrap", source)
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
    reference: str = "trace"    # the rule labelling the no-curriculum ablations' test split

    def validate(self, where: str = "partition", source: str = "params.yaml") -> None:
        _one_of(self.method, PARTITION_METHODS, source, f"{where}.method")
        _one_of(self.reference, PARTITION_RULES, source, f"{where}.reference")
        for key in ("max_fail_rate", "min_solved_rate"):
            _check(0 <= getattr(self, key) <= 1, source, f"{where}.{key}", "must be in [0, 1]")
        self.rollouts.validate(f"{where}.rollouts", source)
        _check(self.histogram_bins > 0, source, f"{where}.histogram_bins", "must be positive")
        fraction = self.easy_fraction
        _check(fraction is None or 0 < fraction < 1, source, f"{where}.easy_fraction", "must be in (0, 1) or null")
