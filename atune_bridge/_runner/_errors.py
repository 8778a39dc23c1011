"""The runner's exceptions: why a project cannot be tuned, or a study not continued.

Imports the A-Tune formats only (for :class:`~atune_bridge.AtuneBridgeError`).
"""

from __future__ import annotations

from atune_bridge._format import AtuneBridgeError


class ProjectError(AtuneBridgeError):
    """The project cannot be tuned as given (nothing tunable, no benchmark, unreadable values)."""


class BaselineError(AtuneBridgeError):
    """The baseline could not be measured; nothing was tuned."""


class StudyBusyError(AtuneBridgeError):
    """Another live run holds the study's claim (see :mod:`atune_bridge._runner._claim`)."""


class StudyMismatchError(AtuneBridgeError):
    """The stored study was created for other objectives than this run asks for."""


class SamplerUnavailableError(AtuneBridgeError):
    """The requested LLM sampler cannot be built (package missing, unknown model spec)."""


class SystemFaultError(AtuneBridgeError):
    """The machine failed the run, not the project: the study's storage could not be read or
    written (a full disk, a lost database server), or a file or process could not be made. The
    values are set back first; the message names the cause and what was left applied."""
