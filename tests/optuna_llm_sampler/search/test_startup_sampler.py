"""StartupSampler: the first trials from one sampler, the rest from another that learns from all."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution

from optuna_llm_sampler._adaptive import startup_trials
from optuna_llm_sampler._search import SobolSampler, StartupSampler
from optuna_llm_sampler._search._sobol import DESIGN_INDEX_KEY

SPACE = {"x": IntDistribution(0, 100), "mode": CategoricalDistribution(["a", "b", "c"])}


class Recording(optuna.samplers.RandomSampler):
    """A random sampler that records the trials it was asked for and the hooks it saw."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self.sampled: set[int] = set()
        self.hooks: list[tuple[str, int]] = []

    def sample_independent(self, study, trial, param_name, param_distribution):  # type: ignore[no-untyped-def]
        self.sampled.add(trial.number)
        return super().sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study, trial):  # type: ignore[no-untyped-def]
        self.hooks.append(("before", trial.number))

    def after_trial(self, study, trial, state, values):  # type: ignore[no-untyped-def]
        self.hooks.append(("after", trial.number))


def test_trials_go_to_the_start_up_sampler_until_that_many_are_complete_then_to_the_other() -> None:
    first, then = Recording(0), Recording(1)
    study = optuna.create_study(sampler=StartupSampler(first, then, n_startup_trials=4))
    study.enqueue_trial({"x": 50, "mode": "a"})
    failed = study.ask(SPACE)  # trial 0, the baseline, fails: it does not count
    study.tell(failed, state=optuna.trial.TrialState.FAIL)
    for _ in range(7):
        trial = study.ask(SPACE)
        study.tell(trial, float(trial.params["x"]))
    assert first.sampled == {1, 2, 3, 4}
    assert then.sampled == {5, 6, 7}
    assert ("after", 7) in first.hooks and ("before", 1) in then.hooks  # both see every trial


def test_a_sobol_start_then_tpe_learns_from_the_design_and_lends_its_start_up_to_the_schedule() -> None:
    sampler = StartupSampler(
        SobolSampler(seed=0), optuna.samplers.TPESampler(seed=0, n_startup_trials=0), n_startup_trials=5
    )
    assert startup_trials(sampler) == 5  # LLMSampler's default schedule reads it as base_startup
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.enqueue_trial({"x": 0, "mode": "a"})
    for _ in range(12):
        trial = study.ask(SPACE)
        study.tell(trial, trial.params["x"] + 50.0 * (trial.params["mode"] == "c"))
    designed = [t.number for t in study.trials if DESIGN_INDEX_KEY in t.system_attrs]
    assert designed == [1, 2, 3, 4]
    later = [t.params for t in study.trials[5:]]
    assert sum(p["mode"] == "c" for p in later) >= 5  # TPE found the good choice from the design


def test_a_negative_start_up_is_refused() -> None:
    with pytest.raises(ValueError, match="n_startup_trials must be a whole number >= 0, got -1"):
        StartupSampler(SobolSampler(), optuna.samplers.TPESampler(), n_startup_trials=-1)
