"""A compact view of a study's trials, read from its storage, for the prompt.

The seed experiment scraped ``/var/log/messages``; here the study's storage is the only source,
so every worker (thread, process, machine) sees the same history.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any
from typing import TYPE_CHECKING

from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_llm_sampler._records import _attrs

if TYPE_CHECKING:
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial


@dataclasses.dataclass(frozen=True)
class TrialView:
    """What the prompt shows of one trial."""

    number: int
    state: str
    values: tuple[float, ...] | None
    params: dict[str, Any]
    source: str
    fail_reason: str | None = None
    origin: str | None = None
    """Where a warm-started trial's configuration came from (:data:`~optuna_llm_sampler._records._attrs.ATTR_WARM_START_FROM`)."""


@dataclasses.dataclass(frozen=True)
class HistoryView:
    """What the prompt shows of the study.

    ``best`` is sorted best first, ``recent`` newest last, ``failures`` newest last.
    """

    directions: tuple[str, ...]
    metric_names: tuple[str, ...] | None
    n_trials: int
    n_complete: int
    n_failed: int
    n_pruned: int
    baseline: TrialView | None
    best: list[TrialView]
    recent: list[TrialView]
    failures: list[TrialView]


def view_trial(trial: FrozenTrial, base_name: str = "base sampler") -> TrialView:
    """Return the compact view of ``trial``; one without a source attribute was proposed by
    the base sampler, named ``base_name``."""
    params = dict(trial.params) or dict(trial.system_attrs.get("fixed_params", {}) or {})
    reason = trial.user_attrs.get(_attrs.ATTR_FAIL_REASON) or trial.system_attrs.get("fail_reason")
    if trial.state is TrialState.FAIL and reason is None:
        reason = "no reason recorded"
    return TrialView(
        number=trial.number,
        state=trial.state.name,
        values=tuple(trial.values) if trial.values is not None else None,
        params=params,
        source=str(trial.user_attrs.get(_attrs.ATTR_SOURCE, base_name)),
        fail_reason=str(reason) if reason is not None else None,
        origin=_origin(trial),
    )


def _origin(trial: FrozenTrial) -> str | None:
    origin = trial.user_attrs.get(_attrs.ATTR_WARM_START_FROM)
    return str(origin) if origin else None


def read_history(
    study: Study,
    *,
    best: int = 5,
    recent: int = 5,
    failures: int = 3,
    trials: Sequence[FrozenTrial] | None = None,
    base_name: str = "base sampler",
) -> HistoryView:
    """Read the best, most recent and failed trials of ``study`` from its storage.

    Args:
        study: The study.
        best: How many of the best complete trials to show (the Pareto front for several
            objectives).
        recent: How many of the most recent finished trials to show.
        failures: How many of the most recent failed trials to show.
        trials: Trials already read from storage, to avoid reading them twice.
        base_name: The name shown for trials without a source attribute: the base sampler's.
    """
    if trials is None:
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
    # Discarded proposals never ran: they are neither failures nor history.
    trials = [t for t in trials if _attrs.ATTR_DISCARDED not in t.user_attrs]
    directions = tuple(d.name.lower() for d in study.directions)
    complete = [t for t in trials if t.state is TrialState.COMPLETE and t.values is not None]
    finished = [t for t in trials if t.state.is_finished()]
    failed = [t for t in trials if t.state is TrialState.FAIL]

    if len(study.directions) == 1:
        sign = -1.0 if study.directions[0] is StudyDirection.MAXIMIZE else 1.0
        ranked = sorted(complete, key=lambda t: (_key(sign * t.values[0]), t.number))
    else:
        ranked = _pareto_front(complete, study.directions)
    baseline = next(
        (t for t in trials if t.user_attrs.get(_attrs.ATTR_SOURCE) == _attrs.SOURCE_BASELINE),
        None,
    )
    try:
        metric_names = study.metric_names
    except Exception:  # A _BracketStudy or an old storage may not support it.
        metric_names = None
    return HistoryView(
        directions=directions,
        metric_names=tuple(metric_names) if metric_names else None,
        n_trials=len(trials),
        n_complete=len(complete),
        n_failed=len(failed),
        n_pruned=sum(t.state is TrialState.PRUNED for t in trials),
        baseline=view_trial(baseline) if baseline is not None else None,
        best=[view_trial(t, base_name) for t in ranked[: max(best, 0)]],
        recent=[view_trial(t, base_name) for t in finished[-recent:]] if recent > 0 else [],
        failures=[view_trial(t, base_name) for t in failed[-failures:]] if failures > 0 else [],
    )


def _key(value: float) -> float:
    return math.inf if math.isnan(value) else value


def _pareto_front(trials: list[FrozenTrial], directions: Sequence[StudyDirection]) -> list[FrozenTrial]:
    signs = [-1.0 if d is StudyDirection.MAXIMIZE else 1.0 for d in directions]
    points = [[s * v for s, v in zip(signs, t.values)] for t in trials]
    front = []
    for i, p in enumerate(points):
        dominated = any(
            all(a <= b for a, b in zip(q, p)) and any(a < b for a, b in zip(q, p))
            for j, q in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(trials[i])
    return front


def search_space_from_trials(trials: Sequence[FrozenTrial]) -> dict[str, BaseDistribution]:
    """Union of the distributions of finished trials, the latest distribution per name."""
    space: dict[str, BaseDistribution] = {}
    for trial in trials:
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            space.update(trial.distributions)
    return space


def evaluated_params(trials: Sequence[FrozenTrial]) -> list[dict[str, Any]]:
    """Parameters of every trial, finished or not, waiting ones from their fixed params."""
    out = []
    for trial in trials:
        if trial.params:
            out.append(dict(trial.params))
        elif trial.state is TrialState.WAITING:
            fixed = trial.system_attrs.get("fixed_params")
            if fixed:
                out.append(dict(fixed))
    return out
