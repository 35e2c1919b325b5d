"""The ``judge`` / ``eval_judge`` group: the backend (a key of ``BACKENDS`` in
stages/core/judges/__init__.py, the one registry of them), its rubric, cache, endpoint and server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .checks import DTYPES, _check, _one_of
from .endpoint import Endpoint
from .serving import ServerLifecycle, VllmSizes


@dataclass
class JudgeServe(ServerLifecycle, VllmSizes):
    """`python -m stages.serve_judge`: `vllm serve <model>` at the judge's base_url."""

    def validate(self, where: str, source: str = "params.yaml") -> None:
        super().validate(where, source)
        _check(self.startup_timeout_s > 0, source, f"{where}.startup_timeout_s", "must be positive")


@dataclass(kw_only=True)
class Judge(Endpoint):
    """One judge config (conf/judge/); composed twice, as `judge` (grpo) and `eval_judge` (evaluate).
    The openai backend's endpoint fields are its own (flat); hf uses model and max_tokens of them."""

    backend: str
    rubric: str = "kardia_v1"                # stages/core/judges/rubrics/<rubric>.yaml
    cache: bool = True
    preflight: bool = True
    batch_size: int = 8                      # hf
    dtype: str = "float32"                   # hf
    serve: Optional[JudgeServe] = None       # openai: how stages.serve_judge starts its server

    def validate(self, where: str = "judge", source: str = "params.yaml") -> None:
        from ..judges import BACKENDS  # here, not at import: the judges import config
        from ..judges.rubric import RUBRIC_DIR

        _one_of(self.backend, tuple(BACKENDS), source, f"{where}.backend")
        rubrics = sorted(p.stem for p in RUBRIC_DIR.glob("*.yaml"))
        _one_of(self.rubric, tuple(rubrics), source, f"{where}.rubric")
        if self.backend == "openai":
            super().validate(where, source)
            if self.serve is not None:
                self.serve.validate(f"{where}.serve", source)
        if self.backend == "hf":
            _check(bool(self.model), source, f"{where}.model", "the hf judge needs a model")
            _check(self.max_tokens > 0, source, f"{where}.max_tokens", "must be positive")
            _check(self.batch_size > 0, source, f"{where}.batch_size", "must be positive")
            _one_of(self.dtype, DTYPES, source, f"{where}.dtype")
