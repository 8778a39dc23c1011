"""Does re-measuring the top trials before crowning one pay for its extra measurements?

On a noisy benchmark the trial with the best single measurement is often a lucky draw of a
worse configuration (the winner's curse). ``atune-bridge tune --rerank K`` measures the top K
configurations again before it confirms the gain, and crowns the best mean. This script
measures what that buys on the recorded nginx surface (``nginx-surface``, noise sd 0.29 on the
log scale), seed for seed, against two alternatives that cost the same or nothing:

* **best single** (what the runner did before): the configuration with the best single
  measurement of the run's trials;
* **top K × r**: the top K configurations by their single measurements (the baseline and
  repeats of one configuration left out, as the runner does) measured r more times each,
  crowned by the mean of *all* their measurements (``mean of all``: the trials' own and the
  new ones, what the runner does) or of the new ones alone (``fresh only``); the runner's
  own functions pick and crown them (``pick_candidates`` and ``rerank`` of
  ``atune_bridge._runner._rerank``), so this measures the code that ships;
* **more trials**: the same K × r extra measurements spent on K × r more trials instead,
  crowned by the best single measurement.

Each policy's crown is scored by its noise-free value (the surrogate's mean), so luck in the
measurements is not progress. For each seed every policy sees the same trials and the same
noise draws (a re-measurement of the candidate in position i draws from its own stream, so
``top 3 × 1`` and ``top 5 × 1`` measure their common candidates identically), which makes the
paired differences far tighter than the spread between seeds. Two samplers: Optuna's
``TPESampler(seed=s)`` and ``TPESampler(n_startup_trials=20, seed=s)`` (A-Tune's default
``random_starts``, which is what ``atune-bridge tune`` gives TPE).

Usage, from the repository root (about two minutes on 2 cores)::

    .venv/bin/python benchmarks/rerank.py --seeds 500 --trials 30 --plans 2x1,3x1,3x2,5x1 --jobs 2
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.trial import create_trial

from atune_bridge._runner._rerank import pick_candidates
from atune_bridge._runner._rerank import rerank as rerank_candidates

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from optbench.problems import Problem, make_problem  # noqa: E402
from optbench.summary import mean_se  # noqa: E402

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from atune_bridge._runner._rerank import Candidate

PROBLEM = "nginx-surface"
SAMPLERS = {
    "TPE (Optuna's 10 random start-up trials)": None,
    "TPE (n_startup_trials=20, A-Tune's random_starts, as the runner gives it)": 20,
}
"""Sampler label -> ``n_startup_trials`` (None: Optuna's default)."""

_PROBLEM: dict[str, Problem] = {}


@dataclass(frozen=True)
class Plan:
    """Re-measure the top ``k`` configurations ``r`` times each."""

    k: int
    r: int

    @property
    def extra(self) -> int:
        return self.k * self.r

    @property
    def name(self) -> str:
        return f"top {self.k} × {self.r}"


def parse_plans(text: str) -> list[Plan]:
    """``"2x1,3x1"`` -> plans; raises ValueError naming the bad entry."""
    plans = []
    for entry in filter(None, (e.strip() for e in text.split(","))):
        k, sep, r = entry.partition("x")
        if not sep or not k.isdigit() or not r.isdigit() or int(k) < 2 or int(r) < 1:
            raise ValueError(f"--plans: {entry!r} is not KxR with K >= 2 and R >= 1 (e.g. 3x1)")
        plans.append(Plan(int(k), int(r)))
    if not plans:
        raise ValueError("--plans: give at least one KxR")
    return plans


@dataclass(frozen=True)
class Run:
    """One sampler's trials of one seed: configuration keys, parameters and measurements."""

    keys: list[str]
    params: list[dict[str, Any]]
    observed: list[float]


def _key(params: Mapping[str, Any]) -> str:
    return repr(sorted(params.items()))


def ranking(run: Run, n: int, maximize: bool) -> list[int]:
    """The indices of the first ``n`` trials as the runner ranks complete trials: best single
    measurement first, ties to the earlier trial (its ``best_trial`` and ``ranked_trials``)."""
    sign = 1.0 if maximize else -1.0
    return sorted(range(n), key=lambda i: (-sign * run.observed[i], i))


def crown_single(run: Run, n: int, maximize: bool) -> int:
    """The index of the trial with the best single measurement among the first ``n``."""
    return ranking(run, n, maximize)[0]


def _ranked(run: Run, n: int, maximize: bool) -> list[FrozenTrial]:
    """The first ``n`` trials in :func:`ranking`'s order, as the lightweight trials the
    runner's functions take: the number is the position in ``run``, the value its measurement."""
    order = ranking(run, n, maximize)
    trials = [create_trial(value=run.observed[i]) for i in order]
    for i, trial in zip(order, trials):
        trial.number = i
    return trials


def _texts(params: Mapping[str, Any]) -> dict[str, str]:
    return {name: repr(value) for name, value in params.items()}


def pick(run: Run, n: int, k: int, maximize: bool) -> list[Candidate]:
    """The runner's candidates (:func:`pick_candidates`) among the first ``n`` trials: the
    baseline (trial 0) and its configuration left out, each configuration once."""
    return pick_candidates(_ranked(run, n, maximize), k, texts=lambda t: _texts(run.params[t.number]),
                           score=lambda t: run.observed[t.number], left_out=lambda t: t.number == 0,
                           baseline=_texts(run.params[0]))


def candidates(run: Run, n: int, k: int, maximize: bool) -> list[int]:
    """The top ``k`` configurations of the first ``n`` trials by single measurement, as the
    index of each one's best trial, as the runner picks them (:func:`pick`)."""
    return [c.trial for c in pick(run, n, k, maximize)]


def rerank(run: Run, n: int, plan: Plan, maximize: bool, fresh: list[list[float]],
           *, with_earlier: bool) -> tuple[int, int]:
    """The crown of ``plan`` over the first ``n`` trials, and the measurements it cost: the
    runner's re-ranking (:func:`rerank_candidates`) of its candidates (:func:`pick`).

    ``fresh[position][j]`` is the j-th re-measurement of the candidate in that position; a
    candidate's mean is over its re-measurements and, ``with_earlier`` (the runner's way),
    every trial's measurement of its configuration. When the baseline has the best single
    measurement nothing is re-measured (the runner skips it too).
    """
    single = crown_single(run, n, maximize)
    if single == 0:
        return single, 0
    chosen = pick(run, n, plan.k, maximize)
    if not with_earlier:
        chosen = [replace(c, earlier=()) for c in chosen]
    again = {c.trial: iter(fresh[position][:plan.r]) for position, c in enumerate(chosen)}
    record = rerank_candidates(chosen, plan.r, lambda c: next(again[c.trial]), best_single=single,
                               ranked_by="the measurement", higher_is_better=maximize)
    return record["crowned"], sum(len(c["samples"]) for c in record["candidates"])


def _quiet() -> None:
    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("optuna").setLevel(logging.ERROR)


def run_tpe(problem: Problem, seed: int, n_startup: int | None, trials: int) -> Run:
    """TPE for ``trials`` trials, trial 0 the baseline; the noise stream depends on the seed
    only (as ``optbench.protocol.run_once``), so a longer run's first trials are a shorter's."""
    import optuna

    kwargs = {} if n_startup is None else {"n_startup_trials": n_startup}
    study = optuna.create_study(direction=problem.direction,
                                sampler=optuna.samplers.TPESampler(seed=seed, **kwargs))
    study.enqueue_trial(problem.baseline)
    rng = np.random.default_rng([seed, 2026])
    keys, params, observed = [], [], []
    for _ in range(trials):
        trial = study.ask(problem.space)
        value = float(problem.objective(trial.params, rng))
        study.tell(trial, value)
        keys.append(_key(trial.params))
        params.append(dict(trial.params))
        observed.append(value)
    return Run(keys, params, observed)


def one_seed(seed: int, trials: int, plans: Sequence[Plan]) -> dict[str, dict[str, tuple[float, bool, int]]]:
    """Every policy's crown for one seed: sampler -> policy -> (noise-free value, crown
    changed against best single, extra measurements)."""
    _quiet()
    if PROBLEM not in _PROBLEM:
        _PROBLEM[PROBLEM] = make_problem(PROBLEM)
    problem = _PROBLEM[PROBLEM]
    maximize = problem.maximize
    most = max(p.extra for p in plans)
    deepest_k = max(p.k for p in plans)
    deepest_r = max(p.r for p in plans)
    out: dict[str, dict[str, tuple[float, bool, int]]] = {}
    for s_index, (label, n_startup) in enumerate(SAMPLERS.items()):
        run = run_tpe(problem, seed, n_startup, trials + most)
        single = crown_single(run, trials, maximize)
        top = candidates(run, trials, deepest_k, maximize)
        fresh = []
        for position, i in enumerate(top):
            stream = np.random.default_rng([seed, 2027, s_index, position])
            fresh.append([float(problem.objective(run.params[i], stream)) for _ in range(deepest_r)])
        truth = [problem.mean(p) for p in run.params]
        row: dict[str, tuple[float, bool, int]] = {"best single": (truth[single], False, 0)}
        best_evaluated = max(truth[:trials]) if maximize else min(truth[:trials])
        row["best evaluated (oracle, not a policy)"] = (best_evaluated, False, 0)
        for plan in plans:
            for pool, with_earlier in (("mean of all", True), ("fresh only", False)):
                index, cost = rerank(run, trials, plan, maximize, fresh, with_earlier=with_earlier)
                row[f"{plan.name}, {pool}"] = (truth[index], run.keys[index] != run.keys[single], cost)
        for extra in sorted({p.extra for p in plans}):
            index = crown_single(run, trials + extra, maximize)
            row[f"{trials} + {extra} trials"] = (truth[index], run.keys[index] != run.keys[single], extra)
        out[label] = row
    return out


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def _pm(xs: Sequence[float]) -> str:
    m, se = mean_se(xs)
    return f"{_fmt(m)} ± {_fmt(se)}"


def table(label: str, rows: Sequence[Mapping[str, tuple[float, bool, int]]], trials: int,
          plans: Sequence[Plan]) -> str:
    """One sampler's table: each policy's crowned noise-free value, paired differences."""
    policies = list(rows[0])
    single = [r["best single"][0] for r in rows]
    head = ["policy", "extra measurements", "crowned noise-free rps", "vs best single (paired)",
            "vs the same measurements as trials (paired)", "crown changed"]
    lines = [f"**{label}**, {len(rows)} seeds, {trials} trials (trial 0 the baseline); mean ± standard error "
             "over seeds", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for policy in policies:
        values = [r[policy][0] for r in rows]
        cost = statistics.fmean(r[policy][2] for r in rows)
        changed = statistics.fmean(r[policy][1] for r in rows)
        diff = "–" if policy == "best single" else _pm([v - s for v, s in zip(values, single)])
        against = "–"
        plan = next((p for p in plans if policy.startswith(p.name + ",")), None)
        if plan is not None:
            more = [r[f"{trials} + {plan.extra} trials"][0] for r in rows]
            against = _pm([v - m for v, m in zip(values, more)])
        shown_changed = "–" if policy.startswith("best") else f"{changed:.1%}"
        lines.append(f"| {policy} | {cost:.2f} | {_pm(values)} | {diff} | {against} | {shown_changed} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=500, help="how many seeds (default 500)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="the first seed (default 0); another range replicates on independent seeds")
    p.add_argument("--trials", type=int, default=30, help="trials per run, trial 0 the baseline (default 30)")
    p.add_argument("--plans", default="2x1,3x1,3x2,5x1",
                   help="comma-separated KxR: re-measure the top K R times each (default 2x1,3x1,3x2,5x1)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = p.parse_args(argv)
    try:
        plans = parse_plans(args.plans)
    except ValueError as e:
        p.error(str(e))
    if args.seeds < 2 or args.trials < 2:
        p.error("--seeds and --trials must be at least 2 (a standard error needs two seeds)")
    print("$ .venv/bin/python benchmarks/rerank.py " + " ".join(
        [f"--seeds {args.seeds}"] + ([f"--first-seed {args.first_seed}"] if args.first_seed else [])
        + [f"--trials {args.trials}", f"--plans {args.plans}", f"--jobs {args.jobs}"]))
    _quiet()
    problem = make_problem(PROBLEM)
    assert problem.surface is not None
    print(f"seeds {args.first_seed} to {args.first_seed + args.seeds - 1}")
    print(f"{PROBLEM}: {problem.direction} {problem.surface.surface.metric}; noise sd "
          f"{problem.surface.noise:.3f} (log scale); baseline {_fmt(problem.mean(problem.baseline))} noise-free")
    started = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(one_seed, seeds, [args.trials] * args.seeds, [plans] * args.seeds,
                                chunksize=max(1, args.seeds // (8 * args.jobs))))
    for label in SAMPLERS:
        print()
        print(table(label, [r[label] for r in results], args.trials, plans))
    print()
    print("crowned noise-free rps: the surrogate's mean at the configuration the policy crowns; "
          "vs best single: the paired difference to today's crown; vs the same measurements as trials: "
          f"the paired difference to running K × R more trials ({args.trials} + K × R) and crowning the "
          "best single measurement; crown changed: seeds whose crowned configuration differs from the "
          "best single measurement's; extra measurements: mean per seed (K × R unless the run had fewer "
          "than K distinct configurations besides the baseline, or the baseline measured best).")
    print(f"wall time {time.perf_counter() - started:.0f} s with {args.jobs} jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
