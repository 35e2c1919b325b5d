"""The ``format`` group: output style (its spans live in stages/core/format.py) and system prompt."""

from __future__ import annotations

from dataclasses import dataclass

from ..format import STYLES
from .checks import _check, _one_of


@dataclass
class Format:
    style: str
    system_prompt: str

    def validate(self, where: str = "format", source: str = "params.yaml") -> None:
        _one_of(self.style, tuple(STYLES), source, f"{where}.style")
        _check("{persona}" in self.system_prompt, source, f"{where}.system_prompt",
               "must contain the {persona} slot")
