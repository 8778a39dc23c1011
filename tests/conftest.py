from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "data" / "atune_examples"


@pytest.fixture
def examples() -> Path:
    """The 42 real A-Tune YAML files (copied from A-Tune's examples, quirks included)."""
    return EXAMPLES
