"""NevergradSampler: Nevergrad's NGOpt as an Optuna sampler, told every trial whoever proposed it."""

from __future__ import annotations

import importlib.util

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from optuna_llm_sampler import LLMSampler, NevergradSampler, make_chat_model
from optuna_llm_sampler._search import SearchError, make_search

pytestmark = pytest.mark.skipif(importlib.util.find_spec("nevergrad") is None, reason="needs nevergrad")

SPACE = {
    "workers": CategoricalDistribution(["1", "2", "auto"]),
    "connections": IntDistribution(64, 4096, step=64),
    "buffer": IntDistribution(1, 2**20, log=True),
    "wide": IntDistribution(0, 2**28),
    "ratio": FloatDistribution(0.0, 1.0),
    "level": FloatDistribution(0.5, 8.0, step=0.5),
}
BASELINE = {"workers": "1", "connections": 64, "buffer": 8, "wide": 0, "ratio": 0.5, "level": 6.0}


def objective(params: dict) -> float:
    return (
        (params["workers"] == "auto") * 10
        + params["connections"] / 4096
        - abs(params["ratio"] - 0.3)
        - abs(params["level"] - 2.0)
    )


def run(sampler: optuna.samplers.BaseSampler, n: int = 12, storage: str | None = None,
        name: str | None = None) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=sampler, storage=storage, study_name=name,
                                load_if_exists=True)
    if not study.trials:
        study.enqueue_trial(BASELINE)
    for _ in range(n):
        trial = study.ask(SPACE)
        study.tell(trial, objective(trial.params))
    return study


def test_every_proposal_is_inside_the_space_and_a_seed_repeats_the_study() -> None:
    first = run(NevergradSampler(budget=13, seed=3))
    for trial in first.trials:
        for name, dist in SPACE.items():
            assert dist._contains(dist.to_internal_repr(trial.params[name])), (trial.number, name)
    again = run(NevergradSampler(budget=13, seed=3))
    assert [t.params for t in first.trials] == [t.params for t in again.trials]
    other = run(NevergradSampler(budget=13, seed=4))
    assert [t.params for t in first.trials] != [t.params for t in other.trials]


def test_it_searches_from_its_first_trial_and_improves_on_the_baseline() -> None:
    study = run(NevergradSampler(budget=40, seed=0), n=39)
    assert study.trials[0].params == BASELINE
    assert study.best_value > objective(BASELINE) + 5  # it found workers=auto and kept it


def test_a_second_process_on_the_same_storage_is_told_every_finished_trial(tmp_path) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    run(NevergradSampler(budget=20, seed=0), n=6, storage=storage, name="s")
    resumed = NevergradSampler(budget=20, seed=0)
    study = run(resumed, n=1, storage=storage, name="s")
    search = next(iter(resumed._studies.values()))
    assert search.told == {t.number for t in study.trials[:-1]}  # the baseline and the six before


def test_under_the_model_it_is_told_the_models_trials_too() -> None:
    base = NevergradSampler(budget=20, seed=0)
    sampler = LLMSampler(make_chat_model("random:0"), base_sampler=base, search_space=SPACE, baseline=BASELINE, seed=0)
    study = run(sampler, n=12)
    search = next(iter(base._studies.values()))
    model_trials = [t.number for t in study.trials if t.user_attrs.get("source") == "llm"]
    assert model_trials and set(model_trials) <= search.told


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"optimizer": "NoSuchOptimizer"}, "unknown Nevergrad optimizer 'NoSuchOptimizer'"),
        ({"budget": 0}, "budget must be a whole number >= 1, got 0"),
        ({"num_workers": True}, "num_workers must be a whole number >= 1, got True"),
    ],
)
def test_bad_settings_are_refused_naming_them(kwargs: dict, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        NevergradSampler(**kwargs)


def test_the_ngopt_search_is_told_the_studys_budget() -> None:
    sampler = make_search("ngopt", seed=1, budget=30)
    assert isinstance(sampler, NevergradSampler) and sampler._budget == 30
    assert make_search("ngopt")._budget == 100
    with pytest.raises(SearchError, match="budget must be a whole number >= 1, got 0"):
        make_search("ngopt", budget=0)


def test_without_nevergrad_the_search_is_refused_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nevergrad" else real(name, *a))
    with pytest.raises(SearchError, match="needs nevergrad: pip install nevergrad"):
        make_search("ngopt")
    with pytest.raises(SearchError, match="needs the nevergrad package"):
        NevergradSampler()


def test_a_trial_that_ran_another_candidate_than_the_last_asked_is_told_what_it_ran() -> None:
    sampler = NevergradSampler(budget=20, seed=0)
    study = run(sampler, n=3)
    trial = study.ask()
    frozen = study._storage.get_trial(trial._trial_id)
    space = sampler.infer_relative_search_space(study, frozen)
    first = sampler.sample_relative(study, frozen, space)  # candidates drawn for one trial,
    second = sampler.sample_relative(study, frozen, space)  # as a model round that picks draws them
    assert first != second
    search = next(iter(sampler._studies.values()))
    told = []
    search._ng.tell = lambda candidate, loss: told.append((search.decode(candidate), loss))
    search.tell(trial.number, first, -1.0)  # the trial ran the first candidate
    assert told == [(first, -1.0)]
