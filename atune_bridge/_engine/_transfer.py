"""A-Tune's ``history_path`` for the engine: earlier studies' best trials as prior data.

A-Tune's client YAML may name earlier tuning records in ``history_path`` (atuned sends the list
with ``POST /v1/optimizer``) for its ``Bayesian_Transfer`` engine to learn from. The engine's
records are Optuna studies, so each entry names one: an earlier task id (a study in the
engine's own storage), or ``STUDY@STORAGE`` (any Optuna storage, a runner's SQLite file
included). Its best trials (:data:`~atune_bridge._format.DEFAULT_BEST`) are added to the new
task's study as complete trials with A-Tune's minimised objective as their value (the runner's
``atune_objective``, or an engine task's value), marked ``warm_start_from`` and
``atune_source: history``, so every engine's base sampler starts from them; they are not
evaluations of this task, do not count in its budget and are never replied as its best. A trial that does not set every knob
of this task, or whose values lie outside its domain, is left out with a note in the POST
reply's ``message``; so is an entry that names an A-Tune record file (not an Optuna study) or
a study that does not exist: atuned sends what the YAML says, and a stale path must not stop
the tuning.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from optuna.trial import create_trial

from atune_bridge._format import (
    DEFAULT_BEST,
    WARM_START_FROM,
    WarmStartError,
    best_trials_of,
    load_source,
    parse_source,
    transfer_seeds,
)

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial


def history_trials(
    history_path: Sequence[str] | str | None,
    storage: optuna.storages.BaseStorage | str,
    space: Mapping[str, BaseDistribution],
) -> tuple[list[FrozenTrial], list[str]]:
    """The trials ``history_path`` gives a new task over ``space``, and a note per thing left out."""
    if not history_path:
        return [], []
    entries = [history_path] if isinstance(history_path, str) else list(history_path)
    trials: list[FrozenTrial] = []
    notes: list[str] = []
    for entry in entries:
        text = str(entry).strip()
        if not text:
            continue
        if "@" not in text and os.path.sep in text:
            notes.append(f"history_path {text!r} left out: A-Tune's record files are not read; name an "
                         "earlier task id or STUDY@STORAGE")
            continue
        name, where = parse_source(text, "")
        label = f"{name}@{where}" if where else f"task {name}"
        try:
            source = load_source(text, storage if not where else where)
        except WarmStartError as exc:
            notes.append(f"history_path: {exc}")
            continue
        seeds, seed_notes = transfer_seeds(best_trials_of(source, DEFAULT_BEST), space, source=label,
                                           directions=source.directions)
        notes += [f"history_path: {note}" for note in seed_notes]
        for seed in seeds:
            if not seed.complete or seed.objective is None:
                why = "it does not set every knob" if not seed.complete else "it has several objectives"
                notes.append(f"history_path: {seed.origin} left out: {why}")
                continue
            trials.append(create_trial(
                params=dict(seed.params),
                distributions={n: space[n] for n in seed.params},
                value=seed.objective,
                user_attrs={WARM_START_FROM: seed.origin, "atune_source": "history", "source": "history"},
            ))
    return trials, notes
