"""One model call per round, shared through the queue, across threads and processes."""

from __future__ import annotations

import os
import re
from pathlib import Path
import subprocess
import sys
import time
from typing import ClassVar

from langchain_core.language_models.fake_chat_models import FakeListChatModel
import optuna
from optuna.samplers import RandomSampler
from optuna.trial import TrialState
import pytest

from llm_fakes import model_first
from llm_fakes import objective
from llm_fakes import random_replier
from llm_fakes import read_call_log
from llm_fakes import round_records
from llm_fakes import rounds_with_an_owner
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from llm_fakes import unvetted
from optuna_llm_sampler.attrs import source_of
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler.attrs import ATTR_ERROR
from optuna_llm_sampler.attrs import ATTR_LATENCY
from optuna_llm_sampler.attrs import ATTR_NOTE
from optuna_llm_sampler.attrs import ATTR_RAW_REPLY
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler._records._attrs import ROUND_RECORD_PREFIX


HERE = Path(__file__).parent


def test_two_threads_call_the_model_once_per_round(tmp_path: Path) -> None:
    log = str(tmp_path / "calls.jsonl")
    model = ScriptedChatModel(replier=random_replier(seed=1), sleep=0.05, call_log=log)
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=AlternatingSchedule(), choose=None)  # written rounds
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=30, n_jobs=2)

    owned = rounds_with_an_owner(study, sampler.schedule)
    assert len(read_call_log(log)) == len(owned) >= 5
    assert set(round_records(study)) == owned
    # Every configuration the model proposed was evaluated or is still waiting in the queue.
    llm = [t for t in study.trials if source_of(t, "RandomSampler") == "llm"]
    assert len(llm) >= len(owned)
    assert all(t.state in (TrialState.COMPLETE, TrialState.WAITING) for t in study.trials)


def test_a_round_member_that_is_not_the_owner_goes_to_the_base_sampler_and_says_why() -> None:
    # Two trials of round 1-2 are started before the owner has asked the model.
    model = ScriptedChatModel(replier=random_replier(seed=2))
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=AlternatingSchedule(), choose=unvetted())
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial({"workers": 8})  # trial 0
    t0 = study.ask()
    study.tell(t0, 1.0)
    owner_trial_id = study._storage.create_new_trial(study._study_id)  # trial 1, not started yet
    other = study.ask()  # trial 2: the round's owner (trial 1) exists but has not asked
    assert other.number == 2
    assert source_of(other, "RandomSampler") == "RandomSampler"
    assert other.user_attrs[ATTR_NOTE] == (
        "round 1-2 is asked by trial 1, which had not asked the model yet when this trial started; "
        "its proposals go to the next trials"
    )
    assert model.prompts == []
    owner = optuna.Trial(study, owner_trial_id)  # now trial 1 prepares: it asks once
    assert source_of(owner, "RandomSampler") == "llm" and len(model.prompts) == 1


def test_two_processes_on_one_sqlite_file_call_the_model_once_per_round(tmp_path: Path) -> None:
    # The workers open the file with sqlite_storage(): with a plain RDBStorage, SQLite lets two
    # processes pop the same enqueued trial now and then (see test_storage.py).
    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="shared", storage=url, direction="maximize")
    log = str(tmp_path / "calls.jsonl")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(HERE / "llm_fakes.py"), "worker", url, "shared", "12", log, "0.2"]
    workers = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE) for _ in range(2)]
    for w in workers:
        _, err = w.communicate(timeout=180)
        assert w.returncode == 0, err.decode()[-3000:]

    study = optuna.load_study(study_name="shared", storage=url)
    calls = read_call_log(log)
    owned = rounds_with_an_owner(study, AlternatingSchedule())
    assert len(calls) == len(owned) >= 4
    assert set(round_records(study)) == owned
    assert len({c["pid"] for c in calls}) == 2, "both processes should own some round"
    finished = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert len(finished) == 24, [(t.number, t.state.name, t.user_attrs) for t in study.trials]
    assert [source_of(t, "RandomSampler") for t in study.trials].count("baseline") == 1
    for t in finished:
        for name, value in t.params.items():
            assert SPACE[name]._contains(SPACE[name].to_internal_repr(value))


def test_exception_sends_the_trial_to_the_base_sampler_and_records_it() -> None:
    model = ScriptedChatModel(replier=random_replier(), error="model server returned 502")
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=AlternatingSchedule())
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=3)
    owner = study.trials[1]
    assert owner.state is TrialState.COMPLETE
    assert source_of(owner, "RandomSampler") == "RandomSampler"
    assert owner.user_attrs[ATTR_ERROR] == "RuntimeError: model server returned 502"
    assert round_records(study)[1]["status"] == "failed"


def test_timeout_sends_the_trial_to_the_base_sampler_without_waiting_for_the_model() -> None:
    model = ScriptedChatModel(replier=random_replier(), sleep=5.0)
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE, timeout=0.3,
                         schedule=model_first())
    study = optuna.create_study(sampler=sampler)
    start = time.perf_counter()
    study.optimize(objective, n_trials=2)
    assert time.perf_counter() - start < 3.0
    owner = study.trials[1]
    assert source_of(owner, "RandomSampler") == "RandomSampler"
    assert "did not answer within 0.3 s" in owner.user_attrs[ATTR_ERROR]
    # The message names the setting that raises the limit.
    assert "LLMSampler(timeout=...), or atune-bridge tune --llm-timeout" in owner.user_attrs[ATTR_ERROR]
    assert "no reply of the model has been measured yet" in owner.user_attrs[ATTR_ERROR]


def test_a_timeout_says_how_fast_the_models_earlier_replies_came() -> None:
    # Quick replies first, then one that takes longer than the limit.
    model = ScriptedChatModel(replier=random_replier(), sleep=0.2)
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE, timeout=1.0,
                         schedule=AlternatingSchedule(), choose=None)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=3)  # round 1-2 answered
    model.sleep = 5.0
    study.optimize(objective, n_trials=4)  # round 5-6 times out
    error = study.trials[5].user_attrs[ATTR_ERROR]
    assert "did not answer within 1 s" in error
    match = re.search(r"its replies so far came at about ([\d.]+) tokens/s \(about (\d+) tokens in ([\d.]+) s\)", error)
    assert match, error
    assert float(match.group(1)) > 0 and int(match.group(2)) > 0


@pytest.mark.parametrize("reply", ["Sorry, I can't.", '{"configurations": []}', '{"colour": "red"}'])
def test_a_reply_without_a_usable_configuration_is_recorded_with_the_raw_reply(reply: str) -> None:
    sampler = LLMSampler(FakeListChatModel(responses=[reply]), search_space=SPACE, schedule=model_first())
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=2)
    owner = study.trials[1]
    assert source_of(owner, "TPESampler") == "TPESampler"
    assert owner.user_attrs[ATTR_ERROR].startswith("the reply has no usable configuration")
    assert owner.user_attrs[ATTR_RAW_REPLY] == reply
    assert owner.user_attrs[ATTR_LATENCY] >= 0


def test_proposals_that_repeat_evaluated_configurations_are_dropped() -> None:
    baseline = {"workers": 8, "backlog": 512, "buffer_kb": 64, "ratio": 0.5,
                "timeout_s": 5.0, "learning_rate": 0.001, "mode": "safe"}
    import json

    reply = json.dumps({"configurations": [{"params": baseline, "rationale": "same again"}]})
    sampler = LLMSampler(FakeListChatModel(responses=[reply]), search_space=SPACE, baseline=baseline,
                         schedule=model_first())
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=2)
    assert "repeats" in study.trials[1].user_attrs[ATTR_ERROR]
    assert study.trials[1].params != baseline


class SchemaModel(ScriptedChatModel):
    supports_response_schema: ClassVar[bool] = True


@pytest.mark.parametrize(
    "model_class, structured, expected",
    [(SchemaModel, None, True), (ScriptedChatModel, None, True), (ScriptedChatModel, True, True),
     (SchemaModel, False, False), (ScriptedChatModel, False, False)],
)
def test_json_schema_is_passed_unless_turned_off(model_class, structured, expected) -> None:
    # By default every chat model is first asked with the schema (see test_output_mode.py for
    # the step down when a server refuses it).
    model = model_class(replier=random_replier())
    sampler = LLMSampler(model, search_space=SPACE, structured_output=structured,
                         schedule=AlternatingSchedule(),  # one round of two: trials 1-2
                         choose=unvetted())  # one call
    optuna.create_study(sampler=sampler).optimize(objective, n_trials=2)
    (kwargs,) = model.call_kwargs
    assert ("response_format" in kwargs) is expected
    if expected:
        schema = kwargs["response_format"]["json_schema"]["schema"]
        items = schema["properties"]["configurations"]
        assert items["minItems"] == items["maxItems"] == 2
        params = items["items"]["properties"]["params"]["properties"]
        assert params["workers"] == {"type": "integer", "minimum": 1, "maximum": 64}
        assert params["mode"] == {"enum": ["fast", "safe", 3, 2.5, None]}


def test_a_round_already_recorded_in_storage_is_not_asked_again() -> None:
    # E.g. another sampler instance recorded the round; the record is checked before asking.
    model = ScriptedChatModel(replier=random_replier())
    sampler = LLMSampler(model, search_space=SPACE, schedule=model_first())
    study = optuna.create_study(sampler=sampler)
    study._storage.set_study_system_attr(study._study_id, ROUND_RECORD_PREFIX + "1",
                                         {"owner": 1, "status": "done"})
    study.optimize(objective, n_trials=3)
    assert model.prompts == []
    assert "already proposed" in study.trials[1].user_attrs[ATTR_NOTE]


def test_a_huge_integer_in_a_reply_drops_that_value_and_keeps_the_other_configuration() -> None:
    reply = (
        '{"configurations": [{"params": {"workers": 1' + "0" * 400 + ', "mode": "fast"}}, '
        '{"params": {"workers": 12, "mode": "safe"}}]}'
    )
    sampler = LLMSampler(FakeListChatModel(responses=[reply]), search_space=SPACE,
                         schedule=AlternatingSchedule())
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=3)
    assert round_records(study)[1]["status"] == "done"
    assert [source_of(t, "RandomSampler") for t in study.trials[1:]] == ["llm", "llm"]
    assert study.trials[1].params["mode"] == "fast"
    assert study.trials[2].params["workers"] == 12


def test_a_round_record_is_finished_when_the_round_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr("optuna_llm_sampler._round._judge.repair_candidates", boom)
    sampler = LLMSampler(ScriptedChatModel(replier=random_replier()), search_space=SPACE,
                         schedule=model_first())
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=2)
    record = round_records(study)[1]
    assert record["status"] == "failed"
    assert "OverflowError" in record["error"]
    assert source_of(study.trials[1], "TPESampler") == "TPESampler"
