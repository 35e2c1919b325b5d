"""The ``synthesize`` group: `python -m stages.synthesize`'s backend, loop limits, filters, endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .checks import _check, _one_of
from .endpoint import Endpoint

SYNTH_BACKENDS = ("embedded", "openai")


@dataclass
class SynthFilters:
    persona_drift: bool
    emotion_jump: bool
    structure: bool


@dataclass
class Synthesize:
    backend: str
    n_dialogues: int
    n_personas: int
    seeds_path: Optional[str]
    max_exchanges: int
    max_revisions: int
    prompts: str
    filters: SynthFilters
    openai: Endpoint

    def validate(self, where: str = "synthesize", source: str = "params.yaml") -> None:
        _one_of(self.backend, SYNTH_BACKENDS, source, f"{where}.backend")
        for key in ("n_dialogues", "n_personas", "max_exchanges"):
            _check(getattr(self, key) > 0, source, f"{where}.{key}", "must be positive")
        _check(self.max_revisions >= 0, source, f"{where}.max_revisions", "must be >= 0")
        _check(bool(self.prompts), source, f"{where}.prompts", "a prompt template version")
        # The embedded backend replays its own scripted dialogues (persona pool and situation tables):
        # scenario seeds give it nothing to play, so only the LLM backend takes them.
        _check(self.seeds_path is None or self.backend == "openai", source, f"{where}.seeds_path",
               "scenario seeds need synthesize.backend=openai (the embedded backend uses its own pools)")
        self.openai.validate(f"{where}.openai", source)
