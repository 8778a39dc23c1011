"""Exceptions and problem records of the A-Tune bridge.

A-Tune files are often hand-written and messy. The bridge separates two situations:

* a *problem* with one object or field: recorded as a :class:`Problem` on the loaded spec, so
  the rest of the file still loads (the object is left out of the search space when the
  problem is an error);
* a file that cannot be used at all (unreadable, not YAML even after repairs, not an A-Tune
  project): raised as :class:`AtuneFileError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing found wrong in an A-Tune file, naming the file, the object and the field.

    ``severity == "error"`` means the object was left out; ``"warning"`` means the bridge
    applied a documented tolerance rule (said in ``message``) and kept the object.
    """

    file: str
    object: str | None
    field: str | None
    message: str
    severity: Severity = "error"
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.object is not None:
            parts.append(f"object {self.object!r}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return f"{' '.join(parts)}: {self.severity}: {self.message}"


class AtuneBridgeError(Exception):
    """Base class of every error raised by :mod:`atune_bridge`."""


class AtuneFileError(AtuneBridgeError):
    """A whole file cannot be used (unreadable, not YAML, or not an A-Tune project file)."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


class InvalidKnobError(AtuneBridgeError):
    """One parameter (an ``object`` of a server file, or an engine knob) cannot be made valid."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class ParamStringError(AtuneBridgeError):
    """An A-Tune ``name=value,...`` string does not match the parameters it should describe."""


class DomainError(AtuneBridgeError):
    """A value lies outside the domain a parameter declares."""
