"""``atune-bridge space FILE...``: tables, problems, exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from atune_bridge._cli import main


def test_a_server_file_prints_one_row_per_parameter(examples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["space", str(examples / "redis" / "redis_server.yaml")])
    out = capsys.readouterr().out
    assert status == 0
    assert "18 parameters" in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("NAME"))
    assert header.split() == ["NAME", "KIND", "DOMAIN", "STEP", "BASELINE"]
    somaxconn = next(line for line in lines if line.startswith("net.core.somaxconn"))
    assert somaxconn.split() == ["net.core.somaxconn", "int", "[128,", "65536]", "128"]
    keepalive = next(line for line in lines if line.startswith("redis.tcp-keepalive "))
    assert keepalive.split()[-1] == "300"  # the ref value is the baseline


def test_a_client_file_prints_its_evaluations(examples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", str(examples / "nginx" / "nginx_client.yaml")]) == 0
    out = capsys.readouterr().out
    assert "rps" in out and "maximise" in out and "benchmark: sh nginx/nginx_benchmark.sh" in out


def test_problems_are_printed_and_do_not_fail_a_usable_file(examples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", str(examples / "ffmpeg" / "ffmpeg_server.yaml")]) == 0
    out = capsys.readouterr().out
    assert "warning: YAML repaired" in out


def test_a_file_that_cannot_be_used_gives_exit_status_1_and_the_others_still_print(
    examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["space", str(examples / "tidb" / "topo.yaml"), str(examples / "tidb" / "tidb_server.yaml")])
    out = capsys.readouterr().out
    assert status == 1
    assert "not an A-Tune project file" in out
    assert "tidb_server.yaml (server" in out


def test_a_server_file_with_no_usable_object_gives_exit_status_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("project: p\nobject:\n  - name: x\n    info: {set: y, type: discrete, dtype: bool}\n")
    assert main(["space", str(path)]) == 1
    out = capsys.readouterr().out
    assert "object 'x' field 'dtype'" in out and "nothing usable" in out


def test_json_output_is_machine_readable(examples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["space", "--json", str(examples / "kafka" / "kafka_server.yaml")])
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["kind"] == "server" and entry["usable"] is True
    assert {"name": "kafka.linger_ms", "kind": "int", "domain": "[0, 30]", "step": "", "baseline": ""} in entry["parameters"]


def test_the_console_script_runs_without_langchain(examples: Path) -> None:
    code = (
        "import sys; from atune_bridge._cli import main; rc = main(['space', sys.argv[1]]);"
        "assert 'langchain_core' not in sys.modules and 'llama_cpp' not in sys.modules; sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(examples / "nginx" / "nginx_client.yaml")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
