"""The ``reward`` group: which rewards GRPO sums and their weights.

The names a config may give are the keys of the code's own registry (``REWARDS`` in
stages/core/rewards.py): a new reward is a factory there and an entry in conf/reward/, nothing here."""

from __future__ import annotations

from dataclasses import dataclass

from .checks import _check


@dataclass
class Reward:
    names: list[str]
    weights: list[float]
    max_judge_failure_rate: float

    def validate(self, where: str = "reward", source: str = "params.yaml") -> None:
        from ..rewards import REWARDS  # here, not at import: rewards imports the judges, which import config

        names, weights = list(self.names), list(self.weights)
        for name in names:
            _check(name in REWARDS, source, f"{where}.names", f"unknown reward {name!r}; known: {list(REWARDS)}")
        _check(len(set(names)) == len(names) and names, source, f"{where}.names", "must be non-empty and unique")
        _check(len(weights) == len(names), source, f"{where}.weights",
               f"has {len(weights)} values for {len(names)} reward.names {names}")
        _check(all(w >= 0 for w in weights) and sum(weights) > 0, source, f"{where}.weights",
               "must be non-negative with a positive sum")
        _check(0 <= self.max_judge_failure_rate <= 1, source, f"{where}.max_judge_failure_rate",
               "must be in [0, 1]")
