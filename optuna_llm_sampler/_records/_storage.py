"""An SQLite storage that several processes can share while popping enqueued trials.

Optuna pops a waiting trial by reading its state and setting it to RUNNING "for update"; SQLite
ignores ``FOR UPDATE`` and, with pysqlite's deferred transactions, two processes can both read
WAITING and both run the same trial (the second ``tell`` then fails with "Cannot tell a COMPLETE
trial"). LLM rounds enqueue their proposals, so they meet this race whenever processes share a
SQLite file. Starting every transaction with ``BEGIN IMMEDIATE`` takes SQLite's write lock
before the read, which makes the pop atomic.

Optuna creates the tables of a new file when the storage is built, before that lock can be
attached; processes starting together on a new file race there (``table ... already exists``,
a duplicate ``alembic_version`` row). The loser builds its storage again once the winner's
schema is complete.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import optuna


def sqlite_storage(path: str | os.PathLike[str], *, timeout: float = 60.0) -> optuna.storages.RDBStorage:
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
    storage = _build_racing_schema_creation(url, timeout)

    @event.listens_for(storage.engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    storage.engine.dispose()
    return storage


def _build_racing_schema_creation(url: str, timeout: float) -> optuna.storages.RDBStorage:
    """The RDBStorage on ``url``, built again while another process is creating the schema
    of the same new file (until ``timeout`` seconds have passed)."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return optuna.storages.RDBStorage(
                url, engine_kwargs={"connect_args": {"timeout": timeout, "isolation_level": None}}
            )
        except (IntegrityError, OperationalError) as exc:
            racing = isinstance(exc, IntegrityError) or "already exists" in str(exc)
            if not racing or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.02, 0.1))  # the other process finishes its schema
