"""ModelBudget: caps on the model calls and model seconds one study may spend.

Spending is read from the round records in the study's storage (one per model round, with the
seconds the call took), so every worker sharing the study sees the same total and stops at the
same point.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._records import _attrs
from optuna_llm_sampler._errors import ConfigError


if TYPE_CHECKING:
    from collections.abc import Mapping


_CALLED = ("asking", "done", "failed", "unusable")
"""Round statuses that stand for a model call (``asking``: one in flight in another worker)."""


@dataclasses.dataclass(frozen=True)
class ModelBudget:
    """Caps on how much of the model one study may use; past a cap the base sampler takes over.

    Once either cap is reached, LLM-scheduled trials go to the base sampler with the reason in
    their ``llm_note`` attribute. A call in flight is not interrupted: the last call may take
    the total past ``max_seconds`` (bound it with the sampler's ``timeout``).

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import LLMSampler, ModelBudget, make_chat_model

            sampler = LLMSampler(
                make_chat_model("random:0"),
                search_space={"x": optuna.distributions.IntDistribution(1, 64)},
                budget=ModelBudget(max_calls=2),
            )
            study = optuna.create_study(sampler=sampler)
            study.optimize(lambda t: (t.suggest_int("x", 1, 64) - 24) ** 2, n_trials=12)
            print([t.user_attrs.get("llm_note") for t in study.trials])

    Args:
        max_calls:
            Most model calls (rounds) per study; :obj:`None` (default) for no cap.
        max_seconds:
            Most seconds of model calls per study, summed over the calls; :obj:`None`
            (default) for no cap.
    """

    max_calls: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        calls = self.max_calls
        if calls is not None and (isinstance(calls, bool) or not isinstance(calls, int) or calls < 0):
            raise ConfigError(f"max_calls must be an int >= 0 or None, got {calls!r}")
        seconds = self.max_seconds
        if seconds is not None and (
            isinstance(seconds, bool)
            or not isinstance(seconds, (int, float))
            or not math.isfinite(seconds)
            or seconds < 0
        ):
            raise ConfigError(f"max_seconds must be a finite number >= 0 or None, got {seconds!r}")

    def spent(self, records: Mapping[str, Any]) -> str | None:
        """Why no more model calls may be made, from the study's system attributes; or None."""
        if self.max_calls is None and self.max_seconds is None:
            return None
        rounds = [v for k, v in records.items() if k.startswith(_attrs.ROUND_RECORD_PREFIX) and isinstance(v, dict)]
        calls = sum(int(r.get("calls", 1)) for r in rounds if r.get("status") in _CALLED)
        if self.max_calls is not None and calls >= self.max_calls:
            return f"model budget spent: {calls} call(s) made, max_calls={self.max_calls}"
        seconds = sum(float(r.get("seconds", 0.0)) for r in rounds)
        if self.max_seconds is not None and seconds >= self.max_seconds:
            return f"model budget spent: {seconds:.1f} s of model calls, max_seconds={self.max_seconds:g}"
        return None
