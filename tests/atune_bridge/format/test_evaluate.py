"""Metrics to objectives exactly as A-Tune's project.go computes them, and the study's directions."""

from __future__ import annotations

import math

import pytest

from atune_bridge import Evaluation, MetricError
from atune_bridge._format._evaluate import (
    Scoring,
    atune_objective,
    improve_rate,
    improve_rate_text,
    parse_metric,
    round2,
    signed_value,
)

RPS = Evaluation("rps", "echo $out", "negative", 70)
LATENCY = Evaluation("latency", "echo $out", "positive", 30)


# --------------------------------------------------------------------------- improveRate


def test_improve_rate_positive_base_and_worse_current() -> None:
    # base > 0, current > base: (base - current) / base * 100
    assert improve_rate(30.0, 33.0) == pytest.approx(-10.0)


def test_improve_rate_positive_base_and_better_current() -> None:
    # base > 0, current <= base: (base - current) / current * 100  (divides by current)
    assert improve_rate(30.0, 25.0) == pytest.approx(20.0)
    assert improve_rate(30.0, 30.0) == 0.0


def test_improve_rate_negative_base_and_worse_current() -> None:
    # base <= 0, current > base (throughput fell 100 -> 80): (current - base) / current * 100
    assert improve_rate(-100.0, -80.0) == pytest.approx(-25.0)


def test_improve_rate_negative_base_and_better_current() -> None:
    # base <= 0, current <= base (throughput rose 100 -> 120): (current - base) / base * 100
    assert improve_rate(-100.0, -120.0) == pytest.approx(20.0)
    assert improve_rate(-100.0, -100.0) == 0.0


def test_improve_rate_divides_by_zero_as_go_does() -> None:
    assert improve_rate(30.0, 0.0) == math.inf  # (30 - 0) / 0
    assert improve_rate(0.0, 5.0) == pytest.approx(100.0)  # base 0, current > base: (5-0)/5
    assert improve_rate(0.0, -5.0) == -math.inf  # (-5 - 0) / 0
    assert math.isnan(improve_rate(0.0, 0.0))  # 0 / 0


# --------------------------------------------------------------------------- calculateBenchMark


def test_one_evaluation_objective_is_its_signed_rounded_value() -> None:
    assert signed_value(RPS, 1234.567) == -1234.57
    assert signed_value(LATENCY, 12.344) == 12.34
    assert atune_objective([RPS], [-1234.57], None) == -1234.57


def test_rounding_is_gos_percent_point_2f() -> None:
    assert round2(2.675) == 2.67  # 2.675 is 2.67499999... in binary, as Go prints it
    assert round2(-0.125) == -0.12  # exact tie: round half to even
    assert round2(0.005) == 0.01


def test_several_evaluations_give_minus_the_weighted_improvement_rate() -> None:
    base, current = [-656.0, 30.0], [-1000.0, 31.0]
    rate_rps = (-1000.0 - -656.0) / -656.0 * 100
    rate_latency = (30.0 - 31.0) / 30.0 * 100
    expected = -(rate_rps * 70 / 100 + rate_latency * 30 / 100)
    assert atune_objective([RPS, LATENCY], current, base) == pytest.approx(expected)
    assert atune_objective([RPS, LATENCY], base, base) == 0.0


def test_several_evaluations_need_the_baseline() -> None:
    with pytest.raises(MetricError, match="baseline"):
        atune_objective([RPS, LATENCY], [-1.0, 1.0], None)


def test_improve_rate_text_as_atune_prints_it() -> None:
    assert improve_rate_text(-120.0, [-100.0]) == pytest.approx(20.0)  # higher is better
    assert improve_rate_text(8.0, [10.0]) == pytest.approx(25.0)  # lower is better: (10-8)/8
    assert improve_rate_text(-35.5, [-656.0, 30.0]) == 35.5  # several: minus the objective


# --------------------------------------------------------------------------- parsing


def test_parse_metric_removes_newlines_like_atune() -> None:
    assert parse_metric("rps", "1234.5\n") == 1234.5
    assert parse_metric("rps", "12\n34\n") == 1234.0  # A-Tune joins the lines, then parses
    assert parse_metric("rps", "  -3e2 ") == -300.0


@pytest.mark.parametrize("output", ["", "n/a", "1.2.3", "12 rps", "inf", "nan", "0x10"])
def test_parse_metric_refuses_what_is_not_a_number(output: str) -> None:
    with pytest.raises(MetricError, match="evaluation 'rps'"):
        parse_metric("rps", output)


# --------------------------------------------------------------------------- what the study stores


def test_one_higher_is_better_metric_is_maximised_as_measured() -> None:
    scoring = Scoring((Evaluation("rps", "x", "negative"),))
    score = scoring.score({"rps": 1234.567}, None)
    assert scoring.directions == ["maximize"]
    assert score.values == (1234.57,)
    assert score.atune_objective == -1234.57


def test_one_lower_is_better_metric_is_minimised_as_measured() -> None:
    scoring = Scoring((Evaluation("latency", "x", "positive"),))
    score = scoring.score({"latency": 12.344}, None)
    assert scoring.directions == ["minimize"]
    assert score.values == (12.34,)
    assert score.atune_objective == 12.34


def test_several_metrics_maximise_the_weighted_improvement_percent() -> None:
    scoring = Scoring((RPS, LATENCY))
    score = scoring.score({"rps": 1000.0, "latency": 31.0}, {"rps": 656.0, "latency": 30.0})
    assert scoring.mode == "weighted" and scoring.directions == ["maximize"]
    assert scoring.objective_names == ["weighted improvement % (A-Tune)"]
    assert score.values[0] == pytest.approx(-score.atune_objective)
    assert score.values[0] == pytest.approx(52.4390243902 * 0.7 - 3.3333333333 * 0.3)
    assert score.signed == {"rps": -1000.0, "latency": 31.0}


def test_multi_objective_keeps_each_metric_in_its_natural_direction() -> None:
    scoring = Scoring((RPS, LATENCY), multi_objective=True)
    score = scoring.score({"rps": 1000.004, "latency": 31.0}, {"rps": 656.0, "latency": 30.0})
    assert scoring.mode == "pareto"
    assert scoring.directions == ["maximize", "minimize"]
    assert scoring.objective_names == ["rps", "latency"]
    assert score.values == (1000.0, 31.0)
    assert score.atune_objective == pytest.approx(-(52.4390243902 * 0.7 - 3.3333333333 * 0.3))


def test_a_zero_measurement_makes_the_weighted_objective_unusable() -> None:
    scoring = Scoring((RPS, LATENCY))
    with pytest.raises(MetricError, match="weighted improvement rate"):
        scoring.score({"rps": 1000.0, "latency": 0.0}, {"rps": 656.0, "latency": 30.0})


def test_a_missing_metric_is_an_error() -> None:
    with pytest.raises(MetricError, match="latency"):
        Scoring((RPS, LATENCY)).score({"rps": 1.0}, {"rps": 1.0, "latency": 1.0})
