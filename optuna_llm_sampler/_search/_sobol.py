"""SobolSampler: a scrambled Sobol design over the whole space, categorical knobs included.

Random draws leave gaps and clumps: nine uniform draws over a three-level knob miss one level
in about one study in twenty, and over fourteen knobs some of them land on the same side of
nearly every knob. A scrambled Sobol sequence is stratified: its first ``2**m`` points split
every knob's range into ``2**m`` equal slices and put one point in each, and so do their
projections onto every pair of knobs as far as the sequence allows. Optuna's
:class:`~optuna.samplers.QMCSampler` leaves categorical knobs to an independent random
sampler; here a categorical knob with ``k`` choices takes the choice ``floor(u * k)`` of its
Sobol coordinate ``u``, so its choices are stratified too, and a stepped knob takes the step
``floor(u * n)`` of its ``n`` steps.
"""

from __future__ import annotations

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


if TYPE_CHECKING:
    from collections.abc import Mapping

    from optuna.study import Study
    from optuna.trial import FrozenTrial


DESIGN_INDEX_KEY = "optuna_llm_sampler:sobol_index"
"""The trial system attribute holding which point of the design a trial took."""

_lock = threading.Lock()  # scipy's Sobol engine is not safe to build from several threads


class SobolSampler(BaseSampler):
    """Sampler that takes the points of one scrambled Sobol sequence in turn, every knob stratified.

    Each trial it samples takes the next point of the sequence (the point's number is kept on
    the trial as the system attribute ``optuna_llm_sampler:sobol_index``, so trials proposed
    by someone else, such as an enqueued baseline or a model's configuration, do not use up a
    point, and workers sharing a storage continue one sequence). The space is the one given,
    or else the knobs every finished trial shares: the first trial of a study without a
    given space or an enqueued baseline is drawn at random.

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import SobolSampler

            space = {"workers": optuna.distributions.IntDistribution(1, 8),
                     "gzip": optuna.distributions.CategoricalDistribution(["on", "off"])}
            study = optuna.create_study(sampler=SobolSampler(seed=0, search_space=space))
            study.optimize(lambda t: t.suggest_int("workers", 1, 8)
                           + (t.suggest_categorical("gzip", ["on", "off"]) == "off"), n_trials=8)

    Args:
        seed:
            Seed of the scrambling (and of the random fallback). Default :obj:`None`: a fresh
            one, fixed for the sampler's life.
        search_space:
            The knobs to design over from the first trial on. Default: the knobs every
            finished trial of the study shares.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        search_space: Mapping[str, BaseDistribution] | None = None,
    ) -> None:
        self._seed = int(np.random.SeedSequence(seed).entropy % (2**32))  # type: ignore[operator]
        self._search_space = dict(search_space) if search_space is not None else None
        self._intersection = IntersectionSearchSpace()
        self._fallback = RandomSampler(seed=seed)
        self._points: dict[tuple[str, ...], np.ndarray] = {}

    def reseed_rng(self) -> None:
        self._fallback.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        space = self._search_space
        if space is None:
            space = self._intersection.calculate(study)
        return {name: d for name, d in space.items() if not d.single()}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        index = next_design_index(study, trial)
        study._storage.set_trial_system_attr(trial._trial_id, DESIGN_INDEX_KEY, index)
        point = self.point(search_space, index)
        return {name: value_at(d, u) for (name, d), u in zip(search_space.items(), point)}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    def point(self, search_space: Mapping[str, BaseDistribution], index: int) -> np.ndarray:
        """Point ``index`` of the sequence over ``search_space``'s knobs, in ``[0, 1)`` each."""
        from scipy.stats import qmc

        key = tuple(search_space)
        points = self._points.get(key)
        if points is None or len(points) <= index:
            m = max(4, math.ceil(math.log2(index + 1)))
            with _lock:
                engine = qmc.Sobol(len(key), scramble=True, seed=self._seed)
                points = engine.random_base2(m)
            self._points[key] = points
        return points[index]


def next_design_index(study: Study, trial: FrozenTrial) -> int:
    """One past the highest design point any trial of ``study`` took (0 for the first).

    ``trial``'s own point counts as taken too, read from storage: a second draw for the same
    trial (the candidates LLMSampler's ``Choose`` asks for) takes the next point, not the
    same one again.
    """
    own = study._storage.get_trial_system_attrs(trial._trial_id).get(DESIGN_INDEX_KEY, -1)
    taken = [
        t.system_attrs[DESIGN_INDEX_KEY]
        for t in study.get_trials(deepcopy=False)
        if t.number != trial.number and DESIGN_INDEX_KEY in t.system_attrs
    ]
    return max([own, *taken]) + 1


def value_at(dist: BaseDistribution, u: float) -> Any:
    """The value of ``dist`` at ``u`` in ``[0, 1)``: equal slices of ``[0, 1)`` for a choice or a
    step, the log scale for a log knob, and the linear one otherwise."""
    u = min(max(float(u), 0.0), math.nextafter(1.0, 0.0))
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(u * len(dist.choices))]
    if isinstance(dist, IntDistribution):
        if dist.log:
            low, high = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
            return min(max(int(round(math.exp(low + u * (high - low)))), dist.low), dist.high)
        steps = (dist.high - dist.low) // dist.step + 1
        return dist.low + int(u * steps) * dist.step
    if isinstance(dist, FloatDistribution):
        if dist.log:
            low, high = math.log(dist.low), math.log(dist.high)
            return min(max(math.exp(low + u * (high - low)), dist.low), dist.high)
        if dist.step is not None:
            steps = int(round((dist.high - dist.low) / dist.step)) + 1
            return min(dist.low + int(u * steps) * dist.step, dist.high)
        return dist.low + u * (dist.high - dist.low)
    raise TypeError(f"SobolSampler cannot sample {dist!r}")
