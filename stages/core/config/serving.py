"""vLLM engine sizes and the lifecycle of a server we start: shared by grpo, evaluate and judge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .checks import _check


@dataclass
class VllmSizes:
    """What one vLLM engine takes: evaluate.vllm (one offline engine per model, torn down before the
    next) and judge.serve (`vllm serve` for stages.serve_judge)."""

    tensor_parallel_size: int = 1      # its GPUs (a served judge gets them after the training ones)
    max_model_len: Optional[int] = None
    gpu_memory_utilization: float = 0.9

    def validate(self, where: str, source: str = "params.yaml") -> None:
        _check(self.tensor_parallel_size >= 1, source, f"{where}.tensor_parallel_size", "must be >= 1")
        _check(self.max_model_len is None or self.max_model_len > 0, source, f"{where}.max_model_len",
               "must be positive or null (the model's own)")
        _check(0 < self.gpu_memory_utilization <= 1, source, f"{where}.gpu_memory_utilization", "must be in (0, 1]")


@dataclass
class ServerLifecycle:
    """A vLLM server the project starts and stops itself (stages/core/serving.py)."""

    startup_timeout_s: float = 900.0   # until its /health answers; loading a 7-8B model takes minutes
    stop_grace_s: float = 30.0         # SIGTERM, then SIGKILL after this long
