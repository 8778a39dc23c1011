"""Stop rules: a target gain over the baseline, and patience; why a run stopped is kept on the study."""

from __future__ import annotations

from pathlib import Path

import pytest

from atune_bridge import RunnerConfig
from atune_bridge._runner import STUDY_STOPPED, StopRules

from toy_project import BASELINE_RPS, ORIGINAL, Toy, copy_toy, rps

WORSE = [{"workers": 2, "cache": 64, "mode": "safe", "ratio": 0.5},
         {"workers": 2, "cache": 128, "mode": "safe", "ratio": 0.9},
         {"workers": 2, "cache": 64, "mode": "safe", "ratio": 0.9}]
GAIN_12 = {"workers": 2, "cache": 448, "mode": "safe", "ratio": 0.5}  # 1000-160-5-4 = 831: +26.7%


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return copy_toy(tmp_path)


def test_the_examples_are_as_the_tests_assume() -> None:
    assert all(rps(**w) < BASELINE_RPS for w in WORSE)  # type: ignore[arg-type]
    assert rps(**GAIN_12) / BASELINE_RPS - 1 > 0.10  # type: ignore[arg-type]


def test_reaching_the_target_gain_stops_the_run_and_says_why(toy: Toy) -> None:
    toy.runner(n_trials=1).run()
    toy.enqueue(WORSE[0], GAIN_12, WORSE[1])
    result = toy.runner(n_trials=10, target_gain=10.0).run()
    study = toy.study()
    finished = [t.number for t in study.trials if t.state.is_finished()]
    assert finished == [0, 1, 2]  # baseline, a worse one, the one reaching the target (the 3rd waits)
    assert result.stopped is not None and result.stopped == study.user_attrs[STUDY_STOPPED]
    assert result.stopped["rule"] == "target_gain" and result.stopped["trial"] == 2
    assert result.stopped["gain_pct"] == pytest.approx((rps(**GAIN_12) / BASELINE_RPS - 1) * 100)  # type: ignore[arg-type]
    assert result.stopped["reason"].startswith("trial 2 reached a gain of +26.68% over the baseline (target 10%)")
    assert result.interrupted is None and toy.conf() == ORIGINAL


def test_patience_stops_after_that_many_trials_without_a_better_one(toy: Toy) -> None:
    toy.runner(n_trials=1).run()
    toy.enqueue(*WORSE)
    result = toy.runner(n_trials=10, patience=2).run()
    assert [t.number for t in toy.study().trials if t.state.is_finished()] == [0, 1, 2]
    assert result.stopped is not None and result.stopped["rule"] == "patience"
    assert result.stopped["reason"] == "2 finished trials since trial 0 without a better one (patience 2)"


def test_a_run_that_reaches_its_budget_clears_an_earlier_stop_reason(toy: Toy) -> None:
    toy.runner(n_trials=1).run()
    toy.enqueue(*WORSE)
    toy.runner(n_trials=10, patience=2).run()
    again = toy.runner(n_trials=10, patience=2).run()  # the rule still holds: no new trial
    finished = [t.number for t in toy.study().trials if t.state.is_finished()]
    assert again.stopped is not None and finished == [0, 1, 2]
    done = toy.runner(n_trials=4).run()
    assert done.stopped is None and toy.study().user_attrs[STUDY_STOPPED] is None
    assert [t.number for t in toy.study().trials if t.state.is_finished()] == [0, 1, 2, 3]


def test_stop_rules_refuse_meaningless_values() -> None:
    with pytest.raises(ValueError, match="patience must be at least 1"):
        StopRules(patience=0)
    with pytest.raises(ValueError, match="target_gain must be a positive percentage"):
        RunnerConfig(target_gain=-5.0)
    assert not StopRules().active
