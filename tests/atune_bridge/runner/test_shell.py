"""How values and benchmark output reach a shell: A-Tune's substitution, made injection-proof."""

from __future__ import annotations

import shlex
import threading
import time
from pathlib import Path

import pytest

from atune_bridge import DomainError, Knob, UnsafeValueError
from atune_bridge._runner._shell import (
    OUT_VARIABLE,
    CommandInterrupted,
    run_command,
    substitute_out,
    substitute_value,
    truncate,
    value_text,
)

from toy_project import pid_alive

HOSTILE = [
    "1; rm -rf /",
    "$(touch pwned)",
    "`touch pwned`",
    "a'b",
    'a"b',
    "a\nb",
    "x && touch pwned",
    "x | touch pwned",
    "*",
    "~root",
    "a\\b",
    "x>pwned",
]


def string_knob(*options: str, set_cmd: str = "echo $value") -> Knob:
    return Knob("mode", "discrete", "string", options=options, set=set_cmd)


INT_KNOB = Knob("workers", "discrete", "int", scope=(1, 8), step=1, set="echo $value")


def sh(command: str, tmp_path: Path, **kwargs: object) -> str:
    result = run_command(command, timeout=10, cwd=tmp_path, **kwargs)  # type: ignore[arg-type]
    assert result.ok, result
    return result.stdout


# --------------------------------------------------------------------------- $value


def test_a_value_in_the_domain_is_substituted_as_atune_does(tmp_path: Path) -> None:
    assert substitute_value("sysctl -w n=$value", value_text(INT_KNOB, 4)) == "sysctl -w n=4"
    # several words: wrapped in double quotes, as A-Tune's RunSet does
    knob = string_knob("4096 16384 4194304")
    assert substitute_value("sysctl -w n=$value", value_text(knob, "4096 16384 4194304")) == \
        'sysctl -w n="4096 16384 4194304"'


def test_a_value_inside_a_single_quoted_sed_expression_reaches_the_file(tmp_path: Path) -> None:
    (tmp_path / "c.conf").write_text("workers=1\nother=x\n")
    command = substitute_value("sed -i 's/^workers=.*/workers=$value/g' c.conf", value_text(INT_KNOB, 6))
    sh(command, tmp_path)
    assert (tmp_path / "c.conf").read_text() == "workers=6\nother=x\n"


def test_a_multi_word_value_arrives_as_one_argument(tmp_path: Path) -> None:
    knob = string_knob("very fast")
    command = substitute_value('printf "%s|" $value', value_text(knob, "very fast"))
    assert sh(command, tmp_path) == "very fast|"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_value_is_refused_even_when_the_yaml_lists_it(hostile: str, tmp_path: Path) -> None:
    knob = string_knob("safe", hostile)
    with pytest.raises(UnsafeValueError, match="mode: value"):
        value_text(knob, hostile)
    with pytest.raises(UnsafeValueError):
        substitute_value("echo $value", hostile)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("value", [9, 0, 2.5, "4; touch pwned", "$(touch pwned)"])
def test_a_value_outside_the_declared_domain_is_refused(value: object) -> None:
    with pytest.raises(DomainError, match="workers"):
        value_text(INT_KNOB, value)


def test_values_read_from_the_system_skip_the_domain_but_not_the_characters() -> None:
    assert value_text(INT_KNOB, "64", check_domain=False) == "64"
    with pytest.raises(UnsafeValueError):
        value_text(INT_KNOB, "64; touch pwned", check_domain=False)


def test_name_is_replaced_under_the_same_rule() -> None:
    assert substitute_value("set $name=$value", "1", name="vm.x") == "set vm.x=1"
    with pytest.raises(UnsafeValueError):
        substitute_value("set $name=$value", "1", name="x;y")


# --------------------------------------------------------------------------- $out


HOSTILE_OUTPUT = "it's \"quoted\" $(touch pwned) `touch pwned` ; touch pwned\nTIMING: rps 1234.5\n"


@pytest.mark.parametrize(
    "template",
    [
        "echo '$out' | grep TIMING | awk '{print $3}'",   # A-Tune's usual form
        'echo "$out" | grep TIMING | awk \'{print $3}\'',  # double quotes
        "echo $out | tr ' ' '\\n' | grep -A2 TIMING | tail -1",  # bare
        "printf '%s\\n' '$out' | sed -n 's/^TIMING: rps //p'",
    ],
)
def test_benchmark_output_is_read_never_run(template: str, tmp_path: Path) -> None:
    command = substitute_out(template)
    assert "touch" not in command
    out = sh(command, tmp_path, env={OUT_VARIABLE: HOSTILE_OUTPUT})
    assert out.strip() == "1234.5"
    assert not (tmp_path / "pwned").exists()


def test_out_holding_quotes_comes_through_verbatim(tmp_path: Path) -> None:
    out = sh(substitute_out("printf '%s' '$out'"), tmp_path, env={OUT_VARIABLE: HOSTILE_OUTPUT})
    assert out == HOSTILE_OUTPUT


def test_long_output_is_read_from_a_file(tmp_path: Path) -> None:
    big = "x" * 300_000 + "\nTIMING: rps 42\n"
    (tmp_path / "out.txt").write_text(big)
    command = substitute_out("echo '$out' | grep TIMING | awk '{print $3}'", from_file=True)
    assert sh(command, tmp_path, env={"ATUNE_OUT_FILE": str(tmp_path / "out.txt")}).strip() == "42"


# --------------------------------------------------------------------------- running


def test_a_failed_command_keeps_its_output(tmp_path: Path) -> None:
    result = run_command("echo to-stdout; echo to-stderr >&2; exit 3", timeout=10, cwd=tmp_path)
    assert (result.ok, result.returncode) == (False, 3)
    assert result.stdout == "to-stdout\n"
    assert result.stderr == "to-stderr\n"
    assert result.describe() == "exited with status 3: to-stderr"


def test_combined_output_interleaves_stderr(tmp_path: Path) -> None:
    result = run_command("echo a; echo b >&2; echo c", timeout=10, combined=True)
    assert result.stdout == "a\nb\nc\n"


def test_a_command_over_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    start = time.monotonic()
    result = run_command("sleep 30 & echo $! > child; sleep 30", timeout=0.5, cwd=tmp_path)
    assert result.timed_out and not result.ok
    assert time.monotonic() - start < 5
    child = int((tmp_path / "child").read_text())
    time.sleep(0.2)
    assert not pid_alive(child)
    assert "timed out" in result.describe()


def test_a_daemon_started_in_the_background_does_not_hold_the_command(tmp_path: Path) -> None:
    start = time.monotonic()
    result = run_command("sleep 5 & echo $! > daemon; echo started", timeout=10, cwd=tmp_path)
    assert result.ok and result.stdout == "started\n"
    assert time.monotonic() - start < 2
    daemon = int((tmp_path / "daemon").read_text())
    assert pid_alive(daemon)  # a service started by startworkload survives its command
    import os
    import signal

    os.kill(daemon, signal.SIGKILL)


def test_cancel_stops_a_running_command(tmp_path: Path) -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(CommandInterrupted):
        run_command("sleep 30", timeout=60, cancel=cancel)
    assert time.monotonic() - start < 5
    with pytest.raises(CommandInterrupted):
        run_command("touch never", timeout=5, cancel=cancel, cwd=tmp_path)
    assert not (tmp_path / "never").exists()


def test_only_the_last_bytes_of_a_long_output_are_read(tmp_path: Path) -> None:
    import tracemalloc

    # 30 MB of output; only its last 1 MiB, from the start of a line, reaches memory.
    command = "head -c 30000000 /dev/zero | tr '\\0' 'x' | fold -w 1000; echo; echo 'rps 1234.5'"
    tracemalloc.start()
    try:
        result = run_command(command, timeout=60, cwd=tmp_path, combined=True, max_output=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok and result.stdout.endswith("\nrps 1234.5\n")
    assert len(result.stdout) <= 1 << 20 and result.stdout.startswith("x" * 1000 + "\n")
    total = int(run_command(f"({command}) | wc -c", timeout=60).stdout)
    assert result.cut + len(result.stdout) == total
    assert peak < 8 << 20, peak  # reading it whole took over 60 MB (bytes, then text)


def processes_in_sessions(sessions: set[int]) -> list[int]:
    """Live processes whose session is one of ``sessions`` (field 6 of /proc/PID/stat)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[3]) in sessions:
            found.append(int(stat.parent.name))
    return found


def test_nothing_of_a_finished_command_stays_behind_not_even_its_watcher(tmp_path: Path) -> None:
    # Each command runs in a session of its own, led by the shell whose $$ it prints.
    sessions = {int(sh("echo $$", tmp_path)) for _ in range(5)}
    time.sleep(1.5)
    assert processes_in_sessions(sessions) == []


def test_truncate_keeps_head_and_tail() -> None:
    text = "HEAD" + "x" * 10_000 + "TAIL"
    cut = truncate(text, 300)
    assert cut.startswith("HEAD") and cut.endswith("TAIL") and len(cut) < 400
    assert truncate("short", 300) == "short"


def test_every_evaluation_in_atunes_examples_stays_valid_shell(examples: Path) -> None:
    from atune_bridge import load_client

    gets = [e.get for f in sorted(examples.rglob("*client*.yaml")) for e in load_client(f).evaluations]
    assert len(gets) >= 15
    for get in gets:
        command = substitute_out(get)
        assert "$out" not in command
        assert ("ATUNE_OUT" in command) == ("$out" in get)
        check = run_command(f"sh -n -c {shlex.quote(command)}", timeout=10)
        assert check.ok, (get, command, check.stderr)
