"""Reading and writing attributes in fewer storage round trips.

Optuna's storage API sets one attribute per call, and on :class:`~optuna.storages.RDBStorage`
each call is a transaction of its own: on SQLite a commit, with its file syncs, per key. An LLM
trial carries a dozen attributes, so at a thousand trials the commits were most of what the
sampler added to a study's time. On RDBStorage (also behind Optuna's caching wrapper) the
attributes are written here in one transaction with the same rows Optuna would write; on any
other storage, or an Optuna whose internals differ, one call per key as before.

Reading is the mirror case: Optuna only reads all of a study's system attributes at once, and
a long study holds hundreds of them (a round record per model call, a share decision per
block), so :func:`read_study_system_attrs` reads the named keys only.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Mapping

    from optuna.storages import BaseStorage
    from optuna.study import Study
    from optuna.trial import FrozenTrial


def write_attrs(
    storage: BaseStorage,
    trial_id: int,
    user_attrs: Mapping[str, Any],
    *,
    study_id: int | None = None,
    study_system_attrs: Mapping[str, Any] | None = None,
) -> None:
    """Set ``user_attrs`` on the trial and ``study_system_attrs`` on the study, together.

    The trial's attributes are written first, then the study's; on RDBStorage in one
    transaction, so a reader sees all of them or none.
    """
    study_system_attrs = study_system_attrs or {}
    if study_system_attrs and study_id is None:
        raise ValueError("study_system_attrs need the study_id")
    if not user_attrs and not study_system_attrs:
        return
    rdb = _rdb_backend(storage)
    if rdb is not None:
        _write_rdb(rdb, trial_id, user_attrs, study_id, study_system_attrs)
        return
    for key, value in user_attrs.items():
        storage.set_trial_user_attr(trial_id, key, value)
    for key, value in study_system_attrs.items():
        assert study_id is not None
        storage.set_study_system_attr(study_id, key, value)


def write_trial_attrs(
    study: Study,
    trial: FrozenTrial,
    attrs: Mapping[str, Any],
    round_record: tuple[str, dict[str, Any]] | None = None,
    *,
    study_attrs: Mapping[str, Any] | None = None,
) -> None:
    """Write ``attrs`` on the trial, and ``round_record`` and ``study_attrs`` on the study,
    in one go (:func:`write_attrs`); the trial's cached ``user_attrs`` follow, since the
    objective reads them from that frozen trial."""
    on_study = dict(study_attrs or {})
    if round_record is not None:
        on_study[round_record[0]] = round_record[1]
    write_attrs(
        study._storage,
        trial._trial_id,
        attrs,
        study_id=study._study_id,
        study_system_attrs=on_study,
    )
    trial.user_attrs.update(attrs)


def read_study_system_attrs(
    storage: BaseStorage, study_id: int, keys: Iterable[str] = (), *, prefix: str | None = None
) -> dict[str, Any]:
    """The study system attributes named in ``keys``, or whose key starts with ``prefix``,
    that exist, by key.

    The same values :meth:`~optuna.storages.BaseStorage.get_study_system_attrs` returns for
    them; on RDBStorage only their rows are read.
    """
    wanted = list(dict.fromkeys(keys))
    rdb = _rdb_backend(storage)
    if rdb is None:
        attrs = storage.get_study_system_attrs(study_id)
        named = set(wanted)
        return {
            key: value
            for key, value in attrs.items()
            if key in named or (prefix is not None and key.startswith(prefix))
        }

    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    model = models.StudySystemAttributeModel
    found: dict[str, Any] = {}
    with _create_scoped_session(rdb.scoped_session) as session:
        for i in range(0, len(wanted), _KEYS_PER_QUERY):
            rows = (
                session.query(model.key, model.value_json)
                .filter(model.study_id == study_id)
                .filter(model.key.in_(wanted[i : i + _KEYS_PER_QUERY]))
                .all()
            )
            found.update((key, json.loads(value)) for key, value in rows)
        if prefix is not None:
            # LIKE's "_" matches any character: the rows are checked again in Python.
            rows = (
                session.query(model.key, model.value_json)
                .filter(model.study_id == study_id)
                .filter(model.key.like(prefix.replace("%", "_") + "%"))
                .all()
            )
            found.update((key, json.loads(value)) for key, value in rows if key.startswith(prefix))
    return found


_KEYS_PER_QUERY = 500
"""Keys per ``IN`` list: SQLite before 3.32 takes at most 999 bound values in a statement."""


def _rdb_backend(storage: BaseStorage) -> Any:
    """The RDBStorage under ``storage`` when its internals are the ones used here, else None."""
    rdb_module = sys.modules.get("optuna.storages._rdb.storage")
    if rdb_module is None:
        return None  # No RDBStorage was ever made; and SQLAlchemy is slow to import.
    backend = getattr(storage, "_backend", storage)  # Optuna's _CachedStorage wraps it.
    if not isinstance(backend, getattr(rdb_module, "RDBStorage", ())):
        return None
    try:
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session  # noqa: F401
    except ImportError:
        return None
    needed = (
        hasattr(backend, "_set_trial_attr_without_commit")
        and hasattr(backend, "scoped_session")
        and hasattr(backend, "engine")
        and hasattr(models, "TrialUserAttributeModel")
        and hasattr(models.StudySystemAttributeModel, "find_by_study_and_key")
    )
    return backend if needed else None


def _write_rdb(
    rdb: Any,
    trial_id: int,
    user_attrs: Mapping[str, Any],
    study_id: int | None,
    study_system_attrs: Mapping[str, Any],
) -> None:
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    # The rows RDBStorage.set_trial_user_attr / set_study_system_attr write, in one commit.
    with _create_scoped_session(rdb.scoped_session, True) as session:
        if user_attrs:
            _upsert_user_attrs(rdb, session, trial_id, user_attrs)
        if study_system_attrs:
            assert study_id is not None  # write_attrs checks it
            study = models.StudyModel.find_or_raise_by_id(study_id, session)
            for key, value in study_system_attrs.items():
                attribute = models.StudySystemAttributeModel.find_by_study_and_key(study, key, session)
                if attribute is None:
                    session.add(
                        models.StudySystemAttributeModel(study_id=study_id, key=key, value_json=json.dumps(value))
                    )
                else:
                    attribute.value_json = json.dumps(value)


def _upsert_user_attrs(rdb: Any, session: Any, trial_id: int, attrs: Mapping[str, Any]) -> None:
    import sqlite3

    from optuna.storages._rdb import models

    model = models.TrialUserAttributeModel
    dialect = rdb.engine.name
    if dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 24, 0):
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    else:
        for key, value in attrs.items():
            rdb._set_trial_attr_without_commit(session, model, trial_id, key, value)
        return
    # One look-up of the trial and one statement for all keys, where Optuna has one of each
    # per key.
    trial = models.TrialModel.find_or_raise_by_id(trial_id, session)
    rdb.check_trial_is_updatable(trial_id, trial.state)
    statement = insert(model).values(
        [{"trial_id": trial_id, "key": key, "value_json": json.dumps(value)} for key, value in attrs.items()]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[model.trial_id, model.key],
            set_={"value_json": statement.excluded.value_json},
        )
    )
