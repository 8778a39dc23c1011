"""``atune-bridge space FILE...``: tables, problems, exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
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


OBJ = "  - name: x\n    info: {set: 'y $value', type: discrete, dtype: %s, scope: [0, %s], step: %s%s}\n"


def _hostile(tmp_path: Path) -> dict[str, str]:
    """Hostile inputs to ``atune-bridge space``, by the fault each one has."""
    laughs = ["project: p", "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    files = {
        "laughs-options": "\n".join(laughs) + "\nobject:\n  - name: x\n    info: {set: y, dtype: string, options: *l9}\n",
        "laughs-desc": "\n".join(laughs) + "\nobject:\n  - name: x\n    info: {set: y, dtype: int, scope: [1, 2], desc: *l9}\n",
        "deep-flow": "project: p\nobject: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "deep-map": "project: p\nobject: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "deep-block": "project: p\nobject:\n" + "- " * 10_000 + "x\n",  # block lists, 10,000 deep
        "big": "project: p\nobject:\n" + "  # padding\n" * 200_000,
        "step-fine": "project: p\nobject:\n" + OBJ % ("float", 1, "1e-300", ""),
        "step-wide": "project: p\nobject:\n" + OBJ % ("float", "1e300", "1e-10", ""),
    }
    paths = {}
    for name, text in files.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        paths[name] = str(path)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    paths.update(fifo=str(fifo), zero="/dev/zero", directory=str(tmp_path))
    return paths


EXPECTED = {
    "laughs-options": "aliases (*name) expand the document past 200000 values",
    "laughs-desc": "aliases (*name) expand the document past 200000 values",
    "deep-flow": "nested more than 50 levels deep",
    "deep-map": "nested more than 50 levels deep",
    "deep-block": "nested more than 50 levels deep",
    "big": "larger than 1024 KiB",
    "step-fine": "makes more than 1e+15 values",
    "step-wide": "makes more than 1e+15 values",
    "fifo": "not a regular file (a FIFO)",
    "zero": "not a regular file (a character device)",
    "directory": "not a regular file (a directory)",
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_a_hostile_file_gives_a_one_line_error_and_status_1_in_seconds(tmp_path: Path, case: str) -> None:
    path = _hostile(tmp_path)[case]
    # In a subprocess capped at 1 GiB of memory, as a user's shell would run it.
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
    code = limit + "import sys; from atune_bridge._cli import main; sys.exit(main(['space', sys.argv[1]]))"
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    assert time.perf_counter() - start < 20
    assert result.returncode == 1, (result.stdout[-500:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stdout.splitlines() if "error" in line]
    assert errors and EXPECTED[case] in errors[0], result.stdout[-1000:]
    assert len(errors[0]) < 400
