"""The verified improvement: Student-t intervals, the gain's log-scale interval, the verdict,
and the runner measuring the best and the baseline again, alternately, on the toy project."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pytest

from atune_bridge import RunnerConfig, client_from_dict
from atune_bridge._runner import STUDY_CONFIRM, confirm_text
from atune_bridge._runner._confirm import confirm_gain, metric_gain, primary_metric
from atune_bridge._runner._stats import mean_interval, ratio_interval, t_quantile

from toy_project import BASELINE_RPS, ORIGINAL, Toy, copy_toy, noisy_client, rps

BEST = {"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.3}  # the optimum, 1060 rps

RPS = client_from_dict({"benchmark": "true", "evaluations": [
    {"name": "rps", "info": {"get": "echo 1", "type": "negative", "weight": 70}},
    {"name": "latency", "info": {"get": "echo 1", "type": "positive", "weight": 30}},
]}).evaluations


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return copy_toy(tmp_path)


# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize(("df", "expected"), [(1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (30, 2.0423)])
def test_the_t_quantile_matches_the_printed_tables(df: float, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)


def test_the_t_quantile_takes_the_fractional_degrees_of_freedom_welch_gives() -> None:
    assert t_quantile(0.975, 2) > t_quantile(0.975, 2.5) > t_quantile(0.975, 3)


def test_a_mean_interval_is_mean_plus_minus_t_times_the_standard_error() -> None:
    stats = mean_interval([10.0, 12.0, 11.0])
    assert (stats.n, stats.mean, stats.sd) == (3, 11.0, 1.0)
    assert stats.half_width == pytest.approx(4.3027 / math.sqrt(3), abs=1e-4)
    assert mean_interval([5.0]).half_width is None


def test_the_gain_interval_is_symmetric_on_the_log_scale() -> None:
    gain = ratio_interval([100.0, 104.0, 96.0], [150.0, 156.0, 144.0])
    assert gain is not None and gain.ratio == pytest.approx(1.5)
    assert math.log(gain.high / gain.ratio) == pytest.approx(math.log(gain.ratio / gain.low))
    assert gain.method == "log-ratio delta method, Welch df"


def test_a_gain_is_positive_when_better_in_either_direction() -> None:
    faster = metric_gain([100.0, 101.0, 99.0], [120.0, 121.0, 119.0], higher_is_better=True)
    shorter = metric_gain([10.0, 10.1, 9.9], [8.0, 8.1, 7.9], higher_is_better=False)
    assert faster["gain_pct"] == pytest.approx(20.0) and faster["verdict"] == "improved"
    assert shorter["gain_pct"] == pytest.approx(20.0) and shorter["verdict"] == "improved"
    low, high = shorter["gain_interval_pct"]
    assert low < 20.0 < high
    worse = metric_gain([100.0, 101.0, 99.0], [90.0, 91.0, 89.0], higher_is_better=True)
    assert worse["verdict"] == "worse" and worse["gain_interval_pct"][1] < 0


def test_a_gain_whose_interval_contains_zero_is_within_the_noise() -> None:
    noisy = metric_gain([100.0, 130.0, 80.0], [110.0, 90.0, 125.0], higher_is_better=True)
    low, high = noisy["gain_interval_pct"]
    assert low < 0 < high and noisy["verdict"] == "within noise"


def test_the_primary_metric_is_the_heaviest_evaluation() -> None:
    assert primary_metric(RPS) == "rps"


# --------------------------------------------------------------------------- the record


def scripted(values: dict[str, list[float]]) -> tuple[list[tuple[str, dict[str, str]]], object]:
    calls: list[tuple[str, dict[str, str]]] = []
    queues = {arm: iter(v) for arm, v in values.items()}

    def measure(arm: str, config: dict[str, str]) -> dict[str, float] | str:
        calls.append((arm, dict(config)))
        value = next(queues[arm])
        return "benchmark exited with status 3" if value < 0 else {"rps": value, "latency": 10.0}

    return calls, measure


def test_the_arms_are_measured_alternately_and_recorded_as_json() -> None:
    calls, measure = scripted({"baseline": [100.0, 102.0, 98.0], "best": [121.0, 119.0, 120.0]})
    record = confirm_gain(3, {"x": "2"}, {"x": "1"}, measure, RPS, best_trial=7)  # type: ignore[arg-type]
    assert [arm for arm, _ in calls] == ["baseline", "best"] * 3 == record["order"]
    assert calls[0][1] == {"x": "1"} and calls[1][1] == {"x": "2"}
    assert record["best"]["samples"] == [121.0, 119.0, 120.0]
    assert record["baseline"]["mean"] == pytest.approx(100.0)
    assert record["gain_pct"] == pytest.approx(20.0) and record["verdict"] == "improved"
    assert record["primary"] == "rps" and record["best_trial"] == 7 and record["warning"] is None
    latency = record["metrics"]["latency"]  # the same 10.0 every time: a gain of exactly 0
    assert (latency["gain_pct"], latency["gain_interval_pct"], latency["verdict"]) == (0.0, [0.0, 0.0], "within noise")
    assert json.loads(json.dumps(record)) == record


def test_a_gain_within_the_noise_is_warned_about() -> None:
    _, measure = scripted({"baseline": [100.0, 130.0, 80.0], "best": [110.0, 90.0, 125.0]})
    record = confirm_gain(3, {"x": "2"}, {"x": "1"}, measure, RPS, best_trial=3)  # type: ignore[arg-type]
    assert record["verdict"] == "within noise"
    assert record["warning"].startswith("the gain of trial 3 on rps (+4.84%, 95% interval -36.27% to +72.48%)")
    assert record["warning"].endswith("is within the noise: the interval contains 0")
    assert any("within the noise" in line for line in confirm_text(record))


def test_a_failed_measurement_is_recorded_and_the_others_go_on() -> None:
    _, measure = scripted({"baseline": [100.0, -1.0, 98.0], "best": [121.0, 119.0, 120.0]})
    record = confirm_gain(3, {"x": "2"}, {"x": "1"}, measure, RPS, best_trial=3)  # type: ignore[arg-type]
    assert record["failures"] == [{"arm": "baseline", "round": 2, "reason": "benchmark exited with status 3"}]
    assert record["baseline"]["n"] == 2 and record["best"]["n"] == 3


def test_a_stop_request_cuts_the_confirmation_short() -> None:
    cancel = threading.Event()
    calls: list[str] = []

    def measure(arm: str, config: dict[str, str]) -> dict[str, float]:
        calls.append(arm)
        if len(calls) == 3:
            cancel.set()
        return {"rps": 100.0, "latency": 1.0}

    record = confirm_gain(3, {}, {}, measure, RPS, best_trial=1, cancel=cancel)
    assert calls == ["baseline", "best", "baseline"] and record["interrupted"] is True


# --------------------------------------------------------------------------- the runner


def test_the_runner_confirms_the_best_against_the_baseline_without_adding_trials(toy: Toy) -> None:
    toy.runner(n_trials=1).run()
    toy.enqueue(BEST)
    result = toy.runner(n_trials=2, confirm=3).run()
    study = toy.study()
    assert len(study.trials) == 2 and study.best_trial.number == 1  # no trial for the re-measurements
    record = study.user_attrs[STUDY_CONFIRM]
    assert record == result.confirm
    assert record["best_trial"] == 1 and record["n"] == 3
    assert record["best"]["samples"] == [rps(6, 512, "very fast", 0.3)] * 3
    assert record["baseline"]["samples"] == [BASELINE_RPS] * 3
    assert record["gain_pct"] == pytest.approx((1060 / BASELINE_RPS - 1) * 100)
    assert record["verdict"] == "improved"
    assert record["baseline_config"] == ORIGINAL
    # trial 1 sets the best; then baseline, best, three times over; then the original values
    best_sets = ["workers=6", "cache=512", "mode=very fast", "ratio=0.3"]
    base_sets = ["workers=2", "cache=128", "mode=safe", "ratio=0.5"]
    assert toy.log("set.log") == best_sets + (base_sets + best_sets) * 3 + base_sets
    assert toy.log("bench.log") == ["bench"] * (2 + 6)
    assert toy.log("restarts.log").count("start") == 1 + 6 + 1  # workers changes each time
    assert toy.conf() == ORIGINAL


def test_a_noisy_gain_is_reported_within_the_noise_and_warned(toy: Toy) -> None:
    client = noisy_client(toy, [1.0, 1.0] + [1.3, 0.8, 0.8, 1.2, 1.2, 0.7])
    toy.runner(client, n_trials=1).run()
    toy.enqueue({**BEST, "mode": "safe", "cache": 192})  # 1000 - 125 = 875 rps, +33% on one reading
    result = toy.runner(client, n_trials=2, confirm=3).run()
    record = result.confirm
    assert record is not None and record["verdict"] == "within noise"
    assert record["baseline"]["samples"] == pytest.approx([BASELINE_RPS * f for f in (1.3, 0.8, 1.2)], abs=1e-3)
    assert any("within the noise" in w for w in result.warnings)
    assert toy.conf() == ORIGINAL


def test_confirming_is_skipped_when_the_baseline_is_best_and_reused_on_resume(toy: Toy) -> None:
    toy.runner(n_trials=1).run()
    assert toy.runner(n_trials=1, confirm=3).run().confirm is None  # nothing better than the baseline
    toy.enqueue(BEST)
    first = toy.runner(n_trials=2, confirm=2).run().confirm
    benches = len(toy.log("bench.log"))
    again = toy.runner(n_trials=2, confirm=2).run().confirm
    assert again == first and len(toy.log("bench.log")) == benches  # measured once


def test_confirm_must_give_an_interval() -> None:
    with pytest.raises(ValueError, match="confirm must be 0 .off. or at least 2"):
        RunnerConfig(confirm=1)
