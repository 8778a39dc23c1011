"""``atune-bridge serve``: its options, and the mistakes it reports before serving.

Serving itself (plain, restart on the same SQLite file, mutual TLS) runs the command in a
subprocess in ``engine/test_engine_http.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from atune_bridge._cli import build_parser, main


def parse(*argv: str):
    return build_parser().parse_args(["serve", *argv])


def test_defaults_match_a_tune_engine() -> None:
    args = parse()
    assert (args.host, args.port, args.storage, args.llm) == ("127.0.0.1", 3838, "sqlite:///atune-engine.db", "none")
    assert args.tls_cert is None and args.tls_key is None and args.tls_ca is None
    from atune_bridge._engine._store import MAX_TASKS

    assert args.history_dir is None and args.max_tasks == MAX_TASKS


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-key", "k.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-ca", "ca.pem"], "--tls-ca needs --tls-cert"),
        (["--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"], "cannot read the file"),
        (["--port", "70000"], "not a port number"),
        (["--knowledge", "notes.txt"], "needs --llm"),
        (["--llm", "bogus:thing", "--storage", "none"], "--llm bogus:thing"),
        (["--storage", "nosuchdialect://x"], "--storage nosuchdialect://x"),
        (["--history-dir", "/nonexistent/folder"], "--history-dir /nonexistent/folder: not a folder"),
        (["--max-tasks", "0"], "--max-tasks 0: at least 1"),
    ],
)
def test_mistakes_exit_2_with_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *argv]) == 2
    assert message in capsys.readouterr().err


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--storage", "--llm", "--tls-cert", "--tls-key", "--tls-ca", "--seed"):
        assert option in out


def test_loading_the_command_stays_cheap() -> None:
    code = (
        "import sys, atune_bridge._cli as c; c.build_parser(); "
        "print(sorted(m for m in ('uvicorn', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("missing", ["uvicorn", "fastapi"])
def test_without_the_engine_extra_it_names_the_extra_to_install(
    missing: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # as if not installed: importing it fails
    assert main(["serve", "--storage", "none"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'optuna-llm-sampler[engine]'" in err and "Traceback" not in err
