"""SobolTPESampler and SobolGPSampler: Optuna's TPE and Gaussian process, started from a Sobol design.

TPE and GPSampler begin with ``n_startup_trials`` random draws. Here those trials take the
points of one scrambled Sobol sequence instead (:class:`SobolSampler`: every knob, categorical
ones included, stratified), and the model learns from them, the baseline and anything else
the study holds as before. Each is the Optuna sampler it is named after in everything else:
its arguments, its model, ``isinstance`` checks.
"""

from __future__ import annotations

from typing import Any
from typing import TYPE_CHECKING

from optuna.samplers import TPESampler
from optuna.trial import TrialState

from optuna_llm_sampler._search._gp import RoundedGPSampler
from optuna_llm_sampler._search._sobol import SobolSampler


if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial


class _SobolStart:
    """The start-up of a sampler with ``_n_startup_trials``: points of a Sobol design.

    Complete and pruned trials count towards the start-up, as they do for TPE's own.
    """

    _n_startup_trials: int
    _design: SobolSampler

    def _in_startup(self, study: Study) -> bool:
        states = (TrialState.COMPLETE, TrialState.PRUNED)
        done = study._get_trials(deepcopy=False, states=states, use_cache=True)
        return len(done) < self._n_startup_trials

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if self._in_startup(study):
            return self._design.infer_relative_search_space(study, trial)
        return super().infer_relative_search_space(study, trial)  # type: ignore[misc]

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if self._in_startup(study):
            return self._design.sample_relative(study, trial, search_space)
        return super().sample_relative(study, trial, search_space)  # type: ignore[misc]


class SobolTPESampler(_SobolStart, TPESampler):
    """Optuna's :class:`~optuna.samplers.TPESampler` whose start-up trials are a scrambled
    Sobol design rather than random draws.

    The first ``n_startup_trials`` complete trials (an enqueued baseline, and configurations
    a model wrote, count among them, as for TPE) come from a :class:`SobolSampler` over the
    knobs the finished trials share: every knob's range, categorical ones included, is covered
    in equal slices. Then TPE proposes from everything the study holds. Every other argument is
    TPESampler's, at its defaults (multivariate in Optuna 5). A knob outside the shared space
    is drawn at random in the start-up.

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import SobolTPESampler

            study = optuna.create_study(sampler=SobolTPESampler(seed=0))
            study.enqueue_trial({"workers": 1, "gzip": "on"})  # the baseline: trial 0
            study.optimize(
                lambda t: t.suggest_int("workers", 1, 8) * (t.suggest_categorical("gzip", ["on", "off"]) == "off"),
                n_trials=20,
            )

    Args:
        seed:
            Seed of the design's scrambling and of TPE.
        n_startup_trials:
            Complete trials before TPE takes over, the baseline included. Default 10, TPE's:
            with a baseline, nine design points.
        kwargs:
            TPESampler's other arguments.
    """

    def __init__(self, *, seed: int | None = None, n_startup_trials: int = 10, **kwargs: Any) -> None:
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, **kwargs)
        self._design = SobolSampler(seed=seed)

    def reseed_rng(self) -> None:
        super().reseed_rng()
        self._design.reseed_rng()


class SobolGPSampler(_SobolStart, RoundedGPSampler):
    """:class:`RoundedGPSampler` (Optuna's Gaussian process, wide knobs rounded) whose start-up
    trials are a scrambled Sobol design rather than random draws.

    The first ``n_startup_trials`` complete trials, the baseline included, come from a
    :class:`SobolSampler`; then the Gaussian process proposes. It needs PyTorch, and costs about
    a second per trial on two cores where TPE costs a hundredth: for benchmarks lasting seconds
    to minutes.

    Args:
        seed:
            Seed of the design's scrambling and of the Gaussian process.
        n_startup_trials:
            Complete trials before the Gaussian process takes over, the baseline included.
            Default 10.
        kwargs:
            RoundedGPSampler's and GPSampler's other arguments.
    """

    def __init__(self, *, seed: int | None = None, n_startup_trials: int = 10, **kwargs: Any) -> None:
        kwargs.setdefault("warn_independent_sampling", False)
        super().__init__(seed=seed, n_startup_trials=n_startup_trials, **kwargs)
        self._design = SobolSampler(seed=seed)

    def reseed_rng(self) -> None:
        super().reseed_rng()
        self._design.reseed_rng()
