"""The requests the engine refuses, each with the HTTP status the app answers it with.

Imports the A-Tune formats only (for :class:`~atune_bridge.AtuneBridgeError`).
"""

from __future__ import annotations

from atune_bridge._format import AtuneBridgeError


class EngineRequestError(AtuneBridgeError):
    """A request the engine refuses; ``status`` is its HTTP status, ``message`` what atuned prints."""

    status: int = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class UnknownTaskError(EngineRequestError):
    """No task has this id (never created, deleted, or lost with an in-memory storage)."""

    status = 404


class OutOfOrderError(EngineRequestError):
    """A PUT does not follow the task's sequence (iteration skipped, baseline twice, after the end)."""

    status = 409


class EngineBusyError(EngineRequestError):
    """The engine holds as many tasks as it may and none can make room (503; retry later)."""

    status = 503
