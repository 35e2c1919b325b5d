"""The ``evaluate`` group: the models evaluated, decoding, the generation backend, API baselines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from ..evaluation.headline import DEFAULT_HEADLINE, MAX_HEADLINE
from .checks import _check, _one_of
from .endpoint import Endpoint
from .serving import VllmSizes

EVAL_MODELS = ("base", "sft", "grpo")
GENERATION_BACKENDS = ("hf", "vllm")
SAMPLED = "_sampled"   # the row of a model's sampled replies: grpo -> grpo_sampled


@dataclass(kw_only=True)
class ApiBaseline(Endpoint):
    """An evaluate.api_baselines entry: a model behind an endpoint, prompted like the evaluated ones
    and decoded like them (evaluate.do_sample, evaluate.max_new_tokens)."""

    name: str
    concurrency: int = 4
    max_tokens: Optional[int] = None         # null: evaluate.max_new_tokens (a reasoning model may need more)
    # 0.0: sent, as evaluate.do_sample says (0 greedy, 1 sampled); null: not sent (a model that refuses it)
    temperature: Optional[float] = 0.0

    def validate(self, where: str, source: str = "params.yaml") -> None:
        _check(re.fullmatch(r"[A-Za-z0-9_.-]+", self.name or "") is not None, source, f"{where}.name",
               f"{self.name!r}: use letters, digits, '_', '.', '-' (it becomes part of metric names)")
        _check(self.temperature in (0.0, None), source, f"{where}.temperature",
               "a baseline decodes like the evaluated models (evaluate.do_sample: 0 greedy, 1 sampled): "
               "leave it at 0.0, or null to send none (a model that refuses one)")
        super().validate(where, source)


@dataclass
class Sampled:
    """evaluate.sampled: rows of sampled replies beside the greedy ones. GRPO learns from replies
    sampled at its own temperature; the greedy reply may not move when their distribution does."""

    models: list[str] = field(default_factory=list)   # sampled where also in evaluate.models
    samples: int = 8             # replies per test example; a reply's scores are averaged per example
    temperature: float = 1.0
    top_k: int = 0               # 0: no top-k cut, as GRPO samples (HF's generate would apply its default of 50)
    top_p: float = 1.0
    max_new_tokens: int = 128    # GRPO's max_completion_length: a reply GRPO would truncate is truncated here too

    def validate(self, where: str, source: str) -> None:
        for name in self.models:
            _check(name in EVAL_MODELS, source, f"{where}.models", f"unknown model {name!r}; known: {list(EVAL_MODELS)}")
        _check(self.samples > 0, source, f"{where}.samples", "must be positive")
        _check(self.temperature > 0, source, f"{where}.temperature",
               "must be positive (0 is greedy: the models' own rows)")
        _check(self.top_k >= 0, source, f"{where}.top_k", "must be 0 (no cut) or positive")
        _check(0 < self.top_p <= 1, source, f"{where}.top_p", "must be in (0, 1]")
        _check(self.max_new_tokens > 0, source, f"{where}.max_new_tokens", "must be positive")


@dataclass
class Evaluate:
    models: list[str]
    max_examples: Optional[int]
    batch_size: int
    max_new_tokens: int
    do_sample: bool
    backend: str = "hf"
    min_judge_coverage: float = 0.95
    api_baselines: list[ApiBaseline] = field(default_factory=list)
    sampled: Sampled = field(default_factory=Sampled)
    vllm: VllmSizes = field(default_factory=VllmSizes)
    # metrics/headline.json and the MLflow parent run (stages/core/evaluation/headline.py)
    headline: list[str] = field(default_factory=lambda: list(DEFAULT_HEADLINE))

    def validate(self, where: str = "evaluate", source: str = "params.yaml") -> None:
        for name in self.models:
            _check(name in EVAL_MODELS, source, f"{where}.models",
                   f"unknown model {name!r}; known: {list(EVAL_MODELS)}")
        _check(self.batch_size > 0, source, f"{where}.batch_size", "must be positive")
        _check(self.max_examples is None or self.max_examples > 0, source, f"{where}.max_examples",
               "must be positive or null (all test examples)")
        _check(self.max_new_tokens > 0, source, f"{where}.max_new_tokens", "must be positive")
        _one_of(self.backend, GENERATION_BACKENDS, source, f"{where}.backend")
        self.vllm.validate(f"{where}.vllm", source)
        _check(0 <= self.min_judge_coverage <= 1, source, f"{where}.min_judge_coverage", "must be in [0, 1]")
        self.sampled.validate(f"{where}.sampled", source)
        seen = set(self.models) | set(sampled_rows(self))
        for i, baseline in enumerate(self.api_baselines):
            key = f"{where}.api_baselines[{i}]"
            baseline.validate(key, source)
            _check(baseline.name not in seen and baseline.name not in EVAL_MODELS, source, f"{key}.name",
                   f"{baseline.name!r} is already a model or row name")
            seen.add(baseline.name)
        _check(0 < len(self.headline) <= MAX_HEADLINE, source, f"{where}.headline",
               f"1 to {MAX_HEADLINE} metric keys: the columns `dvc exp show` prints (the rest is in "
               "metrics/evaluate.json)")


def sampled_rows(ev) -> dict[str, str]:
    """{row: model} of evaluate's sampled rows, in the order of ``evaluate.models`` (evaluated models only).
    A function, not a method: the stages hold the config as an OmegaConf node."""
    return {name + SAMPLED: name for name in ev.models if name in ev.sampled.models}
