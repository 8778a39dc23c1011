"""The system the runner drives: the service's parameters, read, set and restarted through
the project's commands (:mod:`atune_bridge._runner._shell`), and what is applied now.

Imports the A-Tune formats and the runner's ``_shell``, ``_secrets``, ``_errors``, ``_config``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from atune_bridge._runner._errors import ProjectError
from atune_bridge._runner._secrets import PASSED_ENVIRONMENT, redact
from atune_bridge._runner._shell import CommandResult, run_command, substitute_value

if TYPE_CHECKING:
    from atune_bridge._format import Knob, ServerSpec
    from atune_bridge._runner._config import RunnerConfig

logger = logging.getLogger(__name__)


class _StepFailed(Exception):
    """One step of a trial failed; carries what to keep on the trial."""

    def __init__(
        self, step: str, reason: str, result: CommandResult | None = None, extra: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.step = step
        self.reason = reason
        self.result = result
        self.extra = dict(extra or {})


def _normalise(knob: Knob, text: str) -> str:
    text = text.strip()
    return " ".join(text.split()) if knob.dtype == "string" else text


def _same(knob: Knob, a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    if knob.dtype != "string":
        try:
            return float(a) == float(b)
        except ValueError:
            pass
    return _normalise(knob, a) == _normalise(knob, b)


def mismatch_text(differ: Mapping[str, str], target: Mapping[str, str]) -> str:
    """Why values read back (see :meth:`_System.verify`) say they are not as set."""
    return "read back with each get after setting them, " + ", ".join(
        f"{n} is {v}" if v.startswith("unreadable") else f"{n} is {v} (set {target[n]})" for n, v in differ.items()
    )


class _System:
    """The service's parameters: reads them, sets them, restarts, remembers what is applied."""

    def __init__(
        self,
        server: ServerSpec,
        knobs: Sequence[Knob],
        config: RunnerConfig,
        passed: Sequence[str] = PASSED_ENVIRONMENT,
    ) -> None:
        self.server = server
        self.knobs = list(knobs)
        self.config = config
        self.passed = tuple(passed)
        """The environment variables the commands get (see :mod:`atune_bridge._runner._secrets`)."""
        self.state: dict[str, str | None] = {k.name: None for k in self.knobs}
        self.restart_pending = False
        self.touched: set[str] = set()
        """The parameters a ``set`` was run for (what :meth:`verify` reads back)."""

    def _run(self, command: str, cancel: threading.Event | None, env: Mapping[str, str] | None = None) -> CommandResult:
        return run_command(
            command,
            timeout=self.config.command_timeout,
            env=env,
            cwd=self.config.workdir,
            cancel=cancel,
            passed=self.passed,
            max_output=self.config.max_output_bytes,
        )

    def read(self, knob: Knob) -> str:
        """The current value of ``knob`` read with its ``get``.

        Raises:
            ProjectError: the command failed or printed nothing.
        """
        result = self._run(knob.get, None)
        text = _normalise(knob, result.stdout)
        if not result.ok or not text:
            why = result.describe() if not result.ok else "it printed nothing"
            raise ProjectError(redact(f"{self.server.path}: object {knob.name!r}: get `{knob.get}` {why}"))
        return text

    def apply(self, target: Mapping[str, str], cancel: threading.Event | None, *, only_changed: bool) -> bool:
        """Set ``target`` (name to gated text), then restart if a needrestart value changed.

        Returns whether the service was restarted.

        Raises:
            _StepFailed: a set or restart command failed; ``state`` says what is known.
            CommandInterrupted: ``cancel`` was set.
        """
        merged = {k: v for k, v in self.state.items() if v is not None}
        merged.update(target)
        for knob in self.knobs:
            if knob.name not in target:
                continue
            text = target[knob.name]
            changed = not _same(knob, self.state[knob.name], text)
            if only_changed and not changed:
                continue
            name = ""
            active = True
            for rel in knob.relationships:
                if rel.type == "rely_on" and merged.get(rel.target) != rel.value:
                    active = False
                    break
                if rel.type == "depend_on" and merged.get(rel.target) == rel.value:
                    name = rel.src_name
            if not active:
                logger.info("%s: not set, its rely_on relation does not hold", knob.name)
                continue
            command = substitute_value(knob.set, text, name=name)
            if changed and knob.needrestart:
                # Pending until a restart succeeds, even if this trial fails before it.
                self.restart_pending = True
            self.state[knob.name] = None
            self.touched.add(knob.name)
            result = self._run(command, cancel, env={"ATUNE_VALUE": text, "ATUNE_NAME": knob.name})
            if not result.ok:
                raise _StepFailed(f"set {knob.name}", f"set of {knob.name}={text} {result.describe()}", result)
            self.state[knob.name] = text
        restarted = self.restart_pending
        if self.restart_pending:
            for step, command in (
                ("stopworkload", self.server.stopworkload),
                ("startworkload", self.server.startworkload),
            ):
                if not command:
                    continue
                result = self._run(command, cancel)
                if not result.ok:
                    raise _StepFailed(step, f"{step} {result.describe()}", result)
            self.restart_pending = False
        return restarted

    def verify(self, target: Mapping[str, str]) -> tuple[dict[str, str], list[str], list[str]]:
        """Read back each parameter of ``target`` a ``set`` was run for, with its ``get``.

        Returns what differs (name to what it reads, or why it cannot be read), the names that
        have no ``get`` to read them with, and the names read back as set. ``state`` takes the
        values read.
        """
        differ: dict[str, str] = {}
        unread: list[str] = []
        matched: list[str] = []
        for knob in self.knobs:
            if knob.name not in target or knob.name not in self.touched:
                continue
            if not knob.get:
                unread.append(knob.name)
                continue
            try:
                text = self.read(knob)
            except ProjectError as exc:
                self.state[knob.name] = None
                differ[knob.name] = f"unreadable ({exc})"
                continue
            self.state[knob.name] = text
            if _same(knob, text, target[knob.name]):
                matched.append(knob.name)
            else:
                differ[knob.name] = text
        return differ, unread, matched
