"""The verified improvement: the best configuration and the baseline measured again, several
times each and alternately, and the gain given with its 95% interval.

Why: the best trial won a selection among noisy single measurements, so its own number is
biased upwards (the winner's curse); three configurations scoring alike in a 3-second
benchmark say nothing about which is better. The runner therefore measures, at the end of a
run, ``baseline, best, baseline, best, ...`` (``n`` each; alternating spreads a drift of the
machine over both), leaves the trials' own measurements out, and reports each arm as its mean
with a Student-t interval and the gain as a ratio of means with the log-scale delta-method
interval of :func:`~atune_bridge._runner._stats.ratio_interval`.

What is stored: the study user attribute ``atune_bridge:confirm`` (:data:`STUDY_CONFIRM`), a
JSON-able dict the report and the dashboard read. The re-measurements are not trials, so the
sampler, ``study.best_trial`` and the trial budget never see them. Its keys:

``n``                 measurements asked per arm
``order``             the arms in the order they were measured (``"baseline"``/``"best"``)
``best_trial``        the number of the trial whose configuration was confirmed: the best
                      trial, or with ``rerank`` the one it crowned
``best_config``       that configuration as set (name to text)
``baseline_config``   the baseline configuration as set
``confidence``        0.95
``method``            how the gain interval was built (e.g. ``"log-ratio delta method, Welch df"``)
``primary``           the metric the top-level fields describe: the evaluation of the largest
                      weight (the first on a tie)
``best``, ``baseline``  for the primary metric: ``samples`` (list), ``n``, ``mean``, ``sd``,
                      ``low``, ``high`` (the mean's interval; None below 2 samples)
``gain_pct``          the gain of the best over the baseline in percent, positive when better
                      (higher-is-better: ``100 (best/baseline - 1)``; lower-is-better:
                      ``100 (1 - best/baseline)``), None when the baseline's mean is 0
``gain_interval_pct`` ``[low, high]`` of the gain in percent, or None
``verdict``           ``"improved"`` (the interval lies above 0), ``"worse"`` (below 0),
                      ``"within noise"`` (it contains 0) or ``"unverified"`` (no interval)
``metrics``           every metric: ``{name: {higher_is_better, best, baseline, gain_pct,
                      gain_interval_pct, verdict, method}}`` as above
``failures``          measurements that failed: ``[{"arm", "round", "reason"}]``
``warning``           a sentence when the gain is within the noise or not verified, else None
``interrupted``       true when a stop request cut the confirmation short
``rerank``            only with ``--rerank``: the re-ranking that chose ``best_trial`` among the
                      top trials before the confirmation (see :mod:`._rerank` for its keys:
                      ``k``, ``repeats``, ``ranked_by``, ``higher_is_better``, ``candidates``
                      with each one's ``trial``, ``trials``, ``config``, ``earlier``,
                      ``samples``, ``metrics``, ``n`` and ``mean``, ``best_single``,
                      ``crowned``, ``changed``, ``failures``, ``interrupted``); absent without it

Example:
    >>> from atune_bridge._runner._confirm import confirm_gain
    >>> from atune_bridge import client_from_dict
    >>> client = client_from_dict({"benchmark": "true", "evaluations": [
    ...     {"name": "rps", "info": {"get": "echo 1", "type": "negative"}}]})
    >>> values = iter([100.0, 121.0, 102.0, 119.0, 98.0, 120.0])
    >>> record = confirm_gain(3, {"x": "2"}, {"x": "1"}, lambda arm, config: {"rps": next(values)},
    ...                       client.evaluations, best_trial=4)
    >>> record["verdict"], round(record["gain_pct"], 1)
    ('improved', 20.0)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from atune_bridge._runner._rerank import rerank_text
from atune_bridge._runner._stats import CONFIDENCE, mean_interval, ratio_interval

if TYPE_CHECKING:
    import threading

    from atune_bridge._format import Evaluation

logger = logging.getLogger(__name__)

STUDY_CONFIRM = "atune_bridge:confirm"
"""The study user attribute the confirmation is stored under (see the module doc)."""

DEFAULT_CONFIRM = 3
"""Measurements per arm the ``tune`` command takes by default: the fewest with which both
arms have a spread (2 degrees of freedom each, about 4 for the gain's Welch interval), at
the cost of 6 benchmark runs, which for a budget of ~30 trials is about a fifth more."""

Measure = Callable[[str, Mapping[str, str]], "Mapping[str, float] | str"]
"""``measure(arm, config)``: sets ``config`` and measures it; the metrics, or why it failed."""


def _arm(sample: Sequence[float]) -> dict[str, Any]:
    if not sample:
        return {"samples": [], "n": 0, "mean": None, "sd": None, "low": None, "high": None}
    stats = mean_interval(sample)
    return {
        "samples": list(sample),
        "n": stats.n,
        "mean": stats.mean,
        "sd": stats.sd,
        "low": stats.low,
        "high": stats.high,
    }


def metric_gain(baseline: Sequence[float], best: Sequence[float], higher_is_better: bool) -> dict[str, Any]:
    """One metric's arms, its gain in percent with its interval, and the verdict."""
    out: dict[str, Any] = {
        "higher_is_better": higher_is_better,
        "best": _arm(best),
        "baseline": _arm(baseline),
        "gain_pct": None,
        "gain_interval_pct": None,
        "verdict": "unverified",
        "method": "none",
    }
    if not baseline or not best:
        return out
    ratio = ratio_interval(baseline, best)
    if ratio is None:
        out["method"] = "none (the baseline's mean is 0)"
        return out
    out["method"] = ratio.method
    sign = 1.0 if higher_is_better else -1.0
    out["gain_pct"] = sign * (ratio.ratio - 1.0) * 100.0
    if ratio.low is None or ratio.high is None:
        return out
    ends = sorted((sign * (ratio.low - 1.0) * 100.0, sign * (ratio.high - 1.0) * 100.0))
    out["gain_interval_pct"] = ends
    out["verdict"] = "improved" if ends[0] > 0 else "worse" if ends[1] < 0 else "within noise"
    return out


def primary_metric(evaluations: Sequence[Evaluation]) -> str:
    """The evaluation of the largest weight (the first on a tie)."""
    return max(evaluations, key=lambda e: (e.weight, -evaluations.index(e))).name


def confirm_gain(
    n: int,
    best_config: Mapping[str, str],
    baseline_config: Mapping[str, str],
    measure: Measure,
    evaluations: Sequence[Evaluation],
    *,
    best_trial: int,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Measure the baseline and the best ``n`` times each, alternately; the record of the
    module doc. A failed measurement is recorded and the others go on; ``cancel`` ends it."""
    order: list[str] = []
    failures: list[dict[str, Any]] = []
    samples: dict[str, dict[str, list[float]]] = {"baseline": {}, "best": {}}
    configs = {"baseline": dict(baseline_config), "best": dict(best_config)}
    interrupted = False
    for round_ in range(1, n + 1):
        for arm in ("baseline", "best"):
            if cancel is not None and cancel.is_set():
                interrupted = True
                break
            order.append(arm)
            outcome = measure(arm, configs[arm])
            if isinstance(outcome, str):
                failures.append({"arm": arm, "round": round_, "reason": outcome})
                logger.warning("confirmation: %s measurement %d failed: %s", arm, round_, outcome)
                continue
            for name, value in outcome.items():
                samples[arm].setdefault(name, []).append(float(value))
        if interrupted:
            break
    metrics = {
        e.name: metric_gain(samples["baseline"].get(e.name, []), samples["best"].get(e.name, []), e.higher_is_better)
        for e in evaluations
    }
    primary = primary_metric(evaluations)
    head = metrics[primary]
    warning = None
    if head["verdict"] == "within noise":
        low, high = head["gain_interval_pct"]
        warning = (
            f"the gain of trial {best_trial} on {primary} ({head['gain_pct']:+.2f}%, 95% interval "
            f"{low:+.2f}% to {high:+.2f}%) is within the noise: the interval contains 0"
        )
    elif head["verdict"] == "unverified":
        warning = (
            f"the gain of trial {best_trial} on {primary} could not be verified "
            f"({len(head['best']['samples'])} best and {len(head['baseline']['samples'])} "
            "baseline measurements; at least 2 of each are needed)"
        )
    return {
        "n": n,
        "order": order,
        "best_trial": best_trial,
        "best_config": configs["best"],
        "baseline_config": configs["baseline"],
        "confidence": CONFIDENCE,
        "method": head["method"],
        "primary": primary,
        "best": head["best"],
        "baseline": head["baseline"],
        "gain_pct": head["gain_pct"],
        "gain_interval_pct": head["gain_interval_pct"],
        "verdict": head["verdict"],
        "metrics": metrics,
        "failures": failures,
        "warning": warning,
        "interrupted": interrupted,
    }


def confirm_text(record: Mapping[str, Any]) -> list[str]:
    """The confirmation as terminal lines: the re-ranking when there was one (what it crowned
    and why, each candidate's mean), then each arm's mean +- half-width, the gain, the verdict."""
    lines = []
    n = record.get("n")
    for name, m in (record.get("metrics") or {}).items():

        def arm(a: Mapping[str, Any]) -> str:
            if a.get("mean") is None:
                return "no measurement"
            if a.get("high") is None:
                return f"{a['mean']:.2f} (n={a['n']})"
            return f"{a['mean']:.2f} ± {a['high'] - a['mean']:.2f} (n={a['n']})"

        gain = m.get("gain_pct")
        interval = m.get("gain_interval_pct")
        text = f"gain {gain:+.2f}%" if gain is not None else "gain unknown"
        if interval:
            text += f" [{interval[0]:+.2f}%, {interval[1]:+.2f}%]"
        lines.append(f"  {name}: best {arm(m['best'])}, baseline {arm(m['baseline'])}: {text} -> {m['verdict']}")
    head = (
        f"Confirmed (trial {record.get('best_trial')} against the baseline, {n} alternating "
        f"measurements each, 95% t-intervals; gain interval: {record.get('method')}):"
    )
    out = [*rerank_text(record.get("rerank")), head, *lines]
    if record.get("warning"):
        out.append(f"Warning: {record['warning']}.")
    return out
