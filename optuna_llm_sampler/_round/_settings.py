"""RoundSettings: everything a model round needs from the sampler that owns it."""

from __future__ import annotations

import dataclasses
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._model._pickling import portable_model
from optuna_llm_sampler._model._pickling import restore_model


if TYPE_CHECKING:
    from optuna.artifacts._protocol import ArtifactStore
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler

    from optuna_llm_sampler._model._output_mode import OutputModes
    from optuna_llm_sampler._policy._budget import ModelBudget
    from optuna_llm_sampler._policy._choose import Choose
    from optuna_llm_sampler._policy._screen import Screen
    from optuna_llm_sampler._proposal._evidence import Evidence
    from optuna_llm_sampler._proposal._prompt import PromptBuilder
    from optuna_llm_sampler._proposal._prompt import PromptConfig


@dataclasses.dataclass
class RoundSettings:
    """The model, the base sampler and the options of the sampler whose rounds these are.

    Pickles (Ray Tune pickles the sampler) with a model that holds live clients carried as the
    spec :func:`~optuna_llm_sampler.make_chat_model` built it from.
    """

    llm: Any
    base: BaseSampler
    output: OutputModes
    builder: PromptBuilder
    config: PromptConfig
    model_name: str
    timeout: float | None
    search_space: dict[str, BaseDistribution] | None
    baseline: bool
    """Whether trial 0 is the baseline (the sampler was given one)."""
    budget: ModelBudget | None = None
    screen: Screen | None = None
    evidence: Evidence | None = None
    choose: Choose | None = None
    artifact_store: ArtifactStore | None = None

    @property
    def base_name(self) -> str:
        return type(self.base).__name__

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["llm"] = portable_model(self.llm)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state["llm"] = restore_model(state["llm"])
        self.__dict__.update(state)
