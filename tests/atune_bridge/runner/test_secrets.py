"""Keys out of the project's commands, the storage and the logs.

The end-to-end test plants keys in the environment of ``atune-bridge tune``, runs a project
whose benchmark fails once printing them, and greps everything the run wrote: the SQLite
file, its stdout and stderr at DEBUG level, the report.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

from atune_bridge import RunnerConfig, client_from_dict, server_from_dict
from atune_bridge._runner._secrets import (
    PASSED_ENVIRONMENT,
    RedactingFilter,
    command_environment,
    passed_variables,
    redact,
    secret_values,
)

from toy_project import ORIGINAL, Toy, copy_toy

PLANTED = {
    "OPENAI_API_KEY": "sk-planted-openai-0123456789",
    "DASHSCOPE_API_KEY": "planted-dashscope-9876543210",
    "TOY_DB_PASSWORD": "planted-password-55555",
}


def test_a_command_gets_the_allow_list_what_the_yaml_names_and_what_the_user_passes() -> None:
    server = server_from_dict({"project": "p", "environment": ["SVC_*"], "object": [{"name": "x", "info": {
        "get": "cat $CONF_DIR/x", "set": "echo $value > ${CONF_DIR}/x", "type": "discrete", "dtype": "int",
        "scope": [1, 3]}}]})
    client = client_from_dict({"benchmark": "bench --host $BENCH_HOST", "evaluations": [
        {"name": "rps", "info": {"get": "echo '$out'", "type": "negative"}}]})
    passed = passed_variables(("EXTRA",), server, client)
    assert passed[:len(PASSED_ENVIRONMENT)] == PASSED_ENVIRONMENT
    assert set(passed) - set(PASSED_ENVIRONMENT) == {"EXTRA", "SVC_*", "CONF_DIR", "BENCH_HOST"}  # not value/out
    environ = {"PATH": "/bin", "LC_ALL": "C", "SVC_PORT": "1", "CONF_DIR": "/etc/x", "EXTRA": "e",
               "OPENAI_API_KEY": "sk-x", "OTHER": "o"}
    env = command_environment(passed, {"ATUNE_VALUE": "3"}, environ)
    assert env == {"PATH": "/bin", "LC_ALL": "C", "SVC_PORT": "1", "CONF_DIR": "/etc/x", "EXTRA": "e", "ATUNE_VALUE": "3"}


def test_a_name_that_is_not_a_variable_is_refused_where_it_is_given(tmp_path: Path) -> None:
    client = client_from_dict({"environment": ["OK_*", "no spaces", "$(rm)"], "benchmark": "b", "evaluations": [
        {"name": "rps", "info": {"get": "echo '$out'", "type": "negative"}}]})
    assert client.environment == ("OK_*",)
    assert [p.message for p in client.errors] == [
        "'no spaces' is not a variable name (NAME or NAME*): left out",
        "'$(rm)' is not a variable name (NAME or NAME*): left out"]
    with pytest.raises(ValueError, match="RunnerConfig.pass_env: 'A B' is not a variable name"):
        RunnerConfig(pass_env=("A B",))
    toy = copy_toy(tmp_path)
    done = toy.cli("--pass-env", "A;B")
    assert done.returncode == 1 and "--pass-env takes variable names (NAME or NAME*), got A;B" in done.stderr


def test_the_values_of_credential_variables_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MYSQL_PWD", "planted-mysql")
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to redact safely
    monkeypatch.setenv("OLDPWD", "/home/someone")  # a folder, not a password
    assert set(secret_values()) >= {*PLANTED.values(), "planted-mysql"}
    assert "abc" not in secret_values() and "/home/someone" not in secret_values()
    assert redact(f"key={PLANTED['OPENAI_API_KEY']} pw={PLANTED['TOY_DB_PASSWORD']}") == "key=*** pw=***"
    assert redact("storage postgresql://tuner:hunter2@db:5432/x failed") == "storage postgresql://tuner:***@db:5432/x failed"
    assert redact("sqlite:////var/lib/a.db and http://host:3838/v1") == "sqlite:////var/lib/a.db and http://host:3838/v1"
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", (PLANTED["DASHSCOPE_API_KEY"],), None)
    try:
        raise RuntimeError(PLANTED["OPENAI_API_KEY"])
    except RuntimeError as exc:
        record.exc_info = (RuntimeError, exc, exc.__traceback__)
    assert RedactingFilter().filter(record)
    assert logging.Formatter().format(record).count("***") == 2
    assert not any(v in logging.Formatter().format(record) for v in PLANTED.values())


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return copy_toy(tmp_path)


@pytest.mark.timeout(120)
def test_planted_keys_reach_no_command_unasked_and_nothing_written_holds_them(toy: Toy) -> None:
    literal = " ".join(PLANTED.values())
    (toy.root / "leak.sh").write_text(
        "echo call >> leak.log\n"
        'if [ "$(wc -l < leak.log)" -eq 2 ]; then\n'
        "  env > seen_env.txt\n"
        f"  echo \"config says {literal}\"; echo \"from the environment: $TOY_DB_PASSWORD\" >&2; exit 3\n"
        "fi\nsh bench.sh\n")
    client = toy.client_path().read_text().replace('benchmark: "sh bench.sh"', 'benchmark: "sh leak.sh"')
    toy.client_path("leak_client.yaml").write_text(client)
    args = toy.cli_args("--trials", "3", "--pass-env", "TOY_DB_PASSWORD", "--confirm", "2", "--rerank", "0",
                        client="leak_client.yaml")
    args.insert(3, "-v")  # DEBUG logs: every command is logged
    done = subprocess.run(args, capture_output=True, text=True, timeout=100, cwd=toy.root,
                          env={**os.environ, **PLANTED})
    assert done.returncode == 0, done.stdout + done.stderr
    seen = dict(line.split("=", 1) for line in (toy.root / "seen_env.txt").read_text().splitlines() if "=" in line)
    assert "OPENAI_API_KEY" not in seen and "DASHSCOPE_API_KEY" not in seen  # never asked for
    assert seen["TOY_DB_PASSWORD"] == PLANTED["TOY_DB_PASSWORD"] and "PATH" in seen  # passed on request
    failed = toy.study().trials[1]
    assert failed.user_attrs["failed_stdout"].startswith("config says *** *** ***")
    assert "from the environment: ***" in failed.user_attrs["fail_reason"]
    written = {"stdout": done.stdout.encode(), "stderr": done.stderr.encode(),
               **{str(p): p.read_bytes() for p in toy.root.rglob("*")
                  if p.is_file() and p.name not in ("leak.sh", "seen_env.txt")}}
    assert "study.db" in " ".join(written) and any("report" in name for name in written)
    for value in PLANTED.values():
        holding = [name for name, data in written.items() if value.encode() in data]
        assert holding == [], (value, holding)
    assert toy.conf() == ORIGINAL
