"""Compose conf/ into params.yaml exactly as `dvc exp run` does (DVC's own compose_and_dump).

The command is ``python -m tools.compose_params`` (``make params``)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def compose(output: Path, overrides: list[str]) -> None:
    from dvc.utils.hydra import compose_and_dump

    compose_and_dump(output, str(ROOT / "conf"), None, "config", str(ROOT / "conf"), overrides)
