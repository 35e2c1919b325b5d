"""The ``model`` group: the backbone (built from scratch or from the hub), its sizes and LoRA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .checks import DTYPES, _check, _one_of

MODEL_SOURCES = ("scratch", "hub")


@dataclass
class Lora:
    enabled: bool
    r: int
    alpha: int
    dropout: float
    target_modules: list[str]


@dataclass
class Model:
    name: str
    source: str
    name_or_path: Optional[str]
    vocab_size: Optional[int]
    hidden_size: Optional[int]
    intermediate_size: Optional[int]
    num_hidden_layers: Optional[int]
    num_attention_heads: Optional[int]
    num_key_value_heads: Optional[int]
    max_position_embeddings: Optional[int]
    max_length: int
    dtype: str
    lora: Lora
    license: str = "other"     # the model card's `license` (model_card.py)

    def validate(self, where: str = "model", source: str = "params.yaml") -> None:
        _one_of(self.source, MODEL_SOURCES, source, f"{where}.source")
        _one_of(self.dtype, DTYPES, source, f"{where}.dtype")
        if self.source == "scratch":
            for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                        "num_attention_heads", "num_key_value_heads", "max_position_embeddings"):
                value = getattr(self, key)
                _check(value is not None and value > 0, source, f"{where}.{key}",
                       "a model built from scratch needs a positive size")
            _check(self.hidden_size % self.num_attention_heads == 0, source,
                   f"{where}.hidden_size", "must be divisible by model.num_attention_heads")
        else:
            _check(bool(self.name_or_path), source, f"{where}.name_or_path",
                   "a hub backbone needs a model id or a local path")
        _check(self.max_length > 0, source, f"{where}.max_length", "must be positive")
