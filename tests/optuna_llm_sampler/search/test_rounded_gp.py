"""RoundedGPSampler: a knob from 0 to 2**28 is searched as continuous and rounded, not listed."""

from __future__ import annotations

import importlib.util

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from optuna_llm_sampler._search import RoundedGPSampler
from optuna_llm_sampler._search._gp import snap

WIDE = IntDistribution(0, 2**28)


def test_only_knobs_wider_than_the_limit_are_shown_as_continuous() -> None:
    sampler = RoundedGPSampler(seed=0, max_enumerated=1000)
    assert sampler.as_searched(WIDE) == FloatDistribution(0.0, 2.0**28)
    assert sampler.as_searched(IntDistribution(1, 2**20, log=True)) == FloatDistribution(1.0, 2.0**20, log=True)
    assert sampler.as_searched(FloatDistribution(0.0, 1.0, step=1e-4)) == FloatDistribution(0.0, 1.0)
    for narrow in (IntDistribution(10, 10000, step=10), IntDistribution(0, 999), FloatDistribution(0.0, 1.0),
                   CategoricalDistribution(["a", "b"])):
        assert sampler.as_searched(narrow) is narrow


@pytest.mark.parametrize(
    ("dist", "value", "expected"),
    [(WIDE, 1234.6, 1235), (WIDE, -3.0, 0), (WIDE, 2.0**28 + 7, 2**28), (IntDistribution(0, 2**20, step=4), 10.1, 12),
     (FloatDistribution(0.0, 1.0, step=1e-4), 0.12344, 0.1234)],
)
def test_a_proposal_is_rounded_to_the_nearest_step_inside_the_range(dist: object, value: float, expected: object) -> None:
    got = snap(dist, value)  # type: ignore[arg-type]
    assert got == pytest.approx(expected) and type(got) is type(expected)


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_enumerated must be a whole number >= 1, got 0"):
        RoundedGPSampler(max_enumerated=0)


def _values(dist: object) -> float:
    """How many values GPSampler would list for ``dist`` (infinite for a continuous knob)."""
    if isinstance(dist, CategoricalDistribution):
        return len(dist.choices)
    if isinstance(dist, FloatDistribution) and dist.step is None:
        return float("inf")
    return (dist.high - dist.low) / (dist.step or 1) + 1  # type: ignore[attr-defined]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="GPSampler needs torch (the bench extra)")
def test_the_gaussian_process_never_lists_the_values_of_a_knob_from_0_to_2_to_the_28() -> None:
    # GPSampler alone lists the knob's 2**28 values on every trial it proposes: 2 GiB of float64.
    seen: list[dict[str, object]] = []

    class Spy(optuna.samplers.GPSampler):
        def sample_relative(self, study, trial, search_space):  # type: ignore[no-untyped-def]
            seen.append(dict(search_space))
            return super().sample_relative(study, trial, search_space)

    class Rounded(RoundedGPSampler, Spy):
        pass

    def objective(trial: optuna.Trial) -> float:
        return abs(trial.suggest_int("buffer", 0, 2**28) - 2**26) / 2**28 + (trial.suggest_categorical("m", ["a", "b"]) == "a")

    study = optuna.create_study(sampler=Rounded(seed=0, n_startup_trials=2))
    study.optimize(objective, n_trials=4)
    assert seen and all(_values(d) <= 2 or _values(d) == float("inf") for space in seen for d in space.values())
    assert all("gp:relative_params:0" in t.system_attrs for t in study.trials[2:])  # the GP proposed them
    for trial in study.trials:
        assert isinstance(trial.params["buffer"], int) and 0 <= trial.params["buffer"] <= 2**28
