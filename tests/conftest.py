import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import stages  # noqa: F401 - sets the offline/quiet environment before HF libraries load


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def fmt():
    from stages.core.format import ResponseFormat

    return ResponseFormat("four_span", "Be kind.\nUser profile:\n{persona}")
