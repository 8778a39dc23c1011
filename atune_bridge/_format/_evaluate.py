"""Metrics to objectives, as A-Tune computes them, and the Optuna directions the runner uses.

A-Tune (``common/project/project.go``, ``BenchMark``, ``calculateBenchMark``,
``improveRate``) reads each evaluation's number from its ``get`` output (newlines removed),
negates it when the evaluation is ``negative`` (higher is better), rounds it to 2 decimals,
and minimises:

* one evaluation: that signed value;
* several: ``-sum(improveRate(i) * weight_i / 100)``, where ``improveRate`` compares the
  signed value with the baseline's signed value in percent (:func:`improve_rate`, reproduced
  branch by branch, including its divisions by zero).

What the Optuna study stores (:class:`Scoring`) is chosen so the study reads naturally in
optuna-dashboard; A-Tune's signed objective is always kept too, as the trial's user
attribute ``atune_objective``:

==================================  ==================================  =====================
evaluations                         trial value(s)                      direction(s)
==================================  ==================================  =====================
one, ``negative`` (higher better)   the metric as measured (rounded)    maximize
one, ``positive`` (lower better)    the metric as measured (rounded)    minimize
several                             weighted improvement rate in %      maximize
                                    over the baseline (= minus
                                    A-Tune's objective)
several with ``--multi-objective``  each metric as measured (rounded)   per metric, as above
==================================  ==================================  =====================
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from atune_bridge._format._errors import AtuneBridgeError
from atune_bridge._format._spec import Evaluation

Mode = Literal["single", "weighted", "pareto"]

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class MetricError(AtuneBridgeError):
    """A metric cannot be read or an objective cannot be computed from it."""


def parse_metric(name: str, output: str) -> float:
    """The number an evaluation's ``get`` printed, read as A-Tune reads it.

    A-Tune removes every newline and parses the rest as one float, so ``"12\\n"`` is 12 and
    ``"1\\n2"`` is 12 too. Surrounding spaces are tolerated; anything else, and
    infinities or NaN, is refused.

    Example:
        >>> from atune_bridge._format._evaluate import parse_metric
        >>> parse_metric("rps", "1234.5\\n")
        1234.5

    Raises:
        MetricError: naming the evaluation and showing what was printed.
    """
    text = output.replace("\n", "").strip()
    if not _NUMBER.fullmatch(text):
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise MetricError(f"evaluation {name!r}: its get printed {shown!r}, which is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise MetricError(f"evaluation {name!r}: {text!r} is not a finite number")
    return value


def round2(value: float) -> float:
    """``value`` rounded to 2 decimals as Go's ``fmt.Sprintf("%.2f")`` then ``ParseFloat``."""
    return float(f"{value:.2f}")


def signed_value(evaluation: Evaluation, value: float) -> float:
    """A-Tune's minimised value of one metric: negated when higher is better, rounded."""
    return round2(-value if evaluation.higher_is_better else value)


def _div(a: float, b: float) -> float:
    """IEEE division, as Go's float64 ``/`` (``x/0`` is ±Inf, ``0/0`` is NaN)."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def improve_rate(base: float, current: float) -> float:
    """A-Tune's ``improveRate`` for one metric, in percent; ``base``/``current`` are signed.

    Written branch for branch as in ``project.go``; positive means better than the baseline.

    Example:
        >>> from atune_bridge._format._evaluate import improve_rate
        >>> improve_rate(-100.0, -120.0)  # throughput 100 -> 120 (negative type)
        20.0
    """
    if base > 0:
        if current > base:
            return _div(base - current, base) * 100
        return _div(base - current, current) * 100
    if current > base:
        return _div(current - base, current) * 100
    return _div(current - base, base) * 100


def atune_objective(
    evaluations: Sequence[Evaluation],
    current: Sequence[float],
    baseline: Sequence[float] | None,
) -> float:
    """A-Tune's ``calculateBenchMark``: the value A-Tune minimises (signed values in).

    One evaluation: its signed value. Several: ``-sum(improve_rate * weight / 100)``; the
    baseline's signed values are needed then.
    """
    if len(current) == 1:
        return current[0]
    if baseline is None:
        raise MetricError("several evaluations are compared with the baseline, which is not measured")
    total = 0.0
    for evaluation, base, cur in zip(evaluations, baseline, current):
        total += improve_rate(base, cur) * evaluation.weight / 100
    return -total


def improve_rate_text(objective: float, baseline: Sequence[float]) -> float:
    """A-Tune's ``ImproveRateString``: the improvement it prints for an objective, in percent."""
    if len(baseline) > 1:
        return -objective
    if baseline[0] < 0:
        return _div(objective - baseline[0], baseline[0]) * 100
    return _div(baseline[0] - objective, abs(objective)) * 100


@dataclass(frozen=True)
class Score:
    """One measurement scored: what Optuna is told and what A-Tune would have computed."""

    values: tuple[float, ...]
    atune_objective: float | None
    signed: dict[str, float]


@dataclass(frozen=True)
class Scoring:
    """How measured metrics become Optuna objective values (see the module doc's table).

    Example:
        >>> from atune_bridge import Evaluation
        >>> from atune_bridge._format._evaluate import Scoring
        >>> scoring = Scoring((Evaluation("rps", "echo $out", "negative"),))
        >>> scoring.directions, scoring.score({"rps": 1234.567}, None).values
        (['maximize'], (1234.57,))
    """

    evaluations: tuple[Evaluation, ...]
    multi_objective: bool = False

    @property
    def mode(self) -> Mode:
        if len(self.evaluations) == 1:
            return "single"
        return "pareto" if self.multi_objective else "weighted"

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.evaluations]

    @property
    def directions(self) -> list[str]:
        if self.mode == "weighted":
            return ["maximize"]
        return ["maximize" if e.higher_is_better else "minimize" for e in self.evaluations]

    @property
    def objective_names(self) -> list[str]:
        """Names for ``study.set_metric_names``: the metrics, or the weighted rate."""
        if self.mode == "weighted":
            return ["weighted improvement % (A-Tune)"]
        return self.names

    def signed(self, metrics: Mapping[str, float]) -> list[float]:
        return [signed_value(e, metrics[e.name]) for e in self.evaluations]

    def score(self, metrics: Mapping[str, float], baseline: Mapping[str, float] | None) -> Score:
        """Score ``metrics`` (name to value as measured) against the baseline's metrics.

        Raises:
            MetricError: a metric is missing, or the weighted objective is not finite (a
                measurement of 0 makes A-Tune's improvement rate divide by zero).
        """
        missing = [n for n in self.names if n not in metrics]
        if missing:
            raise MetricError(f"no value for evaluation(s) {missing}")
        signed = self.signed(metrics)
        base = self.signed(baseline) if baseline is not None else None
        if self.mode == "single":
            objective: float | None = signed[0]
        elif base is None:
            objective = None
        else:
            objective = atune_objective(self.evaluations, signed, base)
        if objective is not None:
            objective += 0.0  # no -0.0 in storage
        if objective is not None and not math.isfinite(objective):
            if self.mode == "weighted":
                raise MetricError(
                    f"A-Tune's weighted improvement rate is {objective} (a metric or its "
                    f"baseline is 0: {dict(zip(self.names, signed))} vs {dict(zip(self.names, base or []))})"
                )
            objective = None
        if self.mode == "weighted":
            assert objective is not None
            values: tuple[float, ...] = (-objective + 0.0,)
        else:
            values = tuple((-s if e.higher_is_better else s) + 0.0 for e, s in zip(self.evaluations, signed))
        return Score(values, objective, dict(zip(self.names, signed)))
