"""The ``tracking`` and ``launch`` groups: where runs are logged and how sft/grpo start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .checks import _one_of

MODEL_LOGGING = ("transformers", "files", "none")


@dataclass
class Tracking:
    experiment_name: str
    log_model: str = "transformers"   # transformers | files | none (conf/tracking/mlflow.yaml)

    def validate(self, where: str = "tracking", source: str = "params.yaml") -> None:
        _one_of(self.log_model, MODEL_LOGGING, source, f"{where}.log_model")


@dataclass
class Launch:
    """How sft and grpo are started (conf/launch/, stages/core/launch.py)."""

    name: str
    num_processes: int
    config_file: Optional[str]    # accelerate config, relative to the repository; null for single

    def validate(self, where: str = "launch", source: str = "params.yaml") -> None:
        from ..launch import validate_launch

        validate_launch(self, source)
