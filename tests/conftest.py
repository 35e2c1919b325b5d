import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stages.core.tracking import QUIET_ENV

os.environ.update(QUIET_ENV)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def fmt():
    from stages.core.format import ResponseFormat

    return ResponseFormat("four_span", "Be kind.\nUser profile:\n{persona}")
