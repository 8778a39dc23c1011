"""SobolTPESampler and SobolGPSampler: the start-up trials from the design, then the model learns from all."""

from __future__ import annotations

import importlib.util

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution

from optuna_llm_sampler._policy._adaptive import startup_trials
from optuna_llm_sampler._search import SobolGPSampler, SobolSampler, SobolTPESampler
from optuna_llm_sampler._search._sobol import DESIGN_INDEX_KEY

SPACE = {"x": IntDistribution(0, 100), "mode": CategoricalDistribution(["a", "b", "c"])}
BASELINE = {"x": 0, "mode": "a"}


def objective(params: dict) -> float:
    return params["x"] + 50.0 * (params["mode"] == "c")


def run(sampler: optuna.samplers.BaseSampler, trials: int) -> optuna.Study:
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.enqueue_trial(BASELINE)
    for _ in range(trials):
        trial = study.ask(SPACE)
        study.tell(trial, objective(trial.params))
    return study


def test_the_start_up_takes_the_design_then_tpe_learns_from_it() -> None:
    sampler = SobolTPESampler(seed=0, n_startup_trials=5)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert startup_trials(sampler) == 5  # LLMSampler's default schedule reads it as base_startup
    study = run(sampler, 14)
    assert [t.number for t in study.trials if DESIGN_INDEX_KEY in t.system_attrs] == [1, 2, 3, 4]
    design = run(SobolSampler(seed=0), 5)
    assert [t.params for t in study.trials[1:5]] == [t.params for t in design.trials[1:5]]
    later = [t.params for t in study.trials[5:]]
    assert sum(p["mode"] == "c" for p in later) >= 6  # TPE found the good choice from the design
    assert [t.params for t in run(SobolTPESampler(seed=0, n_startup_trials=5), 14).trials] == [
        t.params for t in study.trials]


def test_a_failed_trial_does_not_count_towards_the_start_up() -> None:
    study = optuna.create_study(sampler=SobolTPESampler(seed=0, n_startup_trials=3))
    study.tell(study.ask(SPACE), state=optuna.trial.TrialState.FAIL)
    for _ in range(4):
        study.tell(study.ask(SPACE), 1.0)
    # trials 0 (failed) and 1 have no finished trial to take the knobs from: drawn at random
    assert [DESIGN_INDEX_KEY in t.system_attrs for t in study.trials] == [False, False, True, True, False]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="GPSampler needs torch (the bench extra)")
def test_the_gaussian_process_takes_over_after_the_design() -> None:
    sampler = SobolGPSampler(seed=0, n_startup_trials=3)
    assert isinstance(sampler, optuna.samplers.GPSampler) and startup_trials(sampler) == 3
    study = run(sampler, 5)
    assert [DESIGN_INDEX_KEY in t.system_attrs for t in study.trials] == [False, True, True, False, False]
    assert all("gp:relative_params:0" in t.system_attrs for t in study.trials[3:])
