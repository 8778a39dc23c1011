"""StartupSampler: one sampler for a study's first trials, another for the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from typing import TYPE_CHECKING

from optuna.samplers import BaseSampler
from optuna.trial import TrialState


if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial


class StartupSampler(BaseSampler):
    """Sampler that hands a study's first trials to ``startup`` and the rest to ``then``.

    While the study has fewer than ``n_startup_trials`` complete trials (the baseline and any
    configuration proposed by someone else count, as they do for TPE's own start-up), trials
    go to ``startup``; after, to ``then``, which learns from every trial. Give ``then`` no
    start-up of its own (``TPESampler(n_startup_trials=0)``).

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import SobolSampler, StartupSampler

            sampler = StartupSampler(
                SobolSampler(seed=0),
                optuna.samplers.TPESampler(seed=0, n_startup_trials=0),
                n_startup_trials=8,
            )

    Args:
        startup:
            The sampler of the first trials, typically a space-filling design.
        then:
            The sampler of the rest, typically a model of the objective.
        n_startup_trials:
            Complete trials before ``then`` takes over. Read by LLMSampler's default
            :class:`~optuna_llm_sampler.AdaptiveSchedule` as the base sampler's start-up.
    """

    def __init__(self, startup: BaseSampler, then: BaseSampler, *, n_startup_trials: int) -> None:
        if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int) or n_startup_trials < 0:
            raise ValueError(f"n_startup_trials must be a whole number >= 0, got {n_startup_trials!r}")
        self._startup = startup
        self._then = then
        self._n_startup_trials = n_startup_trials

    def __repr__(self) -> str:
        return (
            f"StartupSampler({type(self._startup).__name__}, {type(self._then).__name__}, "
            f"n_startup_trials={self._n_startup_trials})"
        )

    @property
    def startup(self) -> BaseSampler:
        """The sampler of the first trials."""
        return self._startup

    @property
    def then(self) -> BaseSampler:
        """The sampler of the trials after the start-up."""
        return self._then

    def _active(self, study: Study) -> BaseSampler:
        done = study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,), use_cache=True)
        return self._startup if len(done) < self._n_startup_trials else self._then

    def reseed_rng(self) -> None:
        self._startup.reseed_rng()
        self._then.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._active(study).infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._active(study).sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._active(study).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._startup.before_trial(study, trial)
        self._then.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._startup.after_trial(study, trial, state, values)
        self._then.after_trial(study, trial, state, values)
