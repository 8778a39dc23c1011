"""Both packages pass ruff (lint and format) and mypy under the settings in pyproject.toml.

The settings are the project's own (``[tool.ruff]``, ``[tool.mypy]``); the OptunaHub package
has the registry's, checked in ``tests/optunahub/``. A finding fails the test with the tool's
own report, which names the file, the line and the rule.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["optuna_llm_sampler", "atune_bridge"]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]' (scripts/test.sh does)")
    return found


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "--no-cache", *PACKAGES],
        ["ruff", "format", "--check", "--no-cache", *PACKAGES],
        ["mypy", "--cache-dir", "/dev/null", *PACKAGES],
    ],
    ids=["ruff", "ruff-format", "mypy"],
)
def test_the_packages_are_clean(command: list[str]) -> None:
    out = subprocess.run([_tool(command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
