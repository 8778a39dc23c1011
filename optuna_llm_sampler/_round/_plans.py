"""Plans: the parameters decided for a trial in ``before_trial``, read back as it is sampled."""

from __future__ import annotations

import threading
from typing import Any
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from collections.abc import Mapping


class Plans:
    """Planned parameters by trial id, safe for several threads of one process.

    A plan lives from ``before_trial`` (the baseline, or the model's configuration) until
    ``after_trial``. Pickles empty of its lock (Ray Tune pickles the sampler).
    """

    def __init__(self) -> None:
        self._plans: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            return {"plans": dict(self._plans)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._plans = dict(state["plans"])
        self._lock = threading.Lock()

    def get(self, trial_id: int) -> dict[str, Any] | None:
        with self._lock:
            return self._plans.get(trial_id)

    def set(self, trial_id: int, params: Mapping[str, Any]) -> None:
        with self._lock:
            self._plans[trial_id] = dict(params)

    def drop(self, trial_id: int) -> None:
        with self._lock:
            self._plans.pop(trial_id, None)
