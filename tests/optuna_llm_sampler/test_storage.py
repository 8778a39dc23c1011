"""sqlite_storage makes popping enqueued trials atomic across processes sharing one file."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import time
from typing import Any

import optuna
import pytest
from sqlalchemy.exc import OperationalError

from optuna_llm_sampler import sqlite_storage


def test_every_transaction_takes_the_write_lock_first(tmp_path) -> None:
    path = tmp_path / "s.db"
    storage = sqlite_storage(path, timeout=0.2)
    study = optuna.create_study(storage=storage, study_name="s")
    study.enqueue_trial({"x": 1})
    plain = optuna.storages.RDBStorage(f"sqlite:///{path}", engine_kwargs={"connect_args": {"timeout": 0.2}})

    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is between its read and its write
    try:
        # A plain storage reads through the lock: it would see WAITING and pop the trial too.
        assert len(plain.get_all_trials(study._study_id)) == 1
        # This storage waits for the lock before reading, so the read-then-write pop is atomic.
        with pytest.raises((OperationalError, optuna.exceptions.StorageInternalError)) as info:
            storage.get_all_trials(study._study_id)
        assert "locked" in repr(info.value) + repr(info.value.__cause__)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert storage.get_all_trials(study._study_id)[0].state.name == "WAITING"


def test_accepts_a_path_or_a_url_and_works_as_a_storage(tmp_path) -> None:
    for target in (tmp_path / "a.db", f"sqlite:///{tmp_path / 'b.db'}"):
        study = optuna.create_study(storage=sqlite_storage(target))
        study.enqueue_trial({"x": 3})
        study.optimize(lambda t: t.suggest_int("x", 0, 5), n_trials=2)
        assert [t.params["x"] for t in study.trials][0] == 3
        assert len(study.trials) == 2


def _open_on_go(path: str, go: Any, errors: Any) -> None:
    go.wait(30)
    try:
        optuna.create_study(storage=sqlite_storage(path), study_name=f"worker-{os.getpid()}")
    except Exception as exc:  # reported to the test, which fails naming it
        errors.put(f"{type(exc).__name__}: {exc}")


def test_workers_starting_together_on_a_new_file_all_get_the_storage(tmp_path) -> None:
    # Optuna creates the schema before BEGIN IMMEDIATE is attached: without building the
    # storage again, about half of the workers died with "table studies already exists" or a
    # duplicate alembic_version row.
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    for round_ in range(3):
        path = str(tmp_path / f"new-{round_}.db")
        go = context.Event()
        workers = [context.Process(target=_open_on_go, args=(path, go, errors)) for _ in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(0.2)
        go.set()
        for worker in workers:
            worker.join(60)
        assert [w.exitcode for w in workers] == [0] * 4
        assert errors.empty(), errors.get()
        assert len(optuna.get_all_study_names(sqlite_storage(path))) == 4
