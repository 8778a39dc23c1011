"""The ``atune-bridge`` command itself: its version."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

import atune_bridge
from atune_bridge._cli import main
from optuna_llm_sampler._version import __version__


def test_both_packages_report_the_installed_distribution_s_version() -> None:
    assert __version__ == importlib.metadata.version("optuna-llm-sampler")
    assert atune_bridge.__version__ == __version__ and "__version__" in atune_bridge.__all__


def test_version_prints_the_version_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"atune-bridge {__version__}\n"


def test_the_installed_command_prints_the_version() -> None:
    done = subprocess.run([sys.executable, "-m", "atune_bridge", "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, f"atune-bridge {__version__}\n"), done.stderr
