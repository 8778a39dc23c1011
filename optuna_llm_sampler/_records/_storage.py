"""An SQLite storage that several processes can share while popping enqueued trials.

Optuna pops a waiting trial by reading its state and setting it to RUNNING "for update"; SQLite
ignores ``FOR UPDATE`` and, with pysqlite's deferred transactions, two processes can both read
WAITING and both run the same trial (the second ``tell`` then fails with "Cannot tell a COMPLETE
trial"). LLM rounds enqueue their proposals, so they meet this race whenever processes share a
SQLite file. Starting every transaction with ``BEGIN IMMEDIATE`` takes SQLite's write lock
before the read, which makes the pop atomic.
"""

from __future__ import annotations

import os
from typing import Any

import optuna


def sqlite_storage(
    path: str | os.PathLike[str], *, timeout: float = 60.0
) -> optuna.storages.RDBStorage:
    """Return an :class:`~optuna.storages.RDBStorage` on the SQLite file ``path``, safe to share
    between processes that pop enqueued trials.

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import sqlite_storage

            storage = sqlite_storage("tuning.db")
            study = optuna.create_study(study_name="nginx", storage=storage, load_if_exists=True)

    Args:
        path: The database file (created if missing), or a ``sqlite:///`` URL.
        timeout: Seconds a process waits for another's write lock before failing. Every
            transaction takes the lock, so keep it generous.

    Note:
        The serialisation applies to this process's storage object; a storage rebuilt from a
        pickle (Optuna does so for some distributed setups) is a plain RDBStorage again.
        :class:`~optuna.storages.JournalStorage` with a ``JournalFileBackend`` is Optuna's other
        process-safe file storage.
    """
    from sqlalchemy import event  # Imported here: SQLAlchemy is slow to import.

    text = os.fspath(path)
    url = text if text.startswith("sqlite:") else f"sqlite:///{os.path.abspath(text)}"
    storage = optuna.storages.RDBStorage(
        url,
        engine_kwargs={"connect_args": {"timeout": timeout, "isolation_level": None}},
    )

    @event.listens_for(storage.engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    storage.engine.dispose()
    return storage
