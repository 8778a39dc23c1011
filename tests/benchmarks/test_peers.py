"""The field's optimisers as arms: each told the baseline before it proposes, inside the space,
reproducible from the seed, and shown with its version."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from optbench.arms import PEERS, ArmError, check_arm, make_arm
from optbench.peers import knobs_of, peer_label, seeded_globals, version
from optbench.problems import Problem
from optbench.summary import label

SPACE = {
    "mode": CategoricalDistribution(["slow", "fast", "off"]),
    "connections": IntDistribution(64, 4096, step=64),
    "ratio": FloatDistribution(0.01, 1.0, log=True),
}
BASELINE = {"mode": "slow", "connections": 64, "ratio": 0.5}


def _value(p: Any) -> float:
    return {"slow": 1.0, "fast": 3.0, "off": 2.0}[p["mode"]] * (1 + p["connections"] / 4096) - abs(np.log(p["ratio"]))


def toy() -> Problem:
    return Problem("toy", dict(SPACE), "maximize", dict(BASELINE), lambda p, rng: _value(p), _value)


def _installed(arm: str) -> bool:
    from optbench.peers import MODULES

    return importlib.util.find_spec(MODULES[arm.partition("-")[0]]) is not None


PEER_ARMS = [pytest.param(arm, marks=pytest.mark.skipif(not _installed(arm), reason=f"{arm} is not installed (bench extra)"))
             for arm in PEERS]


def test_stepped_categorical_and_log_knobs_reach_a_peer_as_indices_and_come_back_inside_the_space() -> None:
    mode, connections, ratio = knobs_of(SPACE)
    assert (mode.kind, mode.size, mode.encode("off"), mode.decode(2.4)) == ("choice", 3, 2, "off")
    assert (connections.kind, connections.size, connections.encode(128), connections.decode(63)) == ("grid", 64, 1, 4096)
    assert connections.decode(70) == 4096 and connections.decode(-3) == 64
    assert (ratio.kind, ratio.decode(5.0), ratio.decode(0.5)) == ("log-float", 1.0, 0.5)


def test_the_global_generators_are_seeded_inside_an_ask_and_restored_after() -> None:
    np.random.seed(7)
    expected = np.random.random()
    np.random.seed(7)
    with seeded_globals(0, 3):
        first = (np.random.random(), np.random.default_rng().random())
    assert np.random.random() == expected  # the caller's stream is untouched
    with seeded_globals(0, 3):
        assert (np.random.random(), np.random.default_rng().random()) == first
    with seeded_globals(0, 4):
        assert np.random.random() != first[0]


def _run(arm: str, seed: int, trials: int) -> tuple[list[dict[str, Any]], Any]:
    """The configurations ``arm`` proposes over ``trials`` trials (the baseline first), and its sampler."""
    sampler = make_arm(arm, toy(), seed, trials=trials).sampler
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(BASELINE)
    for _ in range(trials):
        trial = study.ask(SPACE)
        study.tell(trial, _value(trial.params))
    return [t.params for t in study.trials], sampler


@pytest.mark.parametrize("arm", PEER_ARMS)
def test_a_peer_is_told_the_baseline_first_stays_in_the_space_and_repeats_itself_from_the_seed(arm: str) -> None:
    trials = 5  # HEBO's Sobol start is 1 + 3 knobs: trial 4 comes from its model
    proposed, sampler = _run(arm, 3, trials)
    assert sampler._told == set(range(trials - 1))  # each proposal came after every finished trial was told
    assert proposed[0] == BASELINE
    for params in proposed:
        for name, dist in SPACE.items():
            assert dist._contains(dist.to_internal_repr(params[name]))
    assert _run(arm, 3, trials)[0] == proposed


@pytest.mark.parametrize("arm", PEER_ARMS)
def test_a_peer_is_shown_with_its_library_and_version(arm: str) -> None:
    assert version(arm) is not None
    assert label(arm) == peer_label(arm) == f"{arm} ({ {'smac': 'SMAC3', 'hebo': 'HEBO', 'ngopt': 'Nevergrad'}[arm.partition('-')[0]]} {version(arm)})"


def test_a_missing_peer_package_is_refused_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "hebo" else real(name, *a))
    with pytest.raises(ArmError, match="arm 'hebo' needs HEBO: install the bench extra"):
        check_arm("hebo", toy())
