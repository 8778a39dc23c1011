"""``LLMSampler(prefetch=True)``: the next round's model call starts when the current round's last
trial starts, the round uses it, records what its prompt lacked, and a failed call falls back."""

from __future__ import annotations

import pickle
import threading
import time

import optuna
import pytest
from optuna.samplers import RandomSampler

from llm_fakes import objective
from llm_fakes import random_replier
from llm_fakes import round_records
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from llm_fakes import unvetted
from optuna_llm_sampler.attrs import source_of
from optuna_llm_sampler import AdaptiveSchedule
from optuna_llm_sampler.attrs import ATTR_ERROR
from optuna_llm_sampler.attrs import ATTR_PREFETCH
from optuna_llm_sampler.attrs import ATTR_PROPOSED_BY
from optuna_llm_sampler import EveryKthSchedule
from optuna_llm_sampler import ConfigError
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler._policy._prefetch import Prefetch


pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "optuna-llm-sampler-prefetch"]


def _run(model: ScriptedChatModel, n_trials: int, **kwargs) -> tuple[optuna.Study, LLMSampler]:
    # Prefetching needs a schedule fixed in advance and rounds the model writes.
    kwargs = {"schedule": "alternating", **kwargs}
    if not isinstance(kwargs["schedule"], str):
        kwargs.setdefault("choose", None)
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         prefetch=True, **kwargs)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    assert sampler.join_prefetch(timeout=30)
    return study, sampler


def test_later_rounds_use_the_call_started_when_the_previous_round_ended() -> None:
    model = ScriptedChatModel(replier=random_replier())
    study, _ = _run(model, n_trials=11)  # Rounds 1-2, 5-6, 9-10; the last starts round 13's.
    trials = study.trials
    assert [t.number for t in trials if source_of(t, "RandomSampler") == "llm"] == [1, 2, 5, 6, 9, 10]
    assert ATTR_PREFETCH not in trials[1].user_attrs  # Nothing was ahead of the first round.
    for number, started_by in [(5, 2), (6, 2), (9, 6), (10, 6)]:
        record = trials[number].user_attrs[ATTR_PREFETCH]
        assert record["started_by"] == started_by
        # One trial at a time: when trial 2 started, trials 0 and 1 had finished.
        assert record["missing"] == list(range(started_by, number - number % 4 + 1))
        assert record["finished"] == started_by
    assert trials[6].user_attrs[ATTR_PROPOSED_BY] == 5  # The round's owner took the call.
    # One call per round, and one ahead for round 13, which the study never reached.
    assert len(model.prompts) == 4
    assert {k: v["status"] for k, v in round_records(study).items()} == {
        1: "done", 5: "done", 9: "done"
    }
    assert not _prefetch_threads()


def test_the_prompt_of_a_prefetched_round_lacks_the_trials_still_to_come() -> None:
    model = ScriptedChatModel(replier=random_replier())
    _run(model, n_trials=7)
    second = model.prompts[1]
    # Trial 1's result is in it, trials 2-4 had not finished when the call started.
    assert "#1 [" in second
    assert "#3 [" not in second and "#4 [" not in second


def test_a_failed_prefetched_call_sends_the_round_to_the_base_sampler() -> None:
    model = ScriptedChatModel(replier=random_replier(), error="server exploded")
    study, _ = _run(model, n_trials=7)
    owner = study.trials[5]
    assert source_of(owner, "RandomSampler") == "RandomSampler"
    assert "server exploded" in owner.user_attrs[ATTR_ERROR]
    assert owner.user_attrs[ATTR_PREFETCH]["started_by"] == 2
    assert round_records(study)[5]["status"] == "failed"


def test_prefetch_is_off_by_default() -> None:
    model = ScriptedChatModel(replier=random_replier())
    # Trials 1 and 5, whatever they deliver (model_first() would take trial 5 away from a model
    # whose trial 1 is behind: these replies are random, so the count would be luck).
    sampler = LLMSampler(model, search_space=SPACE, schedule=lambda n: n in (1, 5),
                         choose=unvetted())  # one call per round
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=7)
    assert len(model.prompts) == 2
    assert not any(ATTR_PREFETCH in t.user_attrs for t in study.trials)
    assert not _prefetch_threads()


def test_several_threads_still_call_the_model_once_per_round() -> None:
    model = ScriptedChatModel(replier=random_replier(), sleep=0.05)

    def slow(trial: optuna.Trial) -> float:
        time.sleep(0.02)
        return objective(trial)

    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule="alternating", prefetch=True)
    study = optuna.create_study(sampler=sampler)
    study.optimize(slow, n_trials=24, n_jobs=3)
    assert sampler.join_prefetch(timeout=30)
    asked = [k for k, v in round_records(study).items() if v["status"] != "skipped"]
    # Each recorded round is one call; at most one more call was made ahead and not used.
    assert len(asked) <= len(model.prompts) <= len(asked) + 1
    for t in study.trials:
        if source_of(t, "RandomSampler") == "llm":
            assert t.user_attrs["llm_round"] in asked


def test_a_schedule_that_follows_the_study_is_refused_saying_what_to_pass() -> None:
    # It decides a round only when the round starts: there is nothing to prepare ahead.
    model = ScriptedChatModel(replier=random_replier())
    with pytest.raises(ConfigError, match="schedule='alternating'"):
        _run(model, n_trials=9, schedule=AdaptiveSchedule())


def test_a_copy_starts_with_nothing_ahead() -> None:
    prefetch: Prefetch[int] = Prefetch()
    release = threading.Event()
    assert prefetch.start("round 5", lambda: release.wait(5) and 7)
    copy = pickle.loads(pickle.dumps(prefetch))
    assert not copy.pending("round 5")
    release.set()
    assert prefetch.take("round 5", timeout=5) == 7
    assert prefetch.take("round 5", timeout=5) is None  # Taken once.


def test_rounds_of_one_trial_prefetch_the_next_once_their_own_call_is_done() -> None:
    model = ScriptedChatModel(replier=random_replier())
    study, _ = _run(model, n_trials=10, schedule=EveryKthSchedule(3))  # LLM trials 3, 6, 9.
    trials = study.trials
    assert [t.number for t in trials if source_of(t, "RandomSampler") == "llm"] == [3, 6, 9]
    assert ATTR_PREFETCH not in trials[3].user_attrs
    assert trials[6].user_attrs[ATTR_PREFETCH]["missing"] == [3, 4, 5]
    assert trials[9].user_attrs[ATTR_PREFETCH]["started_by"] == 6
    assert len(model.prompts) == 4  # Rounds 3, 6, 9 and the one ahead for 12.
