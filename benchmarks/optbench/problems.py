"""Benchmark problems: the recorded nginx and MariaDB surfaces, any recorded surface, and two meaningless controls.

A :class:`Problem` is what an optimiser sees: a typed search space, a direction, a baseline
(trial 0 of every run), and a noisy objective. The two synthetic problems are standard
functions made mixed-type (float, int and categorical knobs named ``x1``, ``x2``, ...): a
model can learn nothing from their names, so any gain an ``llm:`` arm shows there comes from
the search itself, not from knowledge. Categorical levels are mapped to coordinates in a
fixed shuffled order, so their labels carry no order either.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from optbench.surface import SurfaceModel, load_surface

ROOT = Path(__file__).resolve().parents[2]
SURFACES = ROOT / "benchmarks" / "surfaces"


class ProblemError(ValueError):
    """An unknown problem name or an unusable surface folder."""


@dataclass
class Problem:
    """An objective with its space, direction and baseline.

    Args:
        name: Shown in tables and ``results.json``.
        space: Parameter name to distribution.
        direction: ``"maximize"`` or ``"minimize"``.
        baseline: Trial 0 of every run.
        objective: ``(params, rng) -> value``: one (possibly noisy) evaluation.
        mean: ``params -> value`` without noise (for synthetic problems the same function).
        knowledge: Background text given to a model (empty: nothing to know).
        descriptions: Parameter descriptions shown to a model.
        about: One line for ``--list`` and the docs.
        optimum: The known best value, where there is one.
    """

    name: str
    space: dict[str, BaseDistribution]
    direction: str
    baseline: dict[str, Any]
    objective: Callable[[Mapping[str, Any], np.random.Generator], float]
    mean: Callable[[Mapping[str, Any]], float]
    knowledge: str = ""
    descriptions: dict[str, str] = field(default_factory=dict)
    about: str = ""
    optimum: float | None = None
    surface: SurfaceModel | None = None

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"


# ----------------------------------------------------------------------------- surfaces


def surface_problem(folder: str | Path, name: str | None = None) -> Problem:
    """A recorded surface folder (see :mod:`optbench.surface`) as a problem."""
    model = SurfaceModel(load_surface(folder))
    s = model.surface
    return Problem(
        name=name or s.name, space=dict(s.space), direction=s.direction, baseline=dict(s.baseline),
        objective=model.sample, mean=model.mean, knowledge=s.knowledge, descriptions=dict(s.descriptions),
        about=f"recorded {s.metric} of {s.name} ({len(s.values)} measurements, {len(s.space)} knobs), "
              f"random-forest surrogate with measured noise",
        surface=model,
    )


# ----------------------------------------------------------------------------- synthetic

_LEVELS = ("a", "b", "c", "d", "e")


def _coordinates(values: tuple[float, ...], seed: int) -> dict[str, float]:
    """Category labels to coordinates, in a fixed shuffled order (labels carry no order)."""
    order = np.random.default_rng(seed).permutation(len(values))
    return {label: values[i] for label, i in zip(_LEVELS, order)}


def ackley_mixed() -> Problem:
    """Ackley in 6 dimensions: 2 floats, 2 integers, 2 five-level categoricals (minimise, optimum 0)."""
    grid = (-20.0, -10.0, 0.0, 10.0, 20.0)
    maps = [_coordinates(grid, 11), _coordinates(grid, 12)]
    space: dict[str, BaseDistribution] = {
        "x1": FloatDistribution(-32.768, 32.768),
        "x2": FloatDistribution(-32.768, 32.768),
        "x3": IntDistribution(-32, 32),
        "x4": IntDistribution(-32, 32),
        "x5": CategoricalDistribution(list(_LEVELS)),
        "x6": CategoricalDistribution(list(_LEVELS)),
    }

    def f(p: Mapping[str, Any]) -> float:
        x = np.array([p["x1"], p["x2"], p["x3"], p["x4"], maps[0][p["x5"]], maps[1][p["x6"]]], dtype=float)
        d = len(x)
        return float(-20 * math.exp(-0.2 * math.sqrt(np.sum(x**2) / d))
                     - math.exp(np.sum(np.cos(2 * math.pi * x)) / d) + 20 + math.e)

    baseline = {"x1": 16.0, "x2": -16.0, "x3": 16, "x4": -16,
                "x5": next(k for k, v in maps[0].items() if v == 20.0),
                "x6": next(k for k, v in maps[1].items() if v == -20.0)}
    return Problem("ackley-mixed", space, "minimize", baseline, lambda p, rng: f(p), f,
                   about="Ackley, 6-D: 2 float, 2 int, 2 categorical (5 levels); minimise; optimum 0",
                   optimum=0.0)


def styblinski_tang_mixed() -> Problem:
    """Styblinski-Tang in 8 dimensions: 3 floats, 3 integers, 2 four-level categoricals (minimise)."""
    levels = (-4.0, -2.9, 0.0, 3.0)
    maps = [_coordinates(levels, 21), _coordinates(levels, 22)]
    labels = list(_LEVELS[:4])
    space: dict[str, BaseDistribution] = {
        **{f"x{i}": FloatDistribution(-5.0, 5.0) for i in (1, 2, 3)},
        **{f"x{i}": IntDistribution(-5, 5) for i in (4, 5, 6)},
        "x7": CategoricalDistribution(labels),
        "x8": CategoricalDistribution(labels),
    }

    def f(p: Mapping[str, Any]) -> float:
        x = np.array([p["x1"], p["x2"], p["x3"], p["x4"], p["x5"], p["x6"],
                      maps[0][p["x7"]], maps[1][p["x8"]]], dtype=float)
        return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))

    def g(v: float) -> float:
        return 0.5 * (v**4 - 16 * v**2 + 5 * v)

    # the best reachable: -2.903534 for the floats, -3 for the integers, -2.9 for the categoricals
    best = 3 * g(-2.903534) + 3 * g(-3.0) + 2 * g(-2.9)
    baseline = {"x1": 4.0, "x2": 4.0, "x3": 4.0, "x4": 4, "x5": 4, "x6": 4,
                "x7": next(k for k, v in maps[0].items() if v == 3.0),
                "x8": next(k for k, v in maps[1].items() if v == 3.0)}
    return Problem("styblinski-tang-mixed", space, "minimize", baseline, lambda p, rng: f(p), f,
                   about="Styblinski-Tang, 8-D: 3 float, 3 int, 2 categorical (4 levels); minimise",
                   optimum=float(best))


# ----------------------------------------------------------------------------- registry

PROBLEMS: dict[str, Callable[[], Problem]] = {
    "nginx-surface": lambda: surface_problem(SURFACES / "nginx", "nginx-surface"),
    "mariadb-surface": lambda: surface_problem(SURFACES / "mariadb", "mariadb-surface"),
    "ackley-mixed": ackley_mixed,
    "styblinski-tang-mixed": styblinski_tang_mixed,
}


def make_problem(name: str) -> Problem:
    """A problem by registry name, or a recorded surface folder by path."""
    if name in PROBLEMS:
        return PROBLEMS[name]()
    path = Path(name)
    if path.is_dir():
        return surface_problem(path)
    raise ProblemError(
        f"unknown problem {name!r}: choose one of {', '.join(PROBLEMS)} or give a surface folder "
        "(surface.json + measurements.csv, see docs/benchmarks.md)"
    )
