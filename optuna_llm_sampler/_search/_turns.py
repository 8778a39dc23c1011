"""InTurnsSampler: several samplers proposing in turn, each learning from every trial.

A model-based search such as TPE and a local one such as Nevergrad's (1+1) evolution strategy
lead on different services: on the recorded nginx surface the local search is ahead of TPE
from trial 20, on the recorded MariaDB surface far behind it. Taking turns by blocks of trials
after TPE's start-up, each sampler reading the whole history (both read the study's trials, so
each learns from what the other proposed), keeps most of the local search's gain where it
leads and little of its loss where it does not (``docs/search.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from typing import TYPE_CHECKING

from optuna.samplers import BaseSampler

from optuna_llm_sampler._errors import SearchError


if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial
    from optuna.trial import TrialState


class InTurnsSampler(BaseSampler):
    """Samplers that propose in turn: the first the start-up trials, then blocks of trials each.

    Trials numbered below ``n_startup_trials`` go to the first sampler (TPE's random start-up,
    say). After them, blocks of ``block`` trials go to the samplers in turn, the second sampler
    first: with two samplers and blocks of two, trials 10-11 to the second, 12-13 to the first,
    and so on. The owner of a trial is a function of its number, so every worker agrees. Each
    sampler reads the study's trials when it proposes, so each learns from all of them.

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler._search import InTurnsSampler

            sampler = InTurnsSampler(
                [optuna.samplers.TPESampler(seed=0), optuna.samplers.RandomSampler(seed=0)],
                n_startup_trials=4,
            )
            study = optuna.create_study(sampler=sampler)
            study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=12)

    Args:
        samplers: Two or more samplers; the first proposes the start-up trials.
        n_startup_trials: Trial numbers below this go to the first sampler. Default 10, TPE's
            start-up (the baseline, trial 0, included).
        block: Trials per turn after the start-up. Default 2.
    """

    def __init__(self, samplers: Sequence[BaseSampler], *, n_startup_trials: int = 10, block: int = 2) -> None:
        samplers = list(samplers)
        if len(samplers) < 2 or not all(isinstance(s, BaseSampler) for s in samplers):
            raise SearchError(f"InTurnsSampler needs two or more Optuna samplers, got {samplers!r}")
        if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int) or n_startup_trials < 0:
            raise SearchError(f"InTurnsSampler: n_startup_trials must be an int >= 0, got {n_startup_trials!r}")
        if isinstance(block, bool) or not isinstance(block, int) or block < 1:
            raise SearchError(f"InTurnsSampler: block must be an int >= 1, got {block!r}")
        self.samplers = samplers
        self.block = block
        self._n_startup_trials = n_startup_trials

    def __repr__(self) -> str:
        inner = ", ".join(type(s).__name__ for s in self.samplers)
        return f"InTurnsSampler([{inner}], n_startup_trials={self._n_startup_trials}, block={self.block})"

    def owner(self, number: int) -> BaseSampler:
        """The sampler that proposes trial ``number``."""
        if number < self._n_startup_trials:
            return self.samplers[0]
        turn = (number - self._n_startup_trials) // self.block
        return self.samplers[(turn + 1) % len(self.samplers)]

    def reseed_rng(self) -> None:
        for sampler in self.samplers:
            sampler.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.owner(trial.number).infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self.owner(trial.number).sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self.owner(trial.number).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.owner(trial.number).before_trial(study, trial)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        self.owner(trial.number).after_trial(study, trial, state, values)
