"""The named base searches: one table from a name (``--search NAME``) to a sampler factory.

The runner (``atune-bridge tune --search``), the engine (``atune-bridge serve --search``) and
the benchmark's arms build their base sampler from here, so a name means the same sampler
everywhere.

==============  ==================================================================================
name            what runs
==============  ==================================================================================
``tpe``         Optuna's :class:`~optuna.samplers.TPESampler`, random start-up (the default).
``sobol-tpe``   :class:`SobolTPESampler`: the start-up trials from a scrambled Sobol design (every
                knob stratified, categorical ones included), then Optuna's multivariate TPE
                learning from every trial. Fast (hundredths of a second per trial).
``sobol-gp``    :class:`SobolGPSampler`: the Sobol start-up, then Optuna's Gaussian process with
                wide knobs rounded. Needs PyTorch; about a second per trial on two cores.
``gp``          :class:`RoundedGPSampler` with its random start-up. Needs PyTorch.
``random``      Optuna's :class:`~optuna.samplers.RandomSampler`.
``ngopt``       :class:`NevergradSampler`: Nevergrad's NGOpt (for A-Tune projects a (1+1) evolution
                strategy from the centre of the space, mutating the best so far; no random
                start-up), told every trial. Needs ``nevergrad``. Hundredths of a second per trial.
``tpe-ngopt``   :class:`InTurnsSampler`: TPE's random start-up, then TPE and NGOpt by turns of two
                trials (NGOpt first), each learning from every trial. Needs ``nevergrad``.
==============  ==================================================================================

``n_startup_trials`` counts complete trials, the baseline included, as TPE's does: with 10, the
baseline and nine design points come before the model. ``budget``, the trials the study will
have, is told to the searches that plan for one (``ngopt``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING

from optuna.samplers import RandomSampler
from optuna.samplers import TPESampler

from optuna_llm_sampler._errors import SearchError
from optuna_llm_sampler._search._gp import RoundedGPSampler
from optuna_llm_sampler._search._nevergrad import NevergradSampler
from optuna_llm_sampler._search._start import SobolGPSampler
from optuna_llm_sampler._search._start import SobolTPESampler
from optuna_llm_sampler._search._turns import InTurnsSampler


if TYPE_CHECKING:
    from optuna.samplers import BaseSampler


DEFAULT_STARTUP = 10
"""Start-up trials (the baseline included) when none is given: TPE's own default."""

DEFAULT_BUDGET = 100
"""The study's trials, for a search that plans for a budget, when none is given."""


def _sobol_tpe(seed: int | None, startup: int, budget: int) -> BaseSampler:
    return SobolTPESampler(seed=seed, n_startup_trials=startup)


def _tpe(seed: int | None, startup: int, budget: int) -> BaseSampler:
    return TPESampler(seed=seed, n_startup_trials=startup)


def _sobol_gp(seed: int | None, startup: int, budget: int) -> BaseSampler:
    return SobolGPSampler(seed=seed, n_startup_trials=startup)


def _gp(seed: int | None, startup: int, budget: int) -> BaseSampler:
    return RoundedGPSampler(seed=seed, n_startup_trials=startup)


def _random(seed: int | None, startup: int, budget: int) -> BaseSampler:
    return RandomSampler(seed=seed)


def _ngopt(seed: int | None, startup: int, budget: int) -> BaseSampler:
    return NevergradSampler("NGOpt", budget=budget, seed=seed)


def _tpe_ngopt(seed: int | None, startup: int, budget: int) -> BaseSampler:
    return InTurnsSampler(
        [TPESampler(seed=seed, n_startup_trials=startup), NevergradSampler("NGOpt", budget=budget, seed=seed)],
        n_startup_trials=startup,
    )


SEARCHES: dict[str, tuple[Callable[[int | None, int, int], BaseSampler], str]] = {
    "sobol-tpe": (_sobol_tpe, "scrambled Sobol start-up over every knob, then multivariate TPE (fast)"),
    "tpe": (_tpe, "Optuna's TPE with its random start-up (fast)"),
    "sobol-gp": (
        _sobol_gp,
        "scrambled Sobol start-up, then Optuna's Gaussian process with wide knobs rounded (PyTorch; about a second per trial)",
    ),
    "gp": (
        _gp,
        "Optuna's Gaussian process with wide knobs rounded, random start-up (PyTorch; about a second per trial)",
    ),
    "random": (_random, "uniform random search"),
    "ngopt": (
        _ngopt,
        "Nevergrad's NGOpt: a (1+1) evolution strategy from the centre of the space, no random start-up (nevergrad; fast)",
    ),
    "tpe-ngopt": (
        _tpe_ngopt,
        "TPE's random start-up, then TPE and NGOpt by turns of two trials, each learning from all (nevergrad; fast)",
    ),
}
"""Each base search by name: its factory of ``(seed, n_startup_trials, budget)`` and one line saying what it is."""

_NEEDS_TORCH = ("sobol-gp", "gp")
_NEEDS_NEVERGRAD = ("ngopt", "tpe-ngopt")

DEFAULT_SEARCH = "tpe"
"""The base search when none is named: TPE, which ``sobol-tpe`` has not been seen to beat under
LLMSampler on the recorded nginx surface (``docs/search.md``)."""


def search_names() -> tuple[str, ...]:
    """Every base search name, the default first."""
    return (DEFAULT_SEARCH, *(name for name in SEARCHES if name != DEFAULT_SEARCH))


def make_search(
    name: str = DEFAULT_SEARCH,
    *,
    seed: int | None = None,
    n_startup_trials: int | None = None,
    budget: int | None = None,
) -> BaseSampler:
    """The base search called ``name`` (see :data:`SEARCHES`).

    Args:
        name: A name of :data:`SEARCHES`; matched without regard to case.
        seed: Seed of every sampler it builds.
        n_startup_trials: Complete trials, the baseline included, before the model takes over.
            Default :data:`DEFAULT_STARTUP` (10). The ``ngopt`` search has no start-up.
        budget: The trials the study will have, the baseline included, for a search that
            plans for it (``ngopt``). Default :data:`DEFAULT_BUDGET` (100).

    Raises:
        SearchError: ``name`` is unknown, ``n_startup_trials`` is negative, ``budget`` is below 1,
            or a Gaussian-process search is asked for without PyTorch (``ngopt`` without
            nevergrad).
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in SEARCHES:
        raise SearchError(f"unknown search {name!r}; choose one of {', '.join(search_names())}")
    startup = DEFAULT_STARTUP if n_startup_trials is None else n_startup_trials
    if isinstance(startup, bool) or not isinstance(startup, int) or startup < 0:
        raise SearchError(f"search {key!r}: n_startup_trials must be a whole number >= 0, got {startup!r}")
    trials = DEFAULT_BUDGET if budget is None else budget
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise SearchError(f"search {key!r}: budget must be a whole number >= 1, got {trials!r}")
    if key in _NEEDS_TORCH and importlib.util.find_spec("torch") is None:
        raise SearchError(
            f"search {key!r} needs PyTorch (Optuna's Gaussian process): pip install torch, or choose {DEFAULT_SEARCH!r}"
        )
    if key in _NEEDS_NEVERGRAD and importlib.util.find_spec("nevergrad") is None:
        raise SearchError(f"search {key!r} needs nevergrad: pip install nevergrad, or choose {DEFAULT_SEARCH!r}")
    return SEARCHES[key][0](seed, startup, trials)
