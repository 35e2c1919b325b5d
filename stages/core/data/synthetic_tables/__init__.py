"""The synthetic corpus's vocabularies and templates as data.

The YAML files beside this module hold every phrase stages/core/data/synthetic_corpus.py draws from (its
docstring says which file holds what; the files' own comments say what each table is for).
``load(name, shape)`` reads one of them through the shared table loader, stages/core/tables.py, whose
docstring describes the shapes.
"""

from __future__ import annotations

from stages.core import tables
from stages.core.tables import Fields, OneOf, OptionalKey, Seq, TableError, parse

__all__ = ["Fields", "OneOf", "OptionalKey", "Seq", "TableError", "load", "parse"]


def load(name: str, shape: dict) -> dict:
    """The file ``name`` of this package, checked against ``shape``; raises TableError."""
    return tables.load(__name__, name, shape)
