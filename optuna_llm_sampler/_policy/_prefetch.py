"""A model call made ahead of its round, in the background, so the round finds it ready.

With ``LLMSampler(prefetch=True)`` the sampler starts the next LLM round's model call as soon
as the current round's last configuration is taken, while the objective runs. The prompt then
holds the history as it was at that moment: the trials still running are missing from it, and
each trial of the round records which ones (``llm_prefetch``).

At most one call is ahead at a time, per sampler. It runs in a daemon thread, so it never keeps
the process alive, and it is joined when its round asks for it. The call started after a
study's last round is not used unless the study goes on (another ``optimize`` with the same
sampler); :meth:`Prefetch.join` waits for it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any
from typing import Generic
from typing import TYPE_CHECKING
from typing import TypeVar


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Hashable


_logger = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclasses.dataclass
class _Pending(Generic[_T]):
    key: Hashable
    thread: threading.Thread
    result: list[_T] = dataclasses.field(default_factory=list)
    error: list[BaseException] = dataclasses.field(default_factory=list)


class Prefetch(Generic[_T]):
    """At most one background call, kept under the key of the round it is for."""

    def __init__(self) -> None:
        self._pending: _Pending[_T] | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Neither a lock nor a running thread pickles (Ray pickles samplers); a copy starts
        # with nothing ahead.
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def pending(self, key: Hashable) -> bool:
        """Whether a call for ``key`` was started and not taken yet."""
        with self._lock:
            return self._pending is not None and self._pending.key == key

    def start(self, key: Hashable, call: Callable[[], _T | None]) -> bool:
        """Run ``call`` in a daemon thread for the round ``key``, unless one is ahead already.

        A finished call for another key is dropped (its round was taken by someone else); a
        running one is left to finish, and nothing new starts.
        """
        with self._lock:
            current = self._pending
            if current is not None and (current.key == key or current.thread.is_alive()):
                return False
            pending: _Pending[_T] = _Pending(key, threading.Thread())

            def run() -> None:
                try:
                    value = call()
                    if value is not None:
                        pending.result.append(value)
                except BaseException as e:  # Reported to the round, not lost in the thread.
                    pending.error.append(e)

            pending.thread = threading.Thread(target=run, name="optuna-llm-sampler-prefetch", daemon=True)
            self._pending = pending
            pending.thread.start()
            return True

    def take(self, key: Hashable, timeout: float | None) -> _T | None:
        """The result of the call for ``key``, waiting at most ``timeout`` s; None if there is
        none, it gave none, it failed unexpectedly or it is still running then."""
        with self._lock:
            pending = self._pending
            if pending is None or pending.key != key:
                return None
            self._pending = None
        pending.thread.join(timeout)
        if pending.thread.is_alive():
            _logger.warning("The prefetched model call for %s is still running; asking anew.", key)
            return None
        if pending.error:
            error = pending.error[0]
            _logger.warning(
                "The prefetched model call for %s failed (%s: %s); asking anew.",
                key,
                type(error).__name__,
                error,
            )
            return None
        return pending.result[0] if pending.result else None

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the call ahead, if any, to end; True when no call is running afterwards."""
        with self._lock:
            pending = self._pending
        if pending is None:
            return True
        pending.thread.join(timeout)
        return not pending.thread.is_alive()
