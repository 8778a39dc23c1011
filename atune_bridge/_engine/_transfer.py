"""A-Tune's ``history_path`` for the engine: earlier studies' best trials as prior data.

A-Tune's client YAML may name earlier tuning records in ``history_path`` (atuned sends the list
with ``POST /v1/optimizer``) for its ``Bayesian_Transfer`` engine to learn from. The engine's
records are Optuna studies, so each entry names one:

* an earlier task id, or any study name, of the engine's own storage;
* ``STUDY@FILE``, a study in a SQLite file of the engine's history folder
  (:attr:`~atune_bridge.EngineConfig.history_dir`, ``atune-bridge serve --history-dir``), a
  runner's study file copied there for instance. ``FILE`` is a path relative to that folder
  (or ``sqlite:///`` and an absolute path inside it); the file is opened read-only and only
  when it is a SQLite database inside the folder once links are resolved. Without a history
  folder such an entry is left out.

An unauthenticated request names these, so nothing is created or changed on the way, no other
storage URL is opened, and an entry that does not resolve gets the same note whether its file
exists or not: the answer says nothing about the filesystem. A request holds at most
:data:`MAX_HISTORY` entries of at most :data:`MAX_ENTRY_CHARS` characters each (a 400 beyond).

Each study's best trials (:data:`~atune_bridge._format.DEFAULT_BEST`) are added to the new
task's study as complete trials with A-Tune's minimised objective as their value (the runner's
``atune_objective``, or an engine task's value), marked ``warm_start_from`` and
``atune_source: history``, so every engine's base sampler starts from them; they are not
evaluations of this task, do not count in its budget and are never replied as its best. A trial
that does not set every knob of this task, or whose values lie outside its domain, is left out
with a note in the POST reply's ``message``; so is an entry that names an A-Tune record file
(not an Optuna study) or a study that cannot be found: atuned sends what the YAML says, and a
stale path must not stop the tuning.
"""

from __future__ import annotations

import os
import stat
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import optuna
from optuna.trial import create_trial

from atune_bridge._engine._errors import EngineRequestError
from atune_bridge._format import DEFAULT_BEST, WARM_START_FROM, best_trials_of, transfer_seeds

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import StudyDirection
    from optuna.trial import FrozenTrial

MAX_HISTORY = 8
"""The most ``history_path`` entries a task accepts (each opens a study and reads its trials)."""
MAX_ENTRY_CHARS = 512
"""The longest ``history_path`` entry accepted."""

_SQLITE_HEADER = b"SQLite format 3\x00"


def check_history_path(history_path: Sequence[str] | str | None) -> list[str]:
    """The entries of ``history_path``, blank ones left out.

    Raises:
        EngineRequestError: too many entries, or one too long.
    """
    if not history_path:
        return []
    entries = [history_path] if isinstance(history_path, str) else list(history_path)
    if len(entries) > MAX_HISTORY:
        raise EngineRequestError(
            f"history_path: {len(entries)} entries is more than {MAX_HISTORY}; "
            "name the few studies closest to this task",
            field="history_path",
        )
    for index, entry in enumerate(entries):
        if len(str(entry)) > MAX_ENTRY_CHARS:
            raise EngineRequestError(
                f"history_path[{index}]: longer than {MAX_ENTRY_CHARS} characters", field="history_path"
            )
    return [str(e).strip() for e in entries if str(e).strip()]


def _history_file(where: str, folder: str) -> str | None:
    """The SQLite file inside ``folder`` that ``where`` names, or None (see the module doc)."""
    text = where[len("sqlite:///") :] if where.startswith("sqlite:///") else where
    if not text or "://" in text or "?" in text or "\0" in text:
        return None
    root = os.path.realpath(folder)
    path = os.path.realpath(os.path.join(root, text))
    if os.path.commonpath([root, path]) != root or path == root:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or os.read(fd, len(_SQLITE_HEADER)) != _SQLITE_HEADER:
            return None
    except OSError:
        return None
    finally:
        os.close(fd)
    return path


def _best_of(
    name: str, where: str, storage: optuna.storages.BaseStorage, history_dir: str | None
) -> tuple[list[FrozenTrial], list[StudyDirection]] | None:
    """The best trials and the directions of the study an entry names, or None when it names
    none the engine may read."""
    if not where:
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            return None
        return best_trials_of(study, DEFAULT_BEST), list(study.directions)
    path = _history_file(where, history_dir) if history_dir else None
    if path is None:
        return None
    url = f"sqlite:///file:{urllib.parse.quote(path)}?mode=ro&uri=true"
    try:
        storage = optuna.storages.RDBStorage(url)
    except Exception:  # noqa: BLE001 - not an Optuna file: the same note as no such study
        return None
    try:
        study = optuna.load_study(study_name=name, storage=storage)
        return best_trials_of(study, DEFAULT_BEST), list(study.directions)
    except KeyError:
        return None
    finally:
        storage.engine.dispose()


def history_trials(
    history_path: Sequence[str] | str | None,
    storage: optuna.storages.BaseStorage,
    space: Mapping[str, BaseDistribution],
    history_dir: str | None = None,
) -> tuple[list[FrozenTrial], list[str]]:
    """The trials ``history_path`` gives a new task over ``space``, and a note per thing left out.

    Raises:
        EngineRequestError: ``history_path`` is past a limit (:func:`check_history_path`).
    """
    trials: list[FrozenTrial] = []
    notes: list[str] = []
    for text in check_history_path(history_path):
        if "@" not in text and "/" in text:
            notes.append(
                f"history_path {text!r} left out: A-Tune's record files are not read; name an "
                "earlier task id or STUDY@FILE in the engine's history folder"
            )
            continue
        name, _, where = (part.strip() for part in text.partition("@"))
        if where and not history_dir:
            notes.append(
                f"history_path {text!r} left out: STUDY@FILE names a study in the engine's history "
                "folder, and it has none (atune-bridge serve --history-dir DIR)"
            )
            continue
        found = _best_of(name, where, storage, history_dir) if name else None
        if found is None:
            place = "the engine's history folder" if where else "the engine's storage"
            notes.append(f"history_path {text!r} left out: no study {name!r} in {place}")
            continue
        best, directions = found
        label = text if where else f"task {name}"
        seeds, seed_notes = transfer_seeds(best, space, source=label, directions=directions)
        notes += [f"history_path: {note}" for note in seed_notes]
        for seed in seeds:
            if not seed.complete or seed.objective is None:
                why = "it does not set every knob" if not seed.complete else "it has several objectives"
                notes.append(f"history_path: {seed.origin} left out: {why}")
                continue
            trials.append(
                create_trial(
                    params=dict(seed.params),
                    distributions={n: space[n] for n in seed.params},
                    value=seed.objective,
                    user_attrs={WARM_START_FROM: seed.origin, "atune_source": "history", "source": "history"},
                )
            )
    return trials, notes
