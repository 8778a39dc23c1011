"""SobolSampler: one scrambled Sobol sequence, every knob stratified, categorical ones included."""

from __future__ import annotations

import math
from collections import Counter

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from optuna_llm_sampler._search import SobolSampler
from optuna_llm_sampler._search._sobol import DESIGN_INDEX_KEY, value_at

SPACE = {
    "gzip": CategoricalDistribution(["on", "static", "off"]),
    "workers": CategoricalDistribution(["1", "2", "3", "4"]),
    "connections": IntDistribution(64, 4096, step=64),
    "ratio": FloatDistribution(0.001, 1.0, log=True),
    "share": FloatDistribution(0.0, 1.0),
    "level": IntDistribution(1, 9),
}
BASELINE = {"gzip": "on", "workers": "1", "connections": 64, "ratio": 0.5, "share": 0.5, "level": 6}


def run(sampler: optuna.samplers.BaseSampler, trials: int, *, baseline: bool = True) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    if baseline:
        study.enqueue_trial(BASELINE)
    for _ in range(trials):
        trial = study.ask(SPACE)
        study.tell(trial, 0.0)
    return study


def test_the_first_2_to_the_m_points_put_one_point_in_each_equal_slice_of_every_knob() -> None:
    study = run(SobolSampler(seed=3), 1 + 16)
    designed = [t for t in study.trials if DESIGN_INDEX_KEY in t.system_attrs]
    assert [t.system_attrs[DESIGN_INDEX_KEY] for t in designed] == list(range(16))
    # each choice of a 4-level knob 4 times; of an 8-step... every slice of 16 once
    assert Counter(t.params["workers"] for t in designed) == {"1": 4, "2": 4, "3": 4, "4": 4}
    share_slices = sorted(int(t.params["share"] * 16) for t in designed)
    assert share_slices == list(range(16))
    ratio_slices = sorted(int(math.log(t.params["ratio"] / 0.001) / math.log(1000) * 16) for t in designed)
    assert ratio_slices == list(range(16))
    # a three-level knob over 16 points: no level fewer than 5 times (random draws miss far more)
    assert min(Counter(t.params["gzip"] for t in designed).values()) >= 5


def test_the_baseline_and_other_enqueued_trials_take_no_point_of_the_design() -> None:
    sampler = SobolSampler(seed=0)
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial(BASELINE)
    for _ in range(3):
        study.tell(study.ask(SPACE), 0.0)
    study.enqueue_trial({**BASELINE, "gzip": "off"})
    for _ in range(2):
        study.tell(study.ask(SPACE), 0.0)
    indices = [t.system_attrs.get(DESIGN_INDEX_KEY) for t in study.trials]
    assert indices == [None, 0, 1, None, 2]
    fresh = run(SobolSampler(seed=0), 4)
    assert [t.params for t in study.trials if t.number in (1, 2, 4)] == [t.params for t in fresh.trials[1:4]]


def test_the_same_seed_repeats_the_design_and_another_seed_scrambles_it_otherwise() -> None:
    first = [t.params for t in run(SobolSampler(seed=7), 9).trials]
    assert [t.params for t in run(SobolSampler(seed=7), 9).trials] == first
    assert [t.params for t in run(SobolSampler(seed=8), 9).trials] != first


def test_a_second_draw_for_the_same_trial_takes_the_next_point() -> None:
    sampler = SobolSampler(seed=0)
    study = run(sampler, 1)
    trial = study.ask()
    frozen = study._storage.get_trial(trial._trial_id)
    space = sampler.infer_relative_search_space(study, frozen)
    drawn = [sampler.sample_relative(study, frozen, space) for _ in range(3)]
    assert len({tuple(sorted(d.items())) for d in drawn}) == 3
    assert study._storage.get_trial_system_attrs(trial._trial_id)[DESIGN_INDEX_KEY] == 2


def test_a_given_space_is_designed_from_the_first_trial_without_a_baseline() -> None:
    study = run(SobolSampler(seed=1, search_space=SPACE), 4, baseline=False)
    assert [t.system_attrs.get(DESIGN_INDEX_KEY) for t in study.trials] == [0, 1, 2, 3]
    without = run(SobolSampler(seed=1), 2, baseline=False)
    assert DESIGN_INDEX_KEY not in without.trials[0].system_attrs  # nothing to design over yet: random
    assert without.trials[1].system_attrs[DESIGN_INDEX_KEY] == 0


@pytest.mark.parametrize(
    ("dist", "u", "expected"),
    [
        (CategoricalDistribution(["a", "b", "c"]), 0.0, "a"),
        (CategoricalDistribution(["a", "b", "c"]), 0.34, "b"),
        (CategoricalDistribution(["a", "b", "c"]), 1.0, "c"),
        (IntDistribution(64, 4096, step=64), 0.999, 4096),
        (IntDistribution(64, 4096, step=64), 0.0, 64),
        (IntDistribution(10, 10000, step=10), 0.5, 5010),
        (IntDistribution(1, 1000, log=True), 0.0, 1),
        (IntDistribution(1, 1000, log=True), 1.0, 1000),
        (FloatDistribution(0.0, 1.0, step=0.25), 0.99, 1.0),
        (FloatDistribution(1.0, 100.0, log=True), 0.5, 10.0),
    ],
)
def test_a_coordinate_becomes_a_value_of_its_knob(dist: object, u: float, expected: object) -> None:
    value = value_at(dist, u)  # type: ignore[arg-type]
    assert value == pytest.approx(expected) if isinstance(expected, float) else value == expected
    assert dist._contains(dist.to_internal_repr(value))  # type: ignore[attr-defined]
