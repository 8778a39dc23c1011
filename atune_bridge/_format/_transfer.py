"""Warm start: an earlier study's best trials, turned into seeds for a new study's sampler.

Both the runner (``--warm-start STUDY[@STORAGE]``) and the engine (A-Tune's ``history_path``)
seed a new study from earlier ones. A seed keeps only the parameters of the new search space
with values inside it; every parameter dropped, and every trial with nothing left, is named in
a note (logged by the caller and kept on the study), never silently. Seeds carry the user
attribute ``warm_start_from`` (:data:`WARM_START_FROM`, ``"STUDY@STORAGE trial N"``), which the
LLM sampler's prompt shows, so the model reads them as coming from another study.

What a caller does with them differs on purpose: the runner enqueues them (each is measured
again on this system and counts in the budget: a number measured elsewhere or earlier is not
this system's); the engine adds them as finished trials with their values (atuned measures,
the engine only proposes, as A-Tune's transfer learns from earlier records).

Example:
    >>> import optuna
    >>> from optuna.distributions import IntDistribution
    >>> from atune_bridge._format._transfer import best_trials_of, transfer_seeds
    >>> old = optuna.create_study(direction="maximize", study_name="old")
    >>> old.optimize(lambda t: t.suggest_int("x", 0, 20) + t.suggest_int("y", 0, 3), n_trials=5)
    >>> found, notes = transfer_seeds(best_trials_of(old, 2), {"x": IntDistribution(0, 50)}, source="old")
    >>> len(found), found[0].origin.startswith("old trial "), notes[0].endswith("not a parameter of this study")
    (2, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import TrialState

from atune_bridge._format._errors import AtuneBridgeError

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial

WARM_START_FROM = "warm_start_from"
"""The trial user attribute naming where a seed came from (the LLM sampler's
``ATTR_WARM_START_FROM``)."""

DEFAULT_BEST = 3
"""How many of an earlier study's best trials seed a new one: enough to start the search near
what worked, few enough that the new study's own exploration is not crowded out."""


class WarmStartError(AtuneBridgeError):
    """An earlier study named for a warm start cannot be read."""


def parse_source(text: str, default_storage: str) -> tuple[str, str]:
    """``STUDY@STORAGE`` (or ``STUDY``, with ``default_storage``) as ``(study, storage)``.

    The study name is what comes before the first ``@`` (a storage URL may hold one too).

    Raises:
        WarmStartError: the study name is empty.
    """
    name, sep, storage = text.partition("@")
    name = name.strip()
    if not name:
        raise WarmStartError(f"warm start {text!r}: no study name; write STUDY or STUDY@STORAGE")
    return name, (storage.strip() if sep and storage.strip() else default_storage)


def load_source(text: str, default_storage: str | optuna.storages.BaseStorage) -> Study:
    """The earlier study ``text`` names (see :func:`parse_source`).

    Raises:
        WarmStartError: the storage cannot be opened or holds no such study.
    """
    label = default_storage if isinstance(default_storage, str) else ""
    name, storage = parse_source(text, label)
    target: str | optuna.storages.BaseStorage = storage if storage else default_storage
    try:
        return optuna.load_study(study_name=name, storage=target)
    except KeyError:
        raise WarmStartError(
            f"warm start {text!r}: no study named {name!r} in {storage or 'this storage'}; "
            "check the name (optuna-dashboard lists them)"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any storage error is the same fault for the user
        raise WarmStartError(f"warm start {text!r}: cannot open {storage or 'the storage'}: {exc}") from None


def best_trials_of(study: Study, limit: int = DEFAULT_BEST) -> list[FrozenTrial]:
    """The best ``limit`` complete trials of ``study``, best first, its baseline left out (the
    new study measures its own); with several objectives, trials of the Pareto front."""
    complete = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.values is not None
        and t.user_attrs.get("source") != "baseline"
        and t.user_attrs.get("atune_source") != "baseline"
    ]
    if len(study.directions) == 1:
        sign = -1.0 if study.directions[0] is StudyDirection.MAXIMIZE else 1.0
        ranked = sorted(complete, key=lambda t: (math.inf if math.isnan(t.values[0]) else sign * t.values[0], t.number))
    else:
        front = {t.number for t in study.best_trials}
        ranked = [t for t in complete if t.number in front]
    return ranked[: max(limit, 0)]


@dataclass(frozen=True)
class Seed:
    """One earlier trial as a seed: the parameters kept, its values, where it came from."""

    params: dict[str, Any]
    values: tuple[float, ...] | None
    origin: str
    complete: bool
    """Whether every parameter of the new space is set (the rest are left to the sampler)."""
    objective: float | None = None
    """A-Tune's minimised objective for it: the trial's ``atune_objective`` (a runner study),
    else its value, negated when the study maximised (an engine task minimises it already);
    None with several objectives."""


def _inside(dist: BaseDistribution, value: Any) -> bool:
    try:
        return bool(dist._contains(dist.to_internal_repr(value)))
    except (ValueError, TypeError):
        return False


def atune_objective_of(trial: FrozenTrial, directions: Sequence[StudyDirection]) -> float | None:
    """A-Tune's minimised objective of ``trial`` (see :attr:`Seed.objective`)."""
    stored = trial.user_attrs.get("atune_objective")
    if isinstance(stored, (int, float)) and not isinstance(stored, bool) and math.isfinite(stored):
        return float(stored)
    if trial.values is None or len(trial.values) != 1 or len(directions) != 1:
        return None
    return -trial.values[0] if directions[0] is StudyDirection.MAXIMIZE else trial.values[0]


def transfer_seeds(
    trials: Sequence[FrozenTrial],
    space: Mapping[str, BaseDistribution],
    *,
    source: str,
    directions: Sequence[StudyDirection] = (),
) -> tuple[list[Seed], list[str]]:
    """``trials`` as seeds for ``space`` (see the module doc), and a note per thing dropped."""
    out: list[Seed] = []
    notes: list[str] = []
    for trial in trials:
        origin = f"{source} trial {trial.number}"
        kept: dict[str, Any] = {}
        for name, value in trial.params.items():
            dist = space.get(name)
            if dist is None:
                notes.append(f"{origin}: {name} dropped: not a parameter of this study")
            elif not _inside(dist, value):
                notes.append(f"{origin}: {name}={value!r} dropped: outside this study's domain")
            else:
                kept[name] = value
        if not kept:
            notes.append(f"{origin} left out: none of its parameters fits this study")
            continue
        missing = [n for n in space if n not in kept]
        if missing:
            notes.append(f"{origin}: {', '.join(missing)} not set by it (left to the sampler)")
        out.append(
            Seed(
                kept,
                tuple(trial.values) if trial.values is not None else None,
                origin,
                not missing,
                atune_objective_of(trial, directions),
            )
        )
    return out, notes
