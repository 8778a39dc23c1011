"""A trial's attributes and its round record are written in one transaction on an RDB storage,
with the rows Optuna's own calls write; other storages get one call per key. Named study
attributes are read without reading every one."""

from __future__ import annotations

import optuna
from optuna.exceptions import UpdateFinishedTrialError
import pytest
from sqlalchemy import event

from llm_fakes import objective
from llm_fakes import random_replier
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import sqlite_storage
from optuna_llm_sampler._records._attr_io import read_study_system_attrs
from optuna_llm_sampler._records._attr_io import write_attrs


ATTRS = {"source": "llm", "llm_round": 1, "llm_repairs": [{"kind": "clipped"}], "none": None}


def _commits(storage: optuna.storages.RDBStorage) -> list[int]:
    commits: list[int] = []
    event.listen(storage.engine, "commit", lambda connection: commits.append(1))
    return commits


@pytest.mark.parametrize("make", [
    lambda path: optuna.storages.RDBStorage(f"sqlite:///{path}"),
    lambda path: sqlite_storage(path),
], ids=["RDBStorage", "sqlite_storage"])
def test_one_commit_writes_the_same_rows_as_one_call_per_key(tmp_path, make) -> None:
    storage = make(tmp_path / "study.db")
    study = optuna.create_study(storage=storage)
    batched, one_by_one = study.ask(), study.ask()
    commits = _commits(storage)
    write_attrs(study._storage, batched._trial_id, ATTRS, study_id=study._study_id,
                study_system_attrs={"optuna_llm_sampler:round:1": {"status": "done"}})
    assert len(commits) == 1
    for key, value in ATTRS.items():
        storage.set_trial_user_attr(one_by_one._trial_id, key, value)
    assert storage.get_trial(batched._trial_id).user_attrs == ATTRS
    assert storage.get_trial(one_by_one._trial_id).user_attrs == ATTRS
    records = storage.get_study_system_attrs(study._study_id)
    assert records["optuna_llm_sampler:round:1"] == {"status": "done"}
    # Written again: the values are replaced, as Optuna's upsert does.
    write_attrs(study._storage, batched._trial_id, {"llm_round": 5}, study_id=study._study_id,
                study_system_attrs={"optuna_llm_sampler:round:1": {"status": "failed"}})
    assert storage.get_trial(batched._trial_id).user_attrs["llm_round"] == 5
    assert storage.get_study_system_attrs(study._study_id)["optuna_llm_sampler:round:1"] == {
        "status": "failed"
    }


def test_a_finished_trial_is_refused_as_optuna_refuses_it(tmp_path) -> None:
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    study.tell(trial, 1.0)
    with pytest.raises(UpdateFinishedTrialError):
        write_attrs(study._storage, trial._trial_id, ATTRS)
    assert storage.get_trial(trial._trial_id).user_attrs == {}


def test_in_memory_storage_gets_one_call_per_key() -> None:
    study = optuna.create_study()
    trial = study.ask()
    write_attrs(study._storage, trial._trial_id, ATTRS, study_id=study._study_id,
                study_system_attrs={"k": 1})
    assert study._storage.get_trial(trial._trial_id).user_attrs == ATTRS
    assert study._storage.get_study_system_attrs(study._study_id)["k"] == 1


def test_an_llm_trial_writes_its_attributes_and_round_record_in_one_go(tmp_path) -> None:
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}")
    model = ScriptedChatModel(replier=random_replier())
    study = optuna.create_study(storage=storage, sampler=LLMSampler(
        model, search_space=SPACE, schedule=AlternatingSchedule()))
    study.optimize(objective, n_trials=1)  # Trial 0: no baseline given, the base sampler.
    calls: list[str] = []
    for name in ("set_trial_user_attr", "set_study_system_attr"):
        original = getattr(storage, name)
        setattr(storage, name, lambda *a, _o=original, _n=name, **k: (calls.append((_n, a[1])), _o(*a, **k)))
    study.optimize(objective, n_trials=1)  # Trial 1 asks the model for round 1-2.
    # optuna-dashboard keeps its trial notes in study system attributes, under its own keys.
    calls = [name for name, key in calls if not str(key).startswith("dashboard:")]
    owner = study.trials[1]
    assert owner.user_attrs["source"] == "llm" and len(owner.user_attrs) >= 8
    # Only the "asking" record goes through Optuna's per-key API; the owner's attributes and
    # the "done" record go in one transaction.
    assert calls == ["set_study_system_attr"]


@pytest.mark.parametrize("make", [
    lambda path: optuna.storages.RDBStorage(f"sqlite:///{path}"),
    lambda path: sqlite_storage(path),
    lambda path: optuna.storages.InMemoryStorage(),
], ids=["RDBStorage", "sqlite_storage", "memory"])
def test_reading_named_keys_gives_what_reading_all_gives_for_them(tmp_path, make) -> None:
    storage = make(tmp_path / "study.db")
    study = optuna.create_study(storage=storage)
    rows = {"share:1": {"role": "llm"}, "share:3": {"role": "base"}, "note_str:0": "a",
            "note_str:1": "", "noteXstr:2": "not the prefix, though LIKE's _ matches X"}
    for key, value in rows.items():
        storage.set_study_system_attr(study._study_id, key, value)
    every = storage.get_study_system_attrs(study._study_id)
    read = read_study_system_attrs(study._storage, study._study_id, ["share:3", "share:5"])
    assert read == {"share:3": every["share:3"]}
    by_prefix = read_study_system_attrs(study._storage, study._study_id, prefix="note_str:")
    assert by_prefix == {"note_str:0": "a", "note_str:1": ""}
    both = read_study_system_attrs(study._storage, study._study_id, ["share:1"], prefix="note_")
    assert both == {k: every[k] for k in ("share:1", "note_str:0", "note_str:1")}


def test_more_keys_than_one_query_takes_are_read_in_several(tmp_path) -> None:
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage)
    for i in range(0, 1200, 3):
        storage.set_study_system_attr(study._study_id, f"k{i}", i)
    read = read_study_system_attrs(storage, study._study_id, (f"k{i}" for i in range(1200)))
    assert read == {f"k{i}": i for i in range(0, 1200, 3)}
