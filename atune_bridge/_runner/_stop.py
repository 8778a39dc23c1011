"""When a run may stop before its budget: a target gain over the baseline, or patience.

* ``target_gain``: stop once the best trial's gain over the baseline reaches this many percent
  (A-Tune's LLM tuner stops at 10% by default; the runner does not unless asked, because a
  single noisy measurement reaching it proves little: the confirmation says how much it holds).
  The gain is the one the report shows: with one evaluation, the metric's change in percent in
  its better direction; with several, A-Tune's weighted improvement rate.
* ``patience``: stop after this many finished trials (failed ones included) since the best
  one without a better one; the baseline counts as the first best.

Why it stopped is stored on the study as the user attribute ``atune_bridge:stopped``
(:data:`STUDY_STOPPED`): ``{"rule": "target_gain" | "patience", "reason": text,
"trial": the best trial's number, "finished": finished trials then, "gain_pct": the gain}``.

Example:
    >>> from atune_bridge._runner._stop import StopRules
    >>> StopRules(target_gain=10.0).active, StopRules().active
    (True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

from atune_bridge._format import Scoring, improve_rate_text

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

STUDY_STOPPED = "atune_bridge:stopped"
"""The study user attribute saying why a run stopped before its budget (see the module doc)."""


def gain_over_baseline(scoring: Scoring, baseline: Mapping[str, float], best: FrozenTrial) -> float | None:
    """The best trial's gain over the baseline in percent, positive when better (see the module doc)."""
    metrics = best.user_attrs.get("metrics") or {}
    if len(scoring.evaluations) == 1:
        evaluation = scoring.evaluations[0]
        base, now = baseline.get(evaluation.name), metrics.get(evaluation.name)
        if base is None or now is None or base == 0:
            return None
        change = (float(now) - base) / abs(base) * 100.0
        return change if evaluation.higher_is_better else -change
    objective = best.user_attrs.get("atune_objective")
    if objective is None:
        return None
    return float(improve_rate_text(float(objective), scoring.signed(baseline)))


@dataclass(frozen=True)
class StopRules:
    """The rules that may end a run early; none by default.

    Args:
        target_gain: Percent gain over the baseline that ends the run. None: never.
        patience: Finished trials since the best one without improvement that end the run.
            None: never.
    """

    target_gain: float | None = None
    patience: int | None = None

    def __post_init__(self) -> None:
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be at least 1 trial, got {self.patience!r}")
        if self.target_gain is not None and not self.target_gain > 0:
            raise ValueError(f"target gain must be a positive percentage, got {self.target_gain!r}")

    @property
    def active(self) -> bool:
        return self.target_gain is not None or self.patience is not None

    def check(
        self, study: Study, scoring: Scoring, baseline: Mapping[str, float] | None, best: FrozenTrial | None
    ) -> dict[str, Any] | None:
        """Why the run should stop now (the record of the module doc), or None to go on."""
        if best is None or baseline is None:
            return None
        gain = gain_over_baseline(scoring, baseline, best)
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
        record = {"trial": best.number, "finished": len(finished), "gain_pct": gain}
        if self.target_gain is not None and gain is not None and gain >= self.target_gain:
            return {
                "rule": "target_gain",
                **record,
                "reason": f"trial {best.number} reached a gain of {gain:+.2f}% over the baseline "
                f"(target {self.target_gain:g}%)",
            }
        if self.patience is not None:
            since = sum(1 for t in finished if t.number > best.number)
            if since >= self.patience:
                return {
                    "rule": "patience",
                    **record,
                    "reason": f"{since} finished trials since trial {best.number} without a better one "
                    f"(patience {self.patience})",
                }
        return None
