"""What an LLM schedule's start-up costs, from measured trial values rather than from more runs.

During TPE's random start-up (trials 1-9) every trial the base sampler proposes is an
independent uniform draw, and a model's trials there are worth about what its first round
and its later rounds were worth in measured runs. So best@10 of a schedule can be resampled:
draw the base sampler's trials from a reference arm's start-up values, the model's from its
measured first-round and later-round values, let the real :class:`AdaptiveSchedule` decide
each block on what has been drawn (its own rewards and ``decide``), and average over many
draws. Twenty seeds of a local model take an hour and leave a paired standard error of about
one and a half of TPE's standard errors; a few hundred measured trial values resampled give
the expected cost to a few percent of that.

What it assumes, and where it stops: a model's values depend on its round (first or later)
and not on what its prompt showed; the base sampler's start-up draws are i.i.d. (true for
TPE's start-up, not after it). It says nothing past the start-up. The report of
``benchmarks/startup_cost.py`` prints the modelled value of the measured schedule next to
the measured one, so a reader can see how far to trust it.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from optbench.protocol import RunRecord

STARTUP = 10
"""TPE's ``n_startup_trials``: the baseline is trial 0, the random draws trials 1-9."""


class StartupModelError(ValueError):
    """The runs given cannot fill the model: no start-up values for an arm or a round."""


Trial = tuple[float, float]
"""A measured trial: (observed value, noise-free value). Without noise-free values both are the observed one."""


@dataclass(frozen=True)
class Pools:
    """Measured start-up trials to resample from, each (observed, noise-free).

    ``baselines``: each run's trial 0. ``base``: the reference arm's trials 1 to
    ``STARTUP - 1`` (TPE's random draws). ``first``: the model's trials of its first round;
    ``later``: of its later start-up rounds. The schedule and the incumbent go by the observed
    values, as in a run; best@10 is the incumbent's noise-free value, as ``compare.py`` reports.
    """

    baselines: list[Trial]
    base: list[Trial]
    first: list[Trial]
    later: list[Trial]
    maximize: bool = True


def _trial(run: RunRecord, i: int) -> Trial | None:
    observed = run.values[i] if i < len(run.values) else None
    if observed is None:
        return None
    truth = run.means[i] if i < len(run.means) and run.means[i] is not None else observed
    return float(observed), float(truth)


def pools_from_runs(runs: Sequence[RunRecord], model_arm: str, reference: str = "tpe", *,
                    maximize: bool = True, round_size: int = 2, split: int = STARTUP) -> Pools:
    """The start-up trials of ``reference`` and the model trials of ``model_arm``.

    A model trial belongs to the first round when it lies in the first block of
    ``round_size`` trials after the baseline that holds any model trial. Failed trials carry
    no value and are left out, as are trials past the start-up.
    """
    base: list[Trial] = []
    first: list[Trial] = []
    later: list[Trial] = []
    baselines: list[Trial] = []
    for run in runs:
        if run.arm not in (model_arm, reference) or not run.values:
            continue
        zero = _trial(run, 0)
        if zero is not None:
            baselines.append(zero)
        first_block: int | None = None
        for i in range(1, min(split, len(run.values))):
            t = _trial(run, i)
            if t is None:
                continue
            if run.arm == reference:
                base.append(t)
            elif run.sources[i] == "llm":
                block = (i - 1) // round_size
                first_block = block if first_block is None else first_block
                (first if block == first_block else later).append(t)
    # A schedule that gave the model one start-up round has no later-round values: later
    # rounds are then drawn from the first round's (simulate), which the report says.
    for name, pool in (("reference", base), ("first-round", first)):
        if not pool:
            arm = reference if name == "reference" else model_arm
            raise StartupModelError(f"no {name} start-up values for arm {arm!r} in the runs given: "
                                    f"run it with compare.py first (trials 1-{split - 1} are used)")
    return Pools(baselines, base, first, later, maximize)


def _incumbent(trials: Sequence[Trial], maximize: bool) -> float:
    """The noise-free value of the best observed trial."""
    pick = max if maximize else min
    return pick(trials, key=lambda t: t[0])[1]


@dataclass
class Outcome:
    """Expected best@``STARTUP`` of a schedule minus the base sampler's alone (positive: better),
    mean ± standard error of the resampling, and the model's expected number of start-up trials."""

    schedule: str
    difference: tuple[float, float]
    model_trials: float


def _trials(values: Sequence[float], sources: Sequence[str]) -> list[Any]:
    """Complete trials as :func:`optuna_llm_sampler._policy._scoring.rewards` reads them."""
    from optuna.trial import TrialState

    from optuna_llm_sampler._records import _attrs
    return [SimpleNamespace(number=i, state=TrialState.COMPLETE, values=[v], user_attrs={_attrs.ATTR_SOURCE: s})
            for i, (v, s) in enumerate(zip(values, sources))]


def simulate(schedule: Any, pools: Pools, *, draws: int = 20000, seed: int = 0,
             split: int = STARTUP) -> tuple[list[float], list[int]]:
    """``draws`` start-ups under ``schedule`` (an AdaptiveSchedule): best@``split`` and model trials each.

    The model's trials are drawn from the first-round pool in its first round, else from the
    later-round pool (the first-round pool without one); each block's trials take the roles
    the schedule gives them (``trial_role``), scored as it scores them (``score``).
    """
    from optuna.study import StudyDirection

    from optuna_llm_sampler._records import _attrs
    from optuna_llm_sampler import TrialRole
    from optuna_llm_sampler._policy._scoring import rewards

    rng = random.Random(seed)
    size = schedule.max_round_size
    direction = [StudyDirection.MAXIMIZE if pools.maximize else StudyDirection.MINIMIZE]

    def draw_model(first_round: bool) -> Trial:
        return rng.choice(pools.first if first_round or not pools.later else pools.later)

    bests: list[float] = []
    counts: list[int] = []
    for _ in range(draws):
        trials, sources = [rng.choice(pools.baselines)], [_attrs.SOURCE_BASELINE]
        credit, rounds = schedule.initial_credit, 0
        start = 1 if schedule.baseline_first else 0
        while start < split:
            llm, base = rewards(_trials([t[0] for t in trials], sources), direction, before=start,
                                pooled=schedule.pooled)
            record = schedule.decide(start, credit, llm, base)
            credit = record["credit"]
            for number in range(start, start + size):
                if schedule.trial_role(number, record) is TrialRole.LLM:
                    trials.append(draw_model(rounds == 0))
                    sources.append(_attrs.SOURCE_LLM)
                else:
                    trials.append(rng.choice(pools.base))
                    sources.append("TPESampler")
            rounds += record["role"] == TrialRole.LLM.value
            start += size
        bests.append(_incumbent(trials[:split], pools.maximize))
        counts.append(sources[:split].count(_attrs.SOURCE_LLM))
    return bests, counts


def reference_best(pools: Pools, *, draws: int = 20000, seed: int = 0, split: int = STARTUP) -> list[float]:
    """best@``split`` of the base sampler alone: the baseline and ``split - 1`` draws."""
    rng = random.Random(seed)
    return [_incumbent([rng.choice(pools.baselines), *(rng.choice(pools.base) for _ in range(split - 1))], pools.maximize)
            for _ in range(draws)]


def compare_schedules(schedules: Mapping[str, Any], pools: Pools, *, draws: int = 20000,
                      seed: int = 0) -> list[Outcome]:
    """Each schedule's expected best@10 against the base sampler alone, positive meaning better."""
    sign = 1.0 if pools.maximize else -1.0
    ref = reference_best(pools, draws=draws, seed=seed + 1)
    ref_mean, ref_var = statistics.fmean(ref), statistics.variance(ref) / len(ref)
    out = []
    for name, schedule in schedules.items():
        bests, counts = simulate(schedule, pools, draws=draws, seed=seed)
        se = (statistics.variance(bests) / len(bests) + ref_var) ** 0.5
        out.append(Outcome(name, (sign * (statistics.fmean(bests) - ref_mean), se), statistics.fmean(counts)))
    return out
