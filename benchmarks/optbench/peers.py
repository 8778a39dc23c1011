"""The field's optimisers as Optuna samplers: SMAC3, HEBO and Nevergrad's NGOpt.

Each is driven by ask and tell. Before every proposal the sampler tells the optimiser every
finished trial it has not been told yet (the baseline, trial 0, first), so each optimiser
has the baseline as data before it proposes and meets the same budget as every other arm:
the run's trials, the baseline among them. A peer minimises, so a maximised objective is
told negated.

Stepped knobs reach each library as the index of their step grid (an integer knob from 64
to 4096 in steps of 64 is an integer from 0 to 63); categorical knobs as the index of their
choice, declared categorical (unordered) wherever the library has the notion; log-scaled
knobs on the library's own log scale.

Reproducible from the seed: each library gets the seed where it takes one, and every ask runs
with NumPy's and PyTorch's global generators seeded from (seed, trial number) and restored
after, since HEBO and pymoo draw from them.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import shutil
import sys
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

PACKAGES = {"smac": "smac", "hebo": "HEBO", "ngopt": "nevergrad"}
"""The package each peer needs, by arm name without its variant (as pip names it)."""

MODULES = {"smac": "smac", "hebo": "hebo", "ngopt": "nevergrad"}
"""The module each peer imports, by arm name without its variant."""

_SHOWN = {"smac": "SMAC3", "hebo": "HEBO", "ngopt": "Nevergrad"}


def version(arm: str) -> str | None:
    """The installed version of the package behind peer ``arm`` (``smac-noisy`` is SMAC3's),
    or :obj:`None` when it is absent."""
    try:
        return importlib.metadata.version(PACKAGES[arm.partition("-")[0]])
    except (KeyError, importlib.metadata.PackageNotFoundError):
        return None


def peer_label(arm: str) -> str | None:
    """How peer ``arm`` is shown in tables, with its library's version (``hebo (HEBO 0.3.6)``);
    :obj:`None` for an arm that is not a peer."""
    package = arm.partition("-")[0]
    if package not in PACKAGES:
        return None
    return f"{arm} ({_SHOWN[package]} {version(arm) or 'not installed'})"


# --------------------------------------------------------------------------- knobs


@dataclass(frozen=True)
class Knob:
    """How one Optuna distribution is spelt for a peer.

    ``kind`` is ``"choice"`` (the index of a categorical choice), ``"grid"`` (the index of a
    step on a stepped grid), ``"log-int"``, ``"log-float"`` or ``"float"``; ``size`` is the
    number of choices or steps for the first two.
    """

    name: str
    dist: BaseDistribution
    kind: str
    size: int = 0

    def encode(self, value: Any) -> Any:
        """An Optuna value as the peer sees it."""
        d = self.dist
        if self.kind == "choice":
            assert isinstance(d, CategoricalDistribution)
            return int(d.to_internal_repr(value))
        if self.kind == "grid":
            assert isinstance(d, (IntDistribution, FloatDistribution)) and d.step is not None
            return int(round((float(value) - d.low) / d.step))
        if self.kind == "log-int":
            return int(value)
        return float(value)

    def decode(self, point: Any) -> Any:
        """A peer's value as an Optuna value inside the distribution."""
        d = self.dist
        if self.kind == "choice":
            assert isinstance(d, CategoricalDistribution)
            return d.choices[min(max(int(round(float(point))), 0), self.size - 1)]
        assert isinstance(d, (IntDistribution, FloatDistribution))
        if self.kind == "grid":
            assert d.step is not None
            index = min(max(int(round(float(point))), 0), self.size - 1)
            value = d.low + index * d.step
            return int(value) if isinstance(d, IntDistribution) else float(min(value, d.high))
        value = min(max(float(point), d.low), d.high)
        return int(round(value)) if isinstance(d, IntDistribution) else value


def knobs_of(space: Mapping[str, BaseDistribution]) -> list[Knob]:
    """Each distribution of ``space`` as a :class:`Knob`."""
    out = []
    for name, d in space.items():
        if isinstance(d, CategoricalDistribution):
            out.append(Knob(name, d, "choice", len(d.choices)))
        elif isinstance(d, (IntDistribution, FloatDistribution)) and d.log:
            out.append(Knob(name, d, "log-int" if isinstance(d, IntDistribution) else "log-float"))
        elif isinstance(d, (IntDistribution, FloatDistribution)) and d.step is not None:
            out.append(Knob(name, d, "grid", int(round((d.high - d.low) / d.step)) + 1))
        elif isinstance(d, FloatDistribution):
            out.append(Knob(name, d, "float"))
        else:
            raise TypeError(f"unsupported distribution {d!r} for {name!r}")
    return out


@contextlib.contextmanager
def seeded_globals(seed: int, number: int) -> Iterator[None]:
    """NumPy's and (if loaded) PyTorch's global generators seeded from ``(seed, number)``, and
    ``numpy.random.default_rng()`` without a seed drawing its seed from the former; all restored after.

    pymoo (HEBO's acquisition optimiser) builds ``default_rng(None)`` when given no seed, and
    HEBO gives none: without this its proposals would differ between two runs of one seed.
    """
    state = np.random.get_state()
    derived = int(np.random.SeedSequence([seed, number]).generate_state(1)[0])
    np.random.seed(derived)
    default_rng = np.random.default_rng

    def seeded_default_rng(seed: Any = None) -> np.random.Generator:
        return default_rng(np.random.randint(2**31) if seed is None else seed)

    np.random.default_rng = seeded_default_rng
    torch = sys.modules.get("torch")
    try:
        with torch.random.fork_rng(devices=[]) if torch is not None else contextlib.nullcontext():
            if torch is not None:
                torch.manual_seed(derived)
            yield
    finally:
        np.random.default_rng = default_rng
        np.random.set_state(state)


# --------------------------------------------------------------------------- ask and tell


class AskTellSampler(BaseSampler):
    """An ask-and-tell optimiser of another library as an Optuna sampler (one knob space per study).

    Subclasses build the optimiser for a space (:meth:`_start`), tell it one finished trial
    (:meth:`_tell`, as a loss to minimise) and ask it for one configuration (:meth:`_ask`).
    Knobs with a single value, and knobs outside the space every trial shares, go to a
    seeded :class:`~optuna.samplers.RandomSampler`.
    """

    def __init__(self, seed: int, trials: int) -> None:
        self._seed = seed
        self._trials = trials
        self._space: dict[str, BaseDistribution] | None = None
        self._knobs: list[Knob] = []
        self._told: set[int] = set()
        self._fallback = RandomSampler(seed=seed)
        self._intersection = IntersectionSearchSpace()

    def reseed_rng(self) -> None:
        self._fallback.reseed_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {n: d for n, d in self._intersection.calculate(study).items() if not d.single()}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space:
            return {}
        if self._space != search_space:
            self._space = dict(search_space)
            self._knobs = knobs_of(search_space)
            self._told = set()
            self._start()
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        with seeded_globals(self._seed, trial.number):
            for past in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                if past.number in self._told or not all(k.name in past.params for k in self._knobs):
                    continue
                self._tell(past.number, {k.name: k.encode(past.params[k.name]) for k in self._knobs},
                           sign * float(past.value))
                self._told.add(past.number)
            point = self._ask(trial.number)
        return {k.name: k.decode(point[k.name]) for k in self._knobs}

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    def _start(self) -> None:
        raise NotImplementedError

    def _tell(self, number: int, point: dict[str, Any], loss: float) -> None:
        raise NotImplementedError

    def _ask(self, number: int) -> dict[str, Any]:
        raise NotImplementedError


# --------------------------------------------------------------------------- SMAC3


def _not_called(config: Any, seed: int = 0) -> float:
    raise RuntimeError("SMAC is driven by ask and tell here; its target function is never called")


class SMACSampler(AskTellSampler):
    """SMAC3's hyperparameter-optimisation facade at its defaults (a random forest on
    log-scaled costs, log EI maximised by local and random search, a Sobol initial design of a
    quarter of the trials, one configuration in five drawn at random), with the run's trials
    as ``n_trials``.

    ``deterministic=True`` (the default here) measures each configuration once, as every
    other arm does. With :obj:`False`, SMAC's own default for noisy objectives, its
    intensifier spends trials measuring the incumbent again (up to three times, the baseline
    first), which the benchmark's incumbent, the best single measurement, does not use. Its
    output folder is a temporary one, removed with the sampler.
    """

    def __init__(self, seed: int, trials: int, *, deterministic: bool = True) -> None:
        super().__init__(seed, trials)
        self._deterministic = deterministic

    def _start(self) -> None:
        from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer
        from smac import HyperparameterOptimizationFacade, Scenario

        space = ConfigurationSpace(seed=self._seed)
        for k in self._knobs:
            d = k.dist
            if k.kind == "choice":
                space.add(Categorical(k.name, list(range(k.size))))
            elif k.kind == "grid":
                space.add(Integer(k.name, (0, k.size - 1)))
            else:
                assert isinstance(d, (IntDistribution, FloatDistribution))
                kind = Integer if k.kind == "log-int" else Float
                space.add(kind(k.name, (d.low, d.high), log=k.kind.startswith("log")))
        folder = tempfile.mkdtemp(prefix="smac-")
        weakref.finalize(self, shutil.rmtree, folder, True)
        scenario = Scenario(space, n_trials=self._trials, seed=self._seed, output_directory=Path(folder),
                            deterministic=self._deterministic)
        self._smac = HyperparameterOptimizationFacade(scenario, _not_called, overwrite=True, logging_level=40)
        self._asked: dict[int, Any] = {}
        self._configspace = space

    def _tell(self, number: int, point: dict[str, Any], loss: float) -> None:
        from ConfigSpace import Configuration
        from smac.runhistory import TrialInfo, TrialValue

        info = self._asked.pop(number, None)
        if info is None:  # not asked of SMAC (the baseline): told with the seed its own trials use
            info = TrialInfo(Configuration(self._configspace, values=point), seed=self._first_seed())
        self._smac.tell(info, TrialValue(cost=loss))

    def _first_seed(self) -> int:
        """The first seed SMAC's intensifier runs configurations with; before its first ask it
        has none, and takes the seed of what it is told (0 here) as its first."""
        try:
            return int(self._smac.intensifier.get_instance_seed_keys_of_interest()[0].seed)
        except RuntimeError:
            return 0

    def _ask(self, number: int) -> dict[str, Any]:
        info = self._smac.ask()
        self._asked[number] = info
        return dict(info.config)


# --------------------------------------------------------------------------- HEBO


class HEBOSampler(AskTellSampler):
    """HEBO at its defaults: a scrambled Sobol start of one plus the number of knobs (seeded),
    then a GP with input warping and fitted noise on power-transformed values, and the MACE
    ensemble of acquisitions optimised by NSGA-II."""

    def _start(self) -> None:
        import pandas as pd
        from hebo.design_space.design_space import DesignSpace
        from hebo.optimizers.hebo import HEBO

        specs: list[dict[str, Any]] = []
        for k in self._knobs:
            d = k.dist
            if k.kind == "choice":
                specs.append({"name": k.name, "type": "cat", "categories": list(range(k.size))})
            elif k.kind == "grid":
                specs.append({"name": k.name, "type": "int", "lb": 0, "ub": k.size - 1})
            else:
                assert isinstance(d, (IntDistribution, FloatDistribution))
                kind = {"log-int": "pow_int", "log-float": "pow", "float": "num"}[k.kind]
                specs.append({"name": k.name, "type": kind, "lb": d.low, "ub": d.high})
        self._hebo = HEBO(DesignSpace().parse(specs), scramble_seed=self._seed)
        self._frame = pd.DataFrame

    def _tell(self, number: int, point: dict[str, Any], loss: float) -> None:
        self._hebo.observe(self._frame([point]), np.array([[loss]], dtype=float))

    def _ask(self, number: int) -> dict[str, Any]:
        with contextlib.redirect_stdout(io.StringIO()):  # its GP prints each jitter it tries
            return self._hebo.suggest(n_suggestions=1).iloc[0].to_dict()


# --------------------------------------------------------------------------- Nevergrad


class NGOptSampler(AskTellSampler):
    """Nevergrad's NGOpt, the wizard that picks an algorithm from the budget, the dimension and
    the knobs' types, with the run's trials as its budget; categorical knobs are ``Choice``."""

    def _start(self) -> None:
        import nevergrad as ng

        params: dict[str, Any] = {}
        for k in self._knobs:
            d = k.dist
            if k.kind == "choice":
                params[k.name] = ng.p.Choice(list(range(k.size)))
            elif k.kind == "grid":
                params[k.name] = ng.p.Scalar(lower=0, upper=k.size - 1).set_integer_casting()
            else:
                assert isinstance(d, (IntDistribution, FloatDistribution))
                p = (ng.p.Log if k.kind.startswith("log") else ng.p.Scalar)(lower=d.low, upper=d.high)
                params[k.name] = p.set_integer_casting() if k.kind == "log-int" else p
        parametrization = ng.p.Dict(**params)
        parametrization.random_state = np.random.RandomState(self._seed)
        self._ng = ng.optimizers.NGOpt(parametrization=parametrization, budget=self._trials, num_workers=1)
        self._asked: dict[int, Any] = {}

    def _tell(self, number: int, point: dict[str, Any], loss: float) -> None:
        candidate = self._asked.pop(number, None)
        if candidate is None:  # not asked of NGOpt (the baseline)
            candidate = self._ng.parametrization.spawn_child(new_value=point)
        self._ng.tell(candidate, loss)

    def _ask(self, number: int) -> dict[str, Any]:
        candidate = self._ng.ask()
        self._asked[number] = candidate
        return dict(candidate.value)
