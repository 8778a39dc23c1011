"""Which Optuna sampler runs for each of A-Tune's engine names: one table, one factory each.

A-Tune's optimizer picks its algorithm with a long ``if engine == ...`` chain; here each
engine name maps to a small factory that builds an :class:`EnginePlan` (the sampler, the
number of evaluations, and, for the planned engines, the configurations to try in order).

=====================  =====================================================================
A-Tune engine          what runs here
=====================  =====================================================================
``random``             ``RandomSampler`` (A-Tune: skopt with a dummy estimator, i.e. random)
``tpe``                ``TPESampler`` (A-Tune: hyperopt's TPE)
``bayes``              ``RoundedGPSampler`` (A-Tune: skopt's Gaussian process): Optuna's
                       ``GPSampler``, with a knob of more than 10,000 values searched as
                       continuous and rounded rather than listed value by value (a knob from
                       0 to 2**28 would take gigabytes and minutes per trial). It needs
                       PyTorch; without it the task runs ``TPESampler`` and says so in the
                       POST reply's ``message``, the task's ``warnings`` and the log.
``forest``, ``gbrt``,  ``TPESampler(multivariate=True)``: A-Tune runs skopt with a random
``extraTrees``         forest / gradient-boosted trees / extra-trees surrogate; Optuna has no
                       tree-surrogate sampler, and multivariate TPE is the closest
                       model-based sampler that needs no extra dependency.
``lhs``                ``QMCSampler(qmc_type="halton", scramble=True)``: a space-filling
                       design like A-Tune's Latin hypercube sampling.
``gridsearch``         ``GridSampler`` over the knobs' finite sets (discrete knobs, and
                       continuous ints); a continuous float knob, or a grid larger than
                       :data:`MAX_GRID` points, is a 400. Runs ``min(max_eval, grid size)``
                       evaluations (A-Tune runs the whole grid).
``traverse``           one-at-a-time sensitivity plan, as A-Tune's: the baseline, then each
                       knob alone at its lowest and highest value (each other option for
                       strings), the rest at their ``ref``. Needs a ``ref`` for every knob.
                       Replies the best configuration found (A-Tune replies the baseline).
``abtest``             one-at-a-time plan with ``split_count`` levels per knob (default 5),
                       the rest at their ``ref``. A-Tune keeps the knobs already tested at
                       their best level; this plan keeps them at ``ref`` (not adaptive).
``ppo``                ``TPESampler(multivariate=True)``: no reinforcement-learning sampler.
``Bayesian_Transfer``  ``TPESampler(multivariate=True)``, seeded by ``x_ref``/``y_ref`` and
                       by the best trials of the studies ``history_path`` names (for every
                       engine: :mod:`atune_bridge._engine._transfer`).
``llm``                ``LLMSampler`` over the engine's base search (``serve --search``,
                       default ``tpe``; ``sobol-tpe`` starts TPE from a scrambled Sobol design
                       of ``random_starts`` trials); needs the engine started with a model
                       (``--llm SPEC``).
=====================  =====================================================================

``random_starts`` becomes ``n_startup_trials`` of TPE and GP (Optuna's default 10 when absent).
Engine names are matched exactly, then without regard to case.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.exceptions import ExperimentalWarning
from optuna.samplers import (
    BaseSampler,
    GridSampler,
    QMCSampler,
    RandomSampler,
    TPESampler,
)

from atune_bridge._format import AtuneBridgeError, Knob

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial, TrialState

MAX_GRID = 100_000
"""The largest grid the ``gridsearch`` engine enumerates."""

DEFAULT_SPLIT_COUNT = 5
"""Levels per knob for ``abtest`` when the request gives no ``split_count`` (A-Tune's default)."""

MAX_SPLIT_COUNT = 1_000
"""The most levels per knob ``abtest`` accepts."""


class UnsupportedEngineError(AtuneBridgeError):
    """An engine name is unknown, or the engine cannot run on the knobs it was given."""

    def __init__(self, engine: str, message: str) -> None:
        super().__init__(message)
        self.engine = engine
        self.message = message


@dataclass(frozen=True)
class SamplerContext:
    """What a factory knows about a task when it builds the sampler."""

    knobs: tuple[Knob, ...]
    space: Mapping[str, BaseDistribution]
    baseline: Mapping[str, Any]
    """Every knob's ``ref`` inside its domain, or empty when any is missing."""
    max_eval: int
    seed: int
    random_starts: int | None = None
    split_count: int | None = None
    search: str | None = None
    """The base search of engine ``llm`` (``serve --search``); ``None``: the default one."""


@dataclass(frozen=True)
class EnginePlan:
    """The sampler an engine name stands for, and how many evaluations it runs."""

    engine: str
    sampler: BaseSampler
    runs: str
    """A short description of what runs, e.g. ``"TPESampler(multivariate=True)"``."""
    iters: int
    """Evaluations the task runs (the POST reply's ``iters``)."""
    fixed: Sequence[dict[str, Any]] = ()
    """Configurations tried first, in order (planned engines); the task ends when they are."""
    warning: str | None = None
    wants_llm: bool = False
    planned: bool = False


Factory = Callable[[SamplerContext], EnginePlan]


class _AskTellGridSampler(GridSampler):
    """``GridSampler`` that never calls ``study.stop()``: outside ``optimize()`` that raises.

    The engine drives studies with ask and tell, and ends a ``gridsearch`` task itself after
    ``min(max_eval, grid size)`` evaluations.
    """

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        return None


def gp_available() -> bool:
    """Whether Optuna's ``GPSampler`` can run here (it imports PyTorch when it samples)."""
    return importlib.util.find_spec("torch") is not None


def _startup(ctx: SamplerContext) -> int:
    return 10 if ctx.random_starts is None else max(0, ctx.random_starts)


def _random(ctx: SamplerContext) -> EnginePlan:
    return EnginePlan("random", RandomSampler(seed=ctx.seed), "RandomSampler", ctx.max_eval)


def _tpe(ctx: SamplerContext) -> EnginePlan:
    sampler = TPESampler(seed=ctx.seed, n_startup_trials=_startup(ctx))
    return EnginePlan("tpe", sampler, "TPESampler", ctx.max_eval)


def _tpe_multivariate(engine: str, why: str) -> Factory:
    def factory(ctx: SamplerContext) -> EnginePlan:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            sampler = TPESampler(seed=ctx.seed, n_startup_trials=_startup(ctx), multivariate=True)
        return EnginePlan(engine, sampler, f"TPESampler(multivariate=True) ({why})", ctx.max_eval)

    return factory


def _bayes(ctx: SamplerContext) -> EnginePlan:
    if gp_available():
        from optuna_llm_sampler._search import RoundedGPSampler

        sampler = RoundedGPSampler(seed=ctx.seed, n_startup_trials=_startup(ctx))
        return EnginePlan("bayes", sampler, "RoundedGPSampler", ctx.max_eval)
    plan = _tpe(ctx)
    return replace(
        plan,
        engine="bayes",
        runs="TPESampler (GPSampler unavailable)",
        warning=("engine 'bayes' runs Optuna's TPESampler: GPSampler needs PyTorch, which is not installed"),
    )


def _lhs(ctx: SamplerContext) -> EnginePlan:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        sampler = QMCSampler(qmc_type="halton", scramble=True, seed=ctx.seed, warn_independent_sampling=False)
    return EnginePlan("lhs", sampler, 'QMCSampler(qmc_type="halton", scramble=True)', ctx.max_eval)


def _llm(ctx: SamplerContext) -> EnginePlan:
    from optuna_llm_sampler._search import DEFAULT_SEARCH, SearchError, make_search

    name = ctx.search or DEFAULT_SEARCH
    try:
        sampler = make_search(name, seed=ctx.seed, n_startup_trials=_startup(ctx), budget=max(1, ctx.max_eval))
    except SearchError as exc:
        raise UnsupportedEngineError("llm", f"engine 'llm': {exc}") from exc
    return EnginePlan("llm", sampler, f"LLMSampler over the {name} search", ctx.max_eval, wants_llm=True)


def _snap(dist: BaseDistribution, value: float) -> Any:
    """The domain value of a numeric ``dist`` nearest to ``value``."""
    if isinstance(dist, CategoricalDistribution):
        return min(dist.choices, key=lambda c: abs(float(c) - value))  # type: ignore[arg-type]
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    value = min(max(value, dist.low), dist.high)
    if dist.step is not None:
        k = round((value - dist.low) / dist.step)
        value = min(dist.low + k * dist.step, dist.high)
    if isinstance(dist, IntDistribution):
        return int(round(value))
    return tidy_float(float(value), dist)


def tidy_float(value: float, dist: BaseDistribution) -> float:
    """``value`` without float noise when ``dist`` has a step (0.30000000000000004 -> 0.3)."""
    step = getattr(dist, "step", None)
    if not isinstance(dist, FloatDistribution) or step is None:
        return value
    decimals = max(_decimals(step), _decimals(dist.low))
    return min(max(round(value, decimals), dist.low), dist.high)


def _decimals(x: float) -> int:
    text = repr(float(x))
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        places = len(mantissa.partition(".")[2].rstrip("0"))
        return min(15, max(0, places - int(exponent)))
    return min(15, len(text.partition(".")[2].rstrip("0")))


def _levels(dist: BaseDistribution) -> list[Any]:
    """Every value of a finite ``dist``, or an empty list when it has too many or infinitely many."""
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, IntDistribution):
        count = (dist.high - dist.low) // dist.step + 1
        return list(range(dist.low, dist.high + 1, dist.step)) if count <= MAX_GRID else []
    assert isinstance(dist, FloatDistribution)
    if dist.low == dist.high:
        return [dist.low]
    if dist.step is None:
        return []
    count = int(round((dist.high - dist.low) / dist.step)) + 1
    if count > MAX_GRID:
        return []
    return [tidy_float(dist.low + i * dist.step, dist) for i in range(count)]


def finite_grid(space: Mapping[str, BaseDistribution]) -> dict[str, list[Any]]:
    """The grid of every combination of the knobs' values, for ``gridsearch``.

    Raises:
        UnsupportedEngineError: a knob is continuous float, or the grid is too large.
    """
    grid: dict[str, list[Any]] = {}
    size = 1
    for name, dist in space.items():
        values = _levels(dist)
        if not values:
            if isinstance(dist, FloatDistribution) and dist.step is None:
                why = "is a continuous float knob: it has no finite grid (give it type discrete and a step)"
            else:
                why = f"has more than {MAX_GRID} values"
            raise UnsupportedEngineError(
                "gridsearch", f"engine 'gridsearch': knob {name!r} {why}; or use engine lhs, tpe or random"
            )
        grid[name] = values
        size *= len(values)
        if size > MAX_GRID:
            raise UnsupportedEngineError(
                "gridsearch",
                f"engine 'gridsearch': the grid has more than {MAX_GRID} points "
                f"(reached at knob {name!r}); narrow the knobs or use engine lhs, tpe or random",
            )
    return grid


def _gridsearch(ctx: SamplerContext) -> EnginePlan:
    grid = finite_grid(ctx.space)
    size = math.prod(len(v) for v in grid.values())
    sampler = _AskTellGridSampler(grid, seed=ctx.seed)
    return EnginePlan("gridsearch", sampler, f"GridSampler ({size} points)", min(ctx.max_eval, size))


def _need_baseline(engine: str, ctx: SamplerContext) -> Mapping[str, Any]:
    if len(ctx.baseline) != len(ctx.knobs):
        missing = [k.name for k in ctx.knobs if k.name not in ctx.baseline]
        raise UnsupportedEngineError(
            engine,
            f"engine {engine!r} varies one knob at a time around the baseline, so every knob "
            f"needs a ref inside its domain; missing or outside: {', '.join(missing)}",
        )
    return ctx.baseline


def _one_at_a_time(
    engine: str, ctx: SamplerContext, levels: Callable[[BaseDistribution], list[Any]], runs: str
) -> EnginePlan:
    baseline = _need_baseline(engine, ctx)
    changes: list[tuple[str, Any]] = []
    for name, dist in ctx.space.items():
        seen: set[Any] = {baseline[name]}
        for value in levels(dist):
            if value not in seen:
                seen.add(value)
                changes.append((name, value))
            if len(changes) >= ctx.max_eval:  # more than the task can ever try
                break
        if len(changes) >= ctx.max_eval:
            break
    if not changes:
        raise UnsupportedEngineError(engine, f"engine {engine!r}: every knob has a single value, nothing to try")
    iters = min(ctx.max_eval, len(changes) + 1)
    plan = _OneAtATime(dict(baseline), tuple(changes))
    return EnginePlan(engine, RandomSampler(seed=ctx.seed), runs, iters, plan, planned=True)


class _OneAtATime(Sequence[dict[str, Any]]):
    """The configurations of a one-at-a-time plan, each built when read: the baseline with
    one knob changed (a plan of thousands of steps over many knobs stays small)."""

    def __init__(self, baseline: dict[str, Any], changes: tuple[tuple[str, Any], ...]) -> None:
        self._baseline = baseline
        self._changes = changes

    def __len__(self) -> int:
        return len(self._changes)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        name, value = self._changes[index]
        return {**self._baseline, name: value}


def _numeric(dist: CategoricalDistribution) -> bool:
    return all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in dist.choices)


def _extremes(dist: BaseDistribution) -> list[Any]:
    if isinstance(dist, CategoricalDistribution):
        if not _numeric(dist):
            return list(dist.choices)
        return [max(dist.choices), min(dist.choices)]  # type: ignore[type-var]
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    return [_snap(dist, dist.high), _snap(dist, dist.low)]


def _traverse(ctx: SamplerContext) -> EnginePlan:
    return _one_at_a_time("traverse", ctx, _extremes, "one-at-a-time plan (low/high of each knob)")


def _abtest(ctx: SamplerContext) -> EnginePlan:
    count = ctx.split_count or DEFAULT_SPLIT_COUNT
    if count > MAX_SPLIT_COUNT:
        raise UnsupportedEngineError(
            "abtest", f"engine 'abtest': split_count {count} is more than {MAX_SPLIT_COUNT} levels per knob; lower it"
        )

    def levels(dist: BaseDistribution) -> list[Any]:
        if isinstance(dist, CategoricalDistribution) and not _numeric(dist):
            return list(dist.choices)
        if isinstance(dist, CategoricalDistribution):
            low, high = float(min(dist.choices)), float(max(dist.choices))  # type: ignore[type-var,arg-type]
        else:
            assert isinstance(dist, (IntDistribution, FloatDistribution))
            low, high = float(dist.low), float(dist.high)
        return [_snap(dist, low + i * (high - low) / count) for i in range(count)]

    return _one_at_a_time("abtest", ctx, levels, f"one-at-a-time plan ({count} levels per knob)")


_ENGINES: dict[str, Factory] = {
    "random": _random,
    "forest": _tpe_multivariate("forest", "closest to skopt's random-forest surrogate"),
    "gbrt": _tpe_multivariate("gbrt", "closest to skopt's gradient-boosted-trees surrogate"),
    "extraTrees": _tpe_multivariate("extraTrees", "closest to skopt's extra-trees surrogate"),
    "bayes": _bayes,
    "abtest": _abtest,
    "lhs": _lhs,
    "tpe": _tpe,
    "gridsearch": _gridsearch,
    "traverse": _traverse,
    "ppo": _tpe_multivariate("ppo", "no reinforcement-learning sampler in Optuna"),
    "Bayesian_Transfer": _tpe_multivariate(
        "Bayesian_Transfer", "history_path seeds it with earlier studies' best trials"
    ),
    "llm": _llm,
}

DEFAULT_ENGINE = "bayes"
"""The engine when a request names none (A-Tune's optimizer default)."""


def engine_names() -> tuple[str, ...]:
    """Every engine name the engine accepts, A-Tune's first."""
    return tuple(_ENGINES)


def resolve_engine(name: str | None) -> str:
    """The table's spelling of ``name`` (``None`` or ``""`` is :data:`DEFAULT_ENGINE`).

    Raises:
        UnsupportedEngineError: the name is not in the table.
    """
    if name is None or not name.strip():
        return DEFAULT_ENGINE
    text = name.strip()
    if text in _ENGINES:
        return text
    for known in _ENGINES:
        if known.lower() == text.lower():
            return known
    shown = text if len(text) <= 60 else text[:57] + "..."
    raise UnsupportedEngineError(text, f"engine {shown!r} is not supported; use one of: {', '.join(_ENGINES)}")


def build_plan(engine: str, ctx: SamplerContext) -> EnginePlan:
    """The :class:`EnginePlan` for ``engine`` (see the module table).

    Raises:
        UnsupportedEngineError: the name is unknown, or the engine cannot run on these knobs.
    """
    return _ENGINES[resolve_engine(engine)](ctx)


def with_llm(
    plan: EnginePlan, llm: Any, ctx: SamplerContext, *, knowledge: str | None = None, schedule: str = "adaptive"
) -> EnginePlan:
    """``plan`` with :class:`optuna_llm_sampler.LLMSampler` over its sampler; ``schedule`` is
    the model's role (a preset's name: ``adaptive``, ``alternating``, ``write``).

    Raises:
        UnsupportedEngineError: ``optuna_llm_sampler`` cannot be imported, or ``LLMSampler``
            refuses its arguments (an unreadable ``knowledge`` file, ...).
    """
    try:
        from optuna_llm_sampler import LLMSampler
    except ImportError as exc:
        raise UnsupportedEngineError(
            plan.engine, f"the LLM sampler is not available in this installation: {exc}"
        ) from exc
    try:
        sampler = LLMSampler(
            llm,
            base_sampler=plan.sampler,
            search_space=dict(ctx.space),
            baseline=dict(ctx.baseline) or None,
            knowledge=Path(knowledge) if knowledge else None,
            seed=ctx.seed,
            schedule=schedule,
        )
    except (ValueError, OSError) as exc:  # e.g. an unreadable knowledge file
        raise UnsupportedEngineError(plan.engine, f"LLMSampler cannot be set up: {exc}") from exc
    runs = plan.runs if plan.runs.startswith("LLMSampler") else f"LLMSampler over {plan.runs}"
    return replace(plan, sampler=sampler, runs=runs)
