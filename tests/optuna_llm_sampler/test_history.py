"""The history comes from the study's storage: best, recent and failed trials, with sources."""

from __future__ import annotations

import optuna
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.trial import TrialState
from optuna.trial import create_trial

from optuna_llm_sampler.attrs import ATTR_FAIL_REASON
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler._proposal._history import evaluated_params
from optuna_llm_sampler._proposal._history import read_history
from optuna_llm_sampler._proposal._history import search_space_from_trials


X = IntDistribution(0, 100)


def add(study, x, value=None, state=TrialState.COMPLETE, **attrs):
    study.add_trial(
        create_trial(
            state=state,
            value=value,
            params={"x": x},
            distributions={"x": X},
            user_attrs=attrs,
        )
    )


def make_study(direction: str = "minimize") -> optuna.Study:
    study = optuna.create_study(direction=direction)
    add(study, 50, 10.0, **{ATTR_SOURCE: "baseline"})
    add(study, 10, 3.0, **{ATTR_SOURCE: "llm"})
    add(study, 20, 7.0, **{ATTR_SOURCE: "TPESampler"})
    add(study, 30, state=TrialState.FAIL, **{ATTR_FAIL_REASON: "nginx did not start"})
    add(study, 40, state=TrialState.FAIL)
    add(study, 60, 1.0, state=TrialState.PRUNED)
    return study


def test_best_trials_follow_the_direction() -> None:
    h = read_history(make_study("minimize"), best=2)
    assert [t.number for t in h.best] == [1, 2]
    h = read_history(make_study("maximize"), best=2)
    assert [t.number for t in h.best] == [0, 2]
    assert h.directions == ("maximize",)


def test_trials_carry_their_source_and_failures_their_reason() -> None:
    h = read_history(make_study(), recent=3, failures=5)
    assert [t.source for t in h.best] == ["llm", "TPESampler", "baseline"]
    assert [(t.number, t.fail_reason) for t in h.failures] == [
        (3, "nginx did not start"),
        (4, "no reason recorded"),
    ]
    assert [t.number for t in h.recent] == [3, 4, 5]
    assert (h.n_trials, h.n_complete, h.n_failed, h.n_pruned) == (6, 3, 2, 1)


def test_baseline_is_the_trial_marked_baseline() -> None:
    h = read_history(make_study())
    assert h.baseline is not None and h.baseline.number == 0 and h.baseline.values == (10.0,)
    assert read_history(optuna.create_study()).baseline is None


def test_history_reads_storage_written_by_another_study_object(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    writer = optuna.create_study(study_name="s", storage=url)
    add(writer, 5, 2.0)
    reader = optuna.load_study(study_name="s", storage=url)
    assert [t.params for t in read_history(reader).best] == [{"x": 5}]


def test_multi_objective_best_is_the_pareto_front() -> None:
    study = optuna.create_study(directions=["minimize", "maximize"])
    for x, values in [(1, [1.0, 1.0]), (2, [2.0, 3.0]), (3, [3.0, 2.0])]:
        study.add_trial(
            create_trial(values=values, params={"x": x}, distributions={"x": X})
        )
    assert sorted(t.number for t in read_history(study).best) == [0, 1]


def test_search_space_from_trials_and_evaluated_params_include_waiting_trials() -> None:
    study = make_study()
    study.add_trial(
        create_trial(
            value=1.0, params={"y": 0.5}, distributions={"y": FloatDistribution(0, 1)}
        )
    )
    study.enqueue_trial({"x": 77})
    trials = study.get_trials()
    assert search_space_from_trials(trials) == {"x": X, "y": FloatDistribution(0, 1)}
    assert {"x": 77} in evaluated_params(trials)
    assert {"x": 30} in evaluated_params(trials)  # failed configurations count as tried
