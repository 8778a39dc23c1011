"""ModelBudget: past a cap on calls or seconds, LLM slots go to the base sampler and say why."""

from __future__ import annotations

import optuna
from optuna.samplers import RandomSampler
import pytest

from llm_fakes import objective
from llm_fakes import random_replier
from llm_fakes import round_records
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from llm_fakes import unvetted
from optuna_llm_sampler.attrs import source_of
from optuna_llm_sampler.attrs import ATTR_NOTE
from optuna_llm_sampler import ConfigError
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import ModelBudget


def run(model: ScriptedChatModel, budget: ModelBudget | None, n: int = 20) -> optuna.Study:
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=AlternatingSchedule(), choose=unvetted(),  # a call per round
                         budget=budget)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study


def test_max_calls_stops_the_model_after_that_many_rounds() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=0))
    study = run(model, ModelBudget(max_calls=2))
    assert len(model.prompts) == 2
    llm = [t.number for t in study.trials if source_of(t, "RandomSampler") == "llm"]
    assert llm == [1, 2, 5, 6]
    over = [t for t in study.trials if "model budget spent" in t.user_attrs.get(ATTR_NOTE, "")]
    assert [t.number for t in over] == [9, 10, 13, 14, 17, 18]
    assert "max_calls=2" in over[0].user_attrs[ATTR_NOTE]
    assert all(source_of(t, "RandomSampler") == "RandomSampler" for t in over)
    statuses = [r["status"] for r in round_records(study).values()]
    assert statuses.count("done") == 2 and statuses.count("over_budget") == 3


def test_max_seconds_counts_the_seconds_recorded_with_each_round() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=0), sleep=0.2)
    study = run(model, ModelBudget(max_seconds=0.3))
    assert len(model.prompts) == 2  # 0.2 s after the first call, 0.4 s after the second
    records = [r for r in round_records(study).values() if r["status"] == "done"]
    assert all(r["seconds"] >= 0.2 for r in records)
    notes = [t.user_attrs.get(ATTR_NOTE, "") for t in study.trials]
    assert any("max_seconds=0.3" in note for note in notes)


def test_no_budget_means_no_cap() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=0))
    run(model, None)
    assert len(model.prompts) == 5
    assert ModelBudget().spent({}) is None


@pytest.mark.parametrize(
    "kwargs, name",
    [({"max_calls": -1}, "max_calls"), ({"max_calls": 1.5}, "max_calls"),
     ({"max_seconds": float("inf")}, "max_seconds"), ({"max_seconds": -2}, "max_seconds")],
)
def test_invalid_caps_raise_naming_them(kwargs: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        ModelBudget(**kwargs)


def test_the_budget_must_be_a_model_budget() -> None:
    with pytest.raises(TypeError, match="budget"):
        LLMSampler(ScriptedChatModel(replier=random_replier()), budget=3)  # type: ignore[arg-type]
