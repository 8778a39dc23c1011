"""InTurnsSampler: the first sampler's start-up, then turns by blocks, each sampler learning from all."""

from __future__ import annotations

import importlib.util
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import RandomSampler, TPESampler

from optuna_llm_sampler import LLMSampler, NevergradSampler, make_chat_model
from optuna_llm_sampler._policy._adaptive import startup_trials
from optuna_llm_sampler._search import InTurnsSampler, SearchError, make_search

SPACE = {
    "workers": CategoricalDistribution(["1", "2", "auto"]),
    "connections": IntDistribution(64, 4096, step=64),
    "ratio": FloatDistribution(0.0, 1.0),
}
BASELINE = {"workers": "1", "connections": 64, "ratio": 0.5}
needs_nevergrad = pytest.mark.skipif(importlib.util.find_spec("nevergrad") is None, reason="needs nevergrad")


def objective(params: dict[str, Any]) -> float:
    return (params["workers"] == "auto") * 10 + params["connections"] / 4096 - abs(params["ratio"] - 0.3)


class Recording(RandomSampler):
    """A random sampler that notes the trials it proposed."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self.proposed: set[int] = set()

    def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
        self.proposed.add(trial.number)
        return super().sample_independent(study, trial, name, dist)


def run(sampler: optuna.samplers.BaseSampler, n: int) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(BASELINE)
    for _ in range(n):
        trial = study.ask(SPACE)
        study.tell(trial, objective(trial.params))
    return study


def test_the_first_sampler_takes_the_start_up_then_blocks_go_to_each_in_turn_the_second_first() -> None:
    first, second = Recording(0), Recording(1)
    run(InTurnsSampler([first, second], n_startup_trials=4, block=2), 12)
    assert first.proposed == {1, 2, 3, 6, 7, 10, 11}  # trial 0 is the enqueued baseline
    assert second.proposed == {4, 5, 8, 9}


def test_three_samplers_rotate_in_their_order_after_the_first_ones_start_up() -> None:
    samplers = [Recording(0), Recording(1), Recording(2)]
    sampler = InTurnsSampler(samplers, n_startup_trials=2, block=1)
    assert [samplers.index(sampler.owner(n)) for n in range(8)] == [0, 0, 1, 2, 0, 1, 2, 0]


@pytest.mark.parametrize(
    ("args", "kwargs", "named"),
    [
        (([TPESampler()],), {}, "two or more"),
        (([TPESampler(), "tpe"],), {}, "two or more"),
        (([TPESampler(), RandomSampler()],), {"n_startup_trials": -1}, "n_startup_trials"),
        (([TPESampler(), RandomSampler()],), {"block": 0}, "block"),
    ],
)
def test_a_bad_argument_is_named(args: tuple, kwargs: dict, named: str) -> None:
    with pytest.raises(SearchError, match=named):
        InTurnsSampler(*args, **kwargs)


@needs_nevergrad
def test_the_tpe_ngopt_search_plans_nevergrad_for_the_budget_and_reports_tpes_start_up() -> None:
    sampler = make_search("tpe-ngopt", seed=0, budget=30)
    assert isinstance(sampler, InTurnsSampler)
    tpe, ngopt = sampler.samplers
    assert isinstance(tpe, TPESampler) and isinstance(ngopt, NevergradSampler)
    assert ngopt._budget == 30
    # The adaptive schedule's base_startup="auto" reads it: after it, TPE's model proposes.
    assert startup_trials(sampler) == 10


@needs_nevergrad
def test_nevergrad_learns_from_the_trials_tpe_and_the_model_proposed() -> None:
    base = make_search("tpe-ngopt", seed=0, budget=20, n_startup_trials=4)
    sampler = LLMSampler(make_chat_model("random:0"), base_sampler=base, search_space=SPACE, seed=0)
    study = run(sampler, 20)
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert [t.number for t in done] == list(range(20))
    assert any(t.user_attrs.get("source") == "llm" for t in done)
    ngopt = base.samplers[1]
    (search,) = ngopt._studies.values()
    last_turn = max(n for n in range(20) if base.owner(n) is ngopt)
    proposed_by_others = {t.number for t in done if t.number < last_turn and base.owner(t.number) is not ngopt}
    assert proposed_by_others and proposed_by_others <= search.told
