"""NevergradSampler: a Nevergrad optimiser (NGOpt by default) as an Optuna sampler.

Nevergrad's ``NGOpt`` picks an algorithm from the budget, the number of knobs and their
types; for the spaces of A-Tune projects (a dozen or more knobs, many categorical or stepped,
tens of trials) it picks ``DiscreteBSOOnePlusOne``, a (1+1) evolution strategy that starts
at the centre of the space and mutates a few knobs of the best configuration so far. It
has no random start-up: it searches from its first trial.

The optimiser is driven by ask and tell. Before each proposal it is told every finished trial
it has not been told yet, whoever proposed it (the baseline, a model's configuration, a
trial of an earlier process on the same storage), so a resumed study or a second worker
rebuilds the same knowledge from storage. Stepped knobs reach it as the index of their step,
categorical knobs as a choice among their indices, log-scaled knobs on a log scale.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from typing import Any
from typing import TYPE_CHECKING

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.samplers import BaseSampler
from optuna.samplers import RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_llm_sampler._errors import SearchError


if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial


def _steps(dist: IntDistribution | FloatDistribution) -> int:
    assert dist.step is not None
    return int(round((dist.high - dist.low) / dist.step)) + 1


class NevergradSampler(BaseSampler):
    """Sampler that asks a Nevergrad optimiser (``NGOpt`` by default) for each trial.

    Every finished trial of the study, whoever proposed it, is told to the optimiser before
    it proposes; a maximised objective is told negated. Knobs outside the space all finished
    trials share, and the first trial of a study with no finished trial, are drawn at random.
    Needs the ``nevergrad`` package (``pip install nevergrad``).

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import NevergradSampler

            study = optuna.create_study(sampler=NevergradSampler(budget=20, seed=0))
            study.enqueue_trial({"workers": 1, "gzip": "on"})  # the baseline: trial 0
            study.optimize(
                lambda t: t.suggest_int("workers", 1, 8) * (t.suggest_categorical("gzip", ["on", "off"]) == "off"),
                n_trials=20,
            )

    Args:
        optimizer: The name of a Nevergrad optimiser (``ng.optimizers.registry``).
        budget: The trials the optimiser is told it will get, the baseline included; NGOpt
            chooses its algorithm from it. Set it to the study's trials where known.
        seed: Seed of the optimiser and of the random draws.
        num_workers: Trials that run at once (Nevergrad adapts some algorithms to it).

    Raises:
        SearchError: ``nevergrad`` is not installed, ``optimizer`` is not one of its
            optimisers, or ``budget``/``num_workers`` is not a whole number of at least 1.
    """

    def __init__(
        self, optimizer: str = "NGOpt", *, budget: int = 100, seed: int | None = None, num_workers: int = 1
    ) -> None:
        if importlib.util.find_spec("nevergrad") is None:
            raise SearchError("NevergradSampler needs the nevergrad package: pip install nevergrad")
        import nevergrad as ng

        if optimizer not in ng.optimizers.registry:
            raise SearchError(f"unknown Nevergrad optimizer {optimizer!r}; e.g. NGOpt, DiscreteOnePlusOne, CMA")
        for name, value in (("budget", budget), ("num_workers", num_workers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SearchError(f"NevergradSampler: {name} must be a whole number >= 1, got {value!r}")
        self._optimizer_name = optimizer
        self._budget = budget
        self._num_workers = num_workers
        self._seed = seed
        self._rng = np.random.RandomState(seed)
        self._random = RandomSampler(seed=seed)
        self._intersection = IntersectionSearchSpace()
        self._lock = threading.Lock()
        self._studies: dict[tuple[int, int], _Search] = {}

    def reseed_rng(self) -> None:
        self._random.reseed_rng()
        self._rng = np.random.RandomState()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {n: d for n, d in self._intersection.calculate(study).items() if not d.single()}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        key = (id(study._storage), study._study_id)
        with self._lock:
            search = self._studies.get(key)
            if search is None or search.space != search_space:
                search = _Search(
                    search_space, self._optimizer_name, self._budget, self._num_workers, self._rng.randint(2**31)
                )
                self._studies[key] = search
            sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
            for past in study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,), use_cache=True):
                if past.number not in search.told and past.values is not None:
                    search.tell(past.number, past.params, sign * float(past.values[0]))
            return search.ask(trial.number)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._random.sample_independent(study, trial, param_name, param_distribution)


class _Search:
    """One study's optimiser over one space: the knobs encoded, the candidates asked by trial."""

    def __init__(
        self, space: dict[str, BaseDistribution], optimizer: str, budget: int, num_workers: int, seed: int
    ) -> None:
        import nevergrad as ng

        self.space = dict(space)
        self.told: set[int] = set()
        self._asked: dict[int, Any] = {}
        params: dict[str, Any] = {}
        for name, d in self.space.items():
            if isinstance(d, CategoricalDistribution):
                params[name] = ng.p.Choice(list(range(len(d.choices))))
            elif isinstance(d, (IntDistribution, FloatDistribution)) and d.log:
                p = ng.p.Log(lower=float(d.low), upper=float(d.high))
                params[name] = p.set_integer_casting() if isinstance(d, IntDistribution) else p
            elif isinstance(d, (IntDistribution, FloatDistribution)) and d.step is not None:
                params[name] = ng.p.Scalar(lower=0, upper=_steps(d) - 1).set_integer_casting()
            elif isinstance(d, FloatDistribution):
                params[name] = ng.p.Scalar(lower=d.low, upper=d.high)
            else:
                raise SearchError(f"NevergradSampler: unsupported distribution {d!r} for {name!r}")
        parametrization = ng.p.Dict(**params)
        parametrization.random_state = np.random.RandomState(seed)
        self._ng = ng.optimizers.registry[optimizer](
            parametrization=parametrization, budget=budget, num_workers=num_workers
        )

    def tell(self, number: int, params: dict[str, Any], loss: float) -> None:
        self.told.add(number)
        if not all(name in params for name in self.space) or not math.isfinite(loss):
            return
        candidate = self._asked.pop(number, None)
        if candidate is None or self.decode(candidate) != {name: params[name] for name in self.space}:
            # Proposed by someone else (the baseline, the model, another process), or the trial
            # ran another of the candidates asked for it (a model round that picks among them).
            value = {name: self._encode(d, params[name]) for name, d in self.space.items()}
            candidate = self._ng.parametrization.spawn_child(new_value=value)
        self._ng.tell(candidate, loss)

    def ask(self, number: int) -> dict[str, Any]:
        candidate = self._ng.ask()
        self._asked[number] = candidate
        return self.decode(candidate)

    def decode(self, candidate: Any) -> dict[str, Any]:
        """The trial parameters of a Nevergrad candidate."""
        return {name: self._decode(d, candidate.value[name]) for name, d in self.space.items()}

    @staticmethod
    def _encode(d: BaseDistribution, value: Any) -> Any:
        if isinstance(d, CategoricalDistribution):
            return int(d.to_internal_repr(value))
        assert isinstance(d, (IntDistribution, FloatDistribution))
        if not d.log and d.step is not None:
            return int(round((float(value) - d.low) / d.step))
        return int(value) if isinstance(d, IntDistribution) else float(value)

    @staticmethod
    def _decode(d: BaseDistribution, point: Any) -> Any:
        if isinstance(d, CategoricalDistribution):
            return d.choices[min(max(int(round(float(point))), 0), len(d.choices) - 1)]
        assert isinstance(d, (IntDistribution, FloatDistribution))
        if not d.log and d.step is not None:
            index = min(max(int(round(float(point))), 0), _steps(d) - 1)
            value = d.low + index * d.step
            return int(value) if isinstance(d, IntDistribution) else float(min(value, d.high))
        value = min(max(float(point), d.low), d.high)
        return int(round(value)) if isinstance(d, IntDistribution) else value
