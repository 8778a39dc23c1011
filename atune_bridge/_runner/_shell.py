"""Running A-Tune's shell commands safely: substitution rules, timeouts, kept output.

A-Tune runs each ``set``, ``get``, ``startworkload``, ``stopworkload``, ``benchmark`` and
evaluation ``get`` with ``sh -c`` after plain text replacement of ``$value``, ``$name`` and
``$out``. The runner keeps A-Tune's meaning and closes the injection holes that plain
replacement opens. The rules:

``$value`` (a parameter's ``set``)
    The value is first checked against the parameter's declared domain
    (:func:`~atune_bridge.check_value`), then formatted as A-Tune formats it, and must then
    consist only of the characters ``A-Z a-z 0-9 . _ : / + -`` and spaces
    (:data:`SAFE_VALUE`). Only such a value is put into the command in place of each
    ``$value``, textually, exactly as A-Tune's ``RunSet`` does: wrapped in double quotes when
    it holds more than one word. Because none of these characters means anything to ``sh``,
    and none of them is a quote, the result is the same whether ``$value`` stands bare, inside
    double quotes, or inside a single-quoted ``sed`` expression such as
    ``sed -i 's/^x=.*/x=$value/g' file`` (where ``shlex.quote`` would break the expression).
    Any other value (``1; rm -rf /``, ``$(touch pwned)``, backticks, quotes, newlines, ``*``,
    ``~``) is refused with :class:`UnsafeValueError` and never reaches a shell. The value is
    also exported as ``$ATUNE_VALUE`` (and the parameter name as ``$ATUNE_NAME``) for scripts
    that prefer reading it from the environment.

``$name`` (``depend_on`` relations)
    Replaced by the relation's ``src_name`` under the same character rule.

``$out`` (an evaluation's ``get``)
    The benchmark's output is arbitrary text (a quote in it breaks A-Tune's
    ``echo '$out'``; a ``$(...)`` in it would run). It is never pasted into the command: it is
    exported as the environment variable ``ATUNE_OUT`` and each ``$out`` is replaced by a
    reference to that variable fitting the quoting context it stands in (found by scanning
    the command's quotes): ``'"$ATUNE_OUT"'`` inside single quotes, ``${ATUNE_OUT}`` inside
    double quotes, ``"$ATUNE_OUT"`` outside quotes. The shell expands a variable once and
    never re-reads its text as code. Outside quotes this differs from A-Tune in one way: the
    output is one word rather than split on whitespace and newlines (which in A-Tune turns
    each output line into a command). Quotes nested inside ``$(...)`` or backticks are not
    tracked; a ``$out`` there may come out as literal text, which fails the evaluation
    visibly, never runs the output.

Every command runs in its own session with ``/bin/sh -c``, stdin closed, stdout and stderr
written to temporary files (so a daemon started in the background cannot hold a pipe open),
under a timeout after which its whole process group is terminated. A cancel event stops a
running command the same way (used for Ctrl-C and SIGTERM). Only the last
:data:`MAX_OUTPUT_BYTES` of each output are read (from the start of a line): a benchmark that
prints hundreds of megabytes costs disk in the temporary folder, not memory. The command gets
only the environment variables it is passed (see :mod:`atune_bridge._runner._secrets`).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from atune_bridge._format import AtuneBridgeError, DomainError, Knob, check_value, format_value
from atune_bridge._runner._secrets import PASSED_ENVIRONMENT, command_environment, redact

logger = logging.getLogger(__name__)

SAFE_VALUE = re.compile(r"[A-Za-z0-9._:/+\- ]*")
"""The characters a value may hold to be substituted for ``$value`` in a command."""

SAFE_CHARACTERS = "A-Z a-z 0-9 . _ : / + - and space"

OUT_VARIABLE = "ATUNE_OUT"
"""The environment variable holding the benchmark's output for evaluation commands."""

MAX_OUTPUT_BYTES = 4 * 1024 * 1024
"""The most of a command's stdout (and of its stderr) that is read: its last bytes."""

_POLL_SECONDS = 0.05
_KILL_GRACE_SECONDS = 2.0


class UnsafeValueError(DomainError):
    """A value holds characters that cannot be put into a shell command safely."""


class CommandInterrupted(AtuneBridgeError):
    """A command was stopped because the run was asked to stop (Ctrl-C, SIGTERM, ``stop()``)."""


@dataclass(frozen=True)
class CommandResult:
    """What one shell command did: its exit status, output and time taken."""

    command: str
    returncode: int | None
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    cut: int = 0
    """Bytes of output left unread before the part kept (see :data:`MAX_OUTPUT_BYTES`)."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def describe(self) -> str:
        """A one-line reason for a failure: timeout or exit status, and the last stderr line
        (credentials redacted)."""
        if self.timed_out:
            what = f"timed out after {self.duration:.1f} s"
        else:
            what = f"exited with status {self.returncode}"
        tail = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return redact(f"{what}: {tail[-1][:200]}" if tail else what)


def check_safe(text: str, what: str) -> str:
    """``text`` unchanged when it holds only :data:`SAFE_VALUE` characters.

    Raises:
        UnsafeValueError: naming ``what`` and the characters at fault.
    """
    if SAFE_VALUE.fullmatch(text):
        return text
    bad = sorted({ch for ch in text if not SAFE_VALUE.fullmatch(ch)})
    shown = ", ".join(repr(ch) for ch in bad)
    raise UnsafeValueError(
        f"{what}: value {text!r} holds characters ({shown}) outside {SAFE_CHARACTERS}; "
        "it is not put into a shell command"
    )


def value_text(knob: Knob, value: Any, *, check_domain: bool = True) -> str:
    """The text that replaces ``$value`` in ``knob``'s ``set`` command, after both gates.

    ``check_domain=False`` is only for values the system itself reported (the original
    values read with ``get`` or given as ``ref``) when they are set back; they still pass
    the character rule.

    Example:
        >>> from atune_bridge import Knob
        >>> from atune_bridge._runner._shell import value_text
        >>> knob = Knob("workers", "continuous", "int", scope=(1, 8), set="echo $value")
        >>> value_text(knob, 4)
        '4'

    Raises:
        DomainError: the value is outside the knob's declared domain.
        UnsafeValueError: the value holds characters outside :data:`SAFE_VALUE`.
    """
    if check_domain:
        value = check_value(knob, value)
        text = format_value(knob, value)
    else:
        text = str(value).strip()
    return check_safe(text, knob.name)


def substitute_value(command: str, text: str, *, name: str = "") -> str:
    """A-Tune's ``RunSet`` replacement of ``$value`` (and ``$name``) in ``command``.

    ``text`` must already have passed :func:`value_text`; it is checked again here so no
    caller can skip the character rule. A value of several words is wrapped in double
    quotes, as A-Tune does.

    Raises:
        UnsafeValueError: ``text`` or ``name`` holds characters outside :data:`SAFE_VALUE`.
    """
    check_safe(text, "value")
    check_safe(name, "$name")
    replacement = f'"{text}"' if len(text.split()) > 1 else text.strip()
    return command.replace("$value", replacement).replace("$name", name)


def substitute_out(command: str, *, from_file: bool = False) -> str:
    """``command`` with each ``$out`` replaced by a quoted reference to ``$ATUNE_OUT``.

    With ``from_file`` the reference reads the output from the file named by
    ``$ATUNE_OUT_FILE`` instead (``$(cat "$ATUNE_OUT_FILE")``, trailing newlines dropped):
    for outputs longer than an environment variable may be.

    Example:
        >>> from atune_bridge._runner._shell import substitute_out
        >>> print(substitute_out("echo '$out' | grep rps"))
        echo ''"$ATUNE_OUT"'' | grep rps
    """
    ref = '$(cat "$ATUNE_OUT_FILE")' if from_file else f"${OUT_VARIABLE}"
    braced = ref if from_file else f"${{{OUT_VARIABLE}}}"
    out: list[str] = []
    state = "none"  # none, single, double
    i, n = 0, len(command)
    while i < n:
        if command.startswith("$out", i):
            if state == "single":
                out.append(f"'\"{ref}\"'")
            elif state == "double":
                out.append(braced)
            else:
                out.append(f'"{ref}"')
            i += 4
            continue
        ch = command[i]
        if state == "single":
            if ch == "'":
                state = "none"
        elif ch == "\\" and i + 1 < n:
            out.append(command[i : i + 2])
            i += 2
            continue
        elif state == "double":
            if ch == '"':
                state = "none"
        elif ch == "'":
            state = "single"
        elif ch == '"':
            state = "double"
        out.append(ch)
        i += 1
    return "".join(out)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and its tail."""
    if limit <= 0 or len(text) <= limit:
        return text
    head = limit // 3
    tail = limit - head
    return f"{text[:head]}\n... [{len(text) - limit} characters cut] ...\n{text[-tail:]}"


_GUARDED = """\
runner=$PPID
( trap '' TERM; while kill -0 "$runner" 2>/dev/null; do sleep 1; done
  kill -TERM 0; sleep 2; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &
watcher=$!
{
%s
} &
wait $!
status=$?
kill -KILL "$watcher" 2>/dev/null
exit "$status"
"""
"""The command in the background of a shell that also watches the runner: when the runner is
gone without ending the command (killed with SIGKILL), the watcher ends the command's whole
process group (SIGTERM, then SIGKILL two seconds later). Every other exit of the runner ends
the group itself (:func:`_terminate`). The watcher ignores SIGTERM (so that its own ``kill -TERM
0`` does not end it before the SIGKILL), so the shell ends it with SIGKILL once the command is
over; a plain ``kill`` left one watcher per command looping until the runner exited."""


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc`` and everything it started in its session: SIGTERM, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=_KILL_GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


def _read_tail(handle: Any, limit: int) -> tuple[str, int]:
    """The last ``limit`` bytes of ``handle`` from the start of a line, and the bytes left out."""
    size = handle.seek(0, os.SEEK_END)
    start = max(0, size - limit)
    handle.seek(start)
    data = handle.read(limit)
    if start:
        newline = data.find(b"\n", 0, 64 * 1024)
        if newline >= 0:
            data = data[newline + 1 :]
            start += newline + 1
    return data.decode("utf-8", errors="replace"), start


def run_command(
    command: str,
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    combined: bool = False,
    cancel: threading.Event | None = None,
    passed: Sequence[str] = PASSED_ENVIRONMENT,
    max_output: int = MAX_OUTPUT_BYTES,
) -> CommandResult:
    """Run ``command`` with ``/bin/sh -c`` and return what it did; never raises on failure.

    The command's environment is the variables of this process's that ``passed`` names
    (``NAME`` or ``NAME*``), plus ``env``. ``combined`` sends stderr into stdout, interleaved
    (A-Tune reads a benchmark's combined output). The command is stopped, with the processes
    it started, after ``timeout`` seconds. Of each output the last ``max_output`` bytes are
    read (``CommandResult.cut`` counts those left out).

    Example:
        >>> from atune_bridge._runner._shell import run_command
        >>> run_command("echo hello", timeout=5).stdout
        'hello\\n'

    Raises:
        CommandInterrupted: ``cancel`` was set before or while the command ran.
    """
    if cancel is not None and cancel.is_set():
        raise CommandInterrupted(f"not started: {command}")
    full_env = command_environment(passed, env)
    start = time.monotonic()
    timed_out = False
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", _GUARDED % command],
            stdin=subprocess.DEVNULL,
            stdout=out_file,
            stderr=out_file if combined else err_file,
            cwd=cwd,
            env=full_env,
            start_new_session=True,
        )
        # A thread blocks in waitpid so the exit is seen at once (Popen.wait(timeout) polls).
        exited = threading.Event()

        def wait_for_exit() -> None:
            proc.wait()
            exited.set()

        threading.Thread(target=wait_for_exit, daemon=True).start()
        try:
            while not exited.wait(_POLL_SECONDS):
                if cancel is not None and cancel.is_set():
                    _terminate(proc)
                    raise CommandInterrupted(f"stopped: {command}")
                if time.monotonic() - start >= timeout:
                    logger.warning("command timed out after %g s: %s", timeout, redact(command))
                    _terminate(proc)
                    timed_out = True
                    break
        except BaseException:
            if proc.poll() is None:
                _terminate(proc)
            raise
        stdout, cut = _read_tail(out_file, max_output)
        stderr, err_cut = ("", 0) if combined else _read_tail(err_file, max_output)
    result = CommandResult(command, proc.returncode, stdout, stderr, time.monotonic() - start, timed_out, cut + err_cut)
    if result.cut:
        logger.warning(
            "%s printed more than %d bytes: only the last are read (%d left out)",
            redact(command),
            max_output,
            result.cut,
        )
    logger.debug("%s -> %s in %.2f s", redact(command), proc.returncode, result.duration)
    return result
