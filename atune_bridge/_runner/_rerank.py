"""The re-ranking: the top trials measured again before the confirmation, the best mean crowned.

Why: on a noisy benchmark the trial with the best single measurement is often a lucky draw
of a worse configuration (the winner's curse). The confirmation (:mod:`._confirm`) measures
that trial's configuration again against the baseline, but never asks whether a runner-up is
better. With ``RunnerConfig.rerank = K`` the runner first takes the top K configurations,
measures each ``rerank_repeats`` more times, in rounds (one measurement of each candidate per
round, so a drift of the machine spreads over all of them), and crowns the best mean. The
confirmation then measures the crowned configuration and the baseline afresh: none of the
re-ranking's measurements are reused there, so the selection does not bias the reported
interval.

Which trials are candidates: complete trials in the order the runner ranks them
(:func:`~atune_bridge._runner._report.ranked_trials`, whose first is ``best_trial``), leaving
out the baseline trial, trials that set the baseline's configuration (the baseline measured
again: the confirmation compares with it anyway), trials scored with the thresholds (never
measured) and repeats of a configuration already taken (the same texts as set: a
configuration is measured once, however many trials set it). Failed trials are not complete,
so never candidates. Fewer than two candidates: nothing to re-rank.

The mean is over all of a candidate's measurements: those of every trial that set its
configuration, and the new ones. Why not the new ones alone: each candidate was picked for a
high first measurement, but every candidate was picked the same way, and with the same
number of measurements each, ranking by the mean of all of them is what the measurements
say (selection on what was measured does not bias a comparison of posteriors); dropping the
trials' own measurements throws half the evidence away at one re-measurement each. On the
recorded nginx surface (``benchmarks/rerank.py``, docs/benchmarks.md), with the runner's TPE,
the mean of all crowned better configurations than the re-measurements alone at one
re-measurement each (top 3: +705 against +413 requests/s over the best single measurement,
2,000 seeds) and about as well at two; with Optuna's default TPE the two were level.

The score: what the study ranks by, one number per measurement (:func:`rank_value`): with
one evaluation its metric as measured; with several (weighted, or ``--multi-objective``
where ``best_trial`` breaks the Pareto front's ties with it), A-Tune's weighted improvement
rate over the baseline's measurement in percent.

A failed re-measurement is recorded and the others go on; a candidate with no successful
re-measurement is not crowned (a configuration that could not be measured again is not
trusted over one that could), and when none has one the best single measurement keeps the
crown. A stop request ends it (``interrupted``), and the best single measurement keeps the
crown.

What is stored: the ``rerank`` key of the study user attribute ``atune_bridge:confirm``
(the table in :mod:`._confirm`'s doc), a dict with:

``k``                 candidates asked (``rerank``)
``repeats``           re-measurements asked per candidate (``rerank_repeats``)
``ranked_by``         what the samples and means are (e.g. ``"rps as measured"``)
``higher_is_better``  the direction of ``ranked_by``
``candidates``        in rank order: ``{"trial"`` (the best-ranked trial that set it),
                      ``"trials"`` (every complete trial that set it), ``"config"``,
                      ``"earlier"`` (those trials' scores), ``"samples"`` (the new scores),
                      ``"metrics"`` (the new measurements), ``"n"``, ``"mean"`` (of
                      earlier and samples)``}``
``best_single``       the trial with the best single measurement (``best_trial``)
``crowned``           the trial whose configuration is confirmed and applied
``changed``           ``crowned != best_single``
``failures``          ``[{"trial", "round", "reason"}]``
``interrupted``       true when a stop request cut it short

Example:
    >>> from atune_bridge._runner._rerank import Candidate, crown_sentence, rerank
    >>> lucky = Candidate(12, (12,), {"x": "9"}, (130.0,))
    >>> steady = Candidate(17, (17,), {"x": "4"}, (120.0,))
    >>> again = {"9": 90.0, "4": 121.0}
    >>> record = rerank([lucky, steady], 1, lambda c: again[c.config["x"]], best_single=12,
    ...                 ranked_by="rps as measured", higher_is_better=True)
    >>> record["crowned"]
    17
    >>> crown_sentence(record)
    'trial 17 crowned after re-measuring the top 2 (trial 12 had the best single measurement: a lucky draw)'
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading

    from optuna.trial import FrozenTrial

    from atune_bridge._format import Scoring

logger = logging.getLogger(__name__)

DEFAULT_RERANK = 3
"""Configurations the ``tune`` command re-ranks by default (one re-measurement each, whenever it
confirms): on the recorded nginx surface with the runner's TPE (20 random start-up trials),
re-measuring the top 3 once crowned configurations 705 ± 83 requests/s better than the best
single measurement, and 390 ± 90 better than spending the same 3 measurements on 3 more trials
(2,000 seeds, paired; docs/benchmarks.md). It costs 3 benchmark runs, half the confirmation's."""


@dataclass(frozen=True)
class Candidate:
    """One configuration to measure again: the trials that set it and their scores."""

    trial: int
    """The best-ranked trial that set it; the one crowned if it wins."""
    trials: tuple[int, ...]
    """Every complete trial that set it, best-ranked first."""
    config: dict[str, str]
    """The configuration as set, name to text."""
    earlier: tuple[float, ...]
    """The scores of ``trials`` (:func:`rank_value`), in the same order."""


def rank_value(scoring: Scoring, values: Sequence[float], atune_objective: float | None) -> float:
    """The one number a measurement is ranked by (see the module doc): the study's value with
    one objective, A-Tune's weighted improvement rate in percent with ``--multi-objective``."""
    if scoring.mode == "pareto":
        if atune_objective is None:
            raise ValueError("a --multi-objective trial without atune_objective cannot be ranked")
        return -atune_objective + 0.0
    return float(values[0])


def trial_rank_value(scoring: Scoring, trial: FrozenTrial) -> float:
    """:func:`rank_value` of a complete trial's own measurement."""
    objective = trial.user_attrs.get("atune_objective")
    return rank_value(scoring, trial.values, None if objective is None else float(objective))


def ranking(scoring: Scoring) -> tuple[str, bool]:
    """What :func:`rank_value` gives, in words, and whether higher is better."""
    if scoring.mode == "single":
        return f"{scoring.names[0]} as measured", scoring.directions[0] == "maximize"
    return "weighted improvement over the baseline in % (A-Tune's rate)", True


def pick_candidates(
    ranked: Sequence[FrozenTrial],
    k: int,
    *,
    texts: Callable[[FrozenTrial], dict[str, str]],
    score: Callable[[FrozenTrial], float],
    left_out: Callable[[FrozenTrial], bool],
    baseline: Mapping[str, str],
) -> list[Candidate]:
    """The top ``k`` configurations of ``ranked`` (complete trials, best first), as the module
    doc says: ``left_out`` trials (the baseline, threshold-scored ones) and trials setting
    ``baseline`` skipped, each configuration once with every trial that set it."""
    groups: dict[tuple[tuple[str, str], ...], list[FrozenTrial]] = {}
    configs: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    base = tuple(sorted(baseline.items()))
    for trial in ranked:
        if left_out(trial):
            continue
        config = texts(trial)
        key = tuple(sorted(config.items()))
        if key == base:
            continue
        groups.setdefault(key, []).append(trial)
        configs.setdefault(key, config)
    picked = list(groups)[:k]
    return [
        Candidate(
            groups[key][0].number,
            tuple(t.number for t in groups[key]),
            configs[key],
            tuple(score(t) for t in groups[key]),
        )
        for key in picked
    ]


def rerank(
    candidates: Sequence[Candidate],
    repeats: int,
    measure: Callable[[Candidate], float | tuple[float, Mapping[str, float]] | str],
    *,
    best_single: int,
    ranked_by: str,
    higher_is_better: bool,
    k: int | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Measure each candidate ``repeats`` times, a round at a time, and crown the best mean:
    the record of the module doc.

    ``measure(candidate)`` sets and measures the candidate's configuration and gives its score
    (:func:`rank_value`), optionally with the metrics it came from, or why it failed. Ties go
    to the better-ranked candidate. ``k`` is the number asked (default: as many as given).
    """
    samples: list[list[float]] = [[] for _ in candidates]
    metrics: list[list[dict[str, float]]] = [[] for _ in candidates]
    failures: list[dict[str, Any]] = []
    interrupted = False
    for round_ in range(1, repeats + 1):
        for index, candidate in enumerate(candidates):
            if cancel is not None and cancel.is_set():
                interrupted = True
                break
            outcome = measure(candidate)
            if isinstance(outcome, str):
                failures.append({"trial": candidate.trial, "round": round_, "reason": outcome})
                logger.warning("re-ranking: trial %d's measurement %d failed: %s", candidate.trial, round_, outcome)
                continue
            value, measured = outcome if isinstance(outcome, tuple) else (outcome, {})
            samples[index].append(float(value))
            metrics[index].append({name: float(v) for name, v in measured.items()})
        if interrupted:
            break
        logger.info(
            "re-ranking round %d of %d: %s",
            round_,
            repeats,
            ", ".join(f"trial {c.trial} {_mean(c.earlier, s):.2f}" for c, s in zip(candidates, samples)),
        )
    sign = 1.0 if higher_is_better else -1.0
    measured_again = [i for i, s in enumerate(samples) if s]
    crowned = best_single
    if not interrupted and measured_again:
        winner = max(measured_again, key=lambda i: (sign * _mean(candidates[i].earlier, samples[i]), -i))
        crowned = candidates[winner].trial
    return {
        "k": len(candidates) if k is None else k,
        "repeats": repeats,
        "ranked_by": ranked_by,
        "higher_is_better": higher_is_better,
        "candidates": [
            {
                "trial": c.trial,
                "trials": list(c.trials),
                "config": dict(c.config),
                "earlier": list(c.earlier),
                "samples": s,
                "metrics": m,
                "n": len(c.earlier) + len(s),
                "mean": _mean(c.earlier, s),
            }
            for c, s, m in zip(candidates, samples, metrics)
        ],
        "best_single": best_single,
        "crowned": crowned,
        "changed": crowned != best_single,
        "failures": failures,
        "interrupted": interrupted,
    }


def _mean(earlier: Sequence[float], samples: Sequence[float]) -> float:
    return statistics.fmean([*earlier, *samples])


def candidate_trials(record: Mapping[str, Any]) -> list[tuple[int, list[int]]]:
    """The candidates of a stored record as ``(trial, trials)``: what decides whether a resumed
    run may reuse it (the same candidates, nothing re-measured)."""
    return [(c.get("trial"), list(c.get("trials") or [])) for c in record.get("candidates") or []]


def current_crown(record: Any, best_single: int | None) -> int | None:
    """The trial a stored re-ranking crowned, while it is current: complete (not interrupted)
    and made when ``best_single`` had the best single measurement; else None."""
    if not isinstance(record, Mapping) or record.get("interrupted") or best_single is None:
        return None
    crowned = record.get("crowned")
    if record.get("best_single") != best_single or not isinstance(crowned, int):
        return None
    return crowned


def crown_sentence(record: Mapping[str, Any] | None) -> str:
    """What a re-ranking decided, in words a person reads; ``""`` without one."""
    if not record:
        return ""
    n = len(record.get("candidates") or [])
    repeats = record.get("repeats")
    what = f"re-measuring the top {n}" + (f" {repeats} times each" if isinstance(repeats, int) and repeats > 1 else "")
    single, crowned = record.get("best_single"), record.get("crowned")
    if record.get("interrupted"):
        return f"{what} was interrupted: trial {single} (the best single measurement) kept the crown"
    if not any(c.get("samples") for c in record.get("candidates") or []):
        return f"trial {single} kept the crown: {what} failed for every candidate"
    if record.get("changed"):
        return f"trial {crowned} crowned after {what} (trial {single} had the best single measurement: a lucky draw)"
    return f"trial {crowned} kept the crown after {what}"


def rerank_text(record: Mapping[str, Any] | None) -> list[str]:
    """The re-ranking as terminal lines: what it decided, then each candidate's mean."""
    if not record:
        return []
    lines = [
        f"Re-ranked ({record.get('ranked_by')}, mean of each trial's measurement and the new ones): "
        f"{crown_sentence(record)}."
    ]
    for c in record.get("candidates") or []:
        earlier = ", ".join(f"{v:.2f}" for v in c.get("earlier") or [])
        again = ", ".join(f"{v:.2f}" for v in c.get("samples") or []) or "none"
        mark = "  <- crowned" if c.get("trial") == record.get("crowned") else ""
        lines.append(
            f"  trial {c.get('trial')}: mean {c.get('mean'):.2f} (n={c.get('n')}; trials {earlier}; "
            f"again {again}){mark}"
        )
    for failure in record.get("failures") or []:
        lines.append(f"  trial {failure['trial']} measurement {failure['round']} failed: {failure['reason']}")
    return lines
