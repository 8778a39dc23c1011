"""What a start-up design alone is worth: best@k of k-1 design points after the baseline.

The field's optimisers lead early on the recorded nginx surface, before their models have
learnt anything: HEBO's first 14 trials and SMAC's first 7 are a scrambled Sobol design. This
script takes the design alone, with no model, and scores it as ``compare.py`` does (trial 0
the baseline, then the design's points, the incumbent the best *measured* configuration,
valued by its noise-free value, the same noise draws for every design of a seed), so each way
of turning a design's coordinates into knob values can be set side by side over many seeds:

* ``random``: uniform random draws (Optuna's start-up);
* ``sobol``: :class:`optuna_llm_sampler._search.SobolSampler`: a scrambled Sobol point, each
  knob's ``[0, 1)`` cut into equal slices, one per choice or step (SMAC maps choices the same way);
* ``hebo``: HEBO's mapping of the same points: a categorical knob's coordinate scaled to
  ``[0, k - 1]`` and rounded, an integer knob's to its range and rounded, so the first and
  last choice or value get half the share of the others;
* ``hebo-choices`` / ``hebo-numbers``: HEBO's mapping for categorical knobs only / for integer
  knobs only, the rest as ``sobol``, to tell which part of it does what.

Usage, from the repository root::

    .venv/bin/python benchmarks/startup_designs.py --problem nginx-surface --points 9 --seeds 1000
    .venv/bin/python benchmarks/startup_designs.py --problem nginx-surface --points 9 --seeds 1000 --first-seed 1000
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution  # noqa: E402
from scipy.stats import qmc  # noqa: E402

from optbench.problems import Problem, ProblemError, make_problem  # noqa: E402
from optuna_llm_sampler._search._sobol import value_at  # noqa: E402

ValueOf = Callable[[BaseDistribution, float], Any]
"""How a design turns a coordinate in ``[0, 1)`` into a value of a knob."""


def hebo_value(dist: BaseDistribution, u: float, *, choices: bool = True, numbers: bool = True) -> Any:
    """HEBO's value of coordinate ``u``: scaled to the index range and rounded (see the module doc)."""
    if choices and isinstance(dist, CategoricalDistribution):
        return dist.choices[int(round(u * (len(dist.choices) - 1)))]
    if numbers and isinstance(dist, IntDistribution) and not dist.log:
        return dist.low + int(round(u * ((dist.high - dist.low) // dist.step))) * dist.step
    return value_at(dist, u)


MAPPINGS: dict[str, ValueOf] = {
    "sobol": value_at,
    "hebo": hebo_value,
    "hebo-choices": lambda d, u: hebo_value(d, u, numbers=False),
    "hebo-numbers": lambda d, u: hebo_value(d, u, choices=False),
}


def incumbent_values(problem: Problem, design: Sequence[Mapping[str, Any]], seed: int) -> list[float]:
    """The noise-free value of the best measured configuration after each trial (the baseline first)."""
    rng = np.random.default_rng([seed, 2026])  # the noise stream of compare.py's runs of this seed
    best: float | None = None
    truth = math.nan
    out = []
    for params in [problem.baseline, *design]:
        value = float(problem.objective(params, rng))
        if best is None or (value > best if problem.maximize else value < best):
            best, truth = value, float(problem.mean(params))
        out.append(truth)
    return out


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _pm(values: np.ndarray, signed: bool = False) -> str:
    """Mean ± standard error; ``signed`` puts a ``+`` before a positive mean."""
    mean, se = float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))
    return f"{'+' if signed and mean >= 0 else ''}{_num(mean)} ± {_num(se)}"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--problem", default="nginx-surface", help="problem name or surface folder (default nginx-surface)")
    p.add_argument("--points", type=int, default=9, help="design points after the baseline (default 9: best@10)")
    p.add_argument("--seeds", type=int, default=1000, help="how many seeds (default 1000)")
    p.add_argument("--first-seed", type=int, default=0, help="the first seed (default 0), for a second range")
    args = p.parse_args(argv)
    try:
        problem = make_problem(args.problem)
    except ProblemError as e:
        print(f"startup_designs: {e}", file=sys.stderr)
        return 2
    names = list(problem.space)
    dists = [problem.space[n] for n in names]
    m = max(1, math.ceil(math.log2(args.points)))
    finals: dict[str, list[float]] = {"random": [], **{k: [] for k in MAPPINGS}}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        sobol = qmc.Sobol(len(names), scramble=True, seed=seed).random_base2(m)[: args.points]
        uniform = np.random.default_rng([seed, 99]).random((args.points, len(names)))
        for design_name, points, mapping in [("random", uniform, value_at),
                                             *((k, sobol, f) for k, f in MAPPINGS.items())]:
            design = [{n: mapping(d, u) for n, d, u in zip(names, dists, row)} for row in points]
            finals[design_name].append(incumbent_values(problem, design, seed)[-1])
    k = args.points + 1
    sign = "higher" if problem.maximize else "lower"
    last = args.first_seed + args.seeds - 1
    print(f"{problem.name}: best@{k} of the baseline and {args.points} design points, no model; seeds "
          f"{args.first_seed} to {last}; mean ± standard error; paired difference to random ({sign} is better)")
    print()
    print(f"| design | best@{k} | minus random, paired |")
    print("|---|---|---|")
    random = np.array(finals["random"])
    for name, values in finals.items():
        a = np.array(values)
        paired = "–" if name == "random" else _pm(a - random, signed=True)
        print(f"| {name} | {_pm(a)} | {paired} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
