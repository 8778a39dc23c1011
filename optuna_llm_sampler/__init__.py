"""An Optuna sampler in which a language model proposes some rounds of trials.

``from optuna_llm_sampler import LLMSampler, make_chat_model`` is the whole story for most users;
the option classes below change one thing each, and the names of the trial attributes the
sampler writes are in :mod:`optuna_llm_sampler.attrs`. Importing this package does not import
LangChain or llama.cpp; they are imported when a model is built.
"""

from __future__ import annotations

import warnings
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler import attrs
from optuna_llm_sampler._errors import ConfigError
from optuna_llm_sampler._errors import LLMSamplerError
from optuna_llm_sampler._errors import MissingCredentialError
from optuna_llm_sampler._errors import MissingDependencyError
from optuna_llm_sampler._errors import ModelCallError
from optuna_llm_sampler._errors import ModelPickleError
from optuna_llm_sampler._errors import ModelSpecError
from optuna_llm_sampler._errors import ModelTimeoutError
from optuna_llm_sampler._errors import SearchSpaceError
from optuna_llm_sampler._model._models import make_chat_model
from optuna_llm_sampler._model._output_mode import OutputMode
from optuna_llm_sampler._policy._adaptive import AdaptiveSchedule
from optuna_llm_sampler._policy._budget import ModelBudget
from optuna_llm_sampler._policy._choose import Choose
from optuna_llm_sampler._policy._presets import Preset
from optuna_llm_sampler._policy._presets import PRESETS
from optuna_llm_sampler._policy._schedule import AlternatingSchedule
from optuna_llm_sampler._policy._schedule import BindContext
from optuna_llm_sampler._policy._schedule import CallableSchedule
from optuna_llm_sampler._policy._schedule import EveryKthSchedule
from optuna_llm_sampler._policy._schedule import FirstNSchedule
from optuna_llm_sampler._policy._schedule import Schedule
from optuna_llm_sampler._policy._schedule import TrialRole
from optuna_llm_sampler._policy._screen import Screen
from optuna_llm_sampler._proposal._evidence import Evidence
from optuna_llm_sampler._proposal._prompt import PromptConfig
from optuna_llm_sampler._records._storage import sqlite_storage
from optuna_llm_sampler._search import make_search
from optuna_llm_sampler._search import NevergradSampler
from optuna_llm_sampler._search import RoundedGPSampler
from optuna_llm_sampler._search import SobolGPSampler
from optuna_llm_sampler._search import SobolSampler
from optuna_llm_sampler._search import SobolTPESampler
from optuna_llm_sampler._records._waiting import discard_waiting_proposals
from optuna_llm_sampler._records._waiting import is_discarded
from optuna_llm_sampler._sampler import LLMSampler
from optuna_llm_sampler._version import __version__


if TYPE_CHECKING:
    from optuna_llm_sampler._model._local import LocalChatModel
    from optuna_llm_sampler._model._random_model import RandomChatModel


__all__ = [
    "AdaptiveSchedule",
    "AlternatingSchedule",
    "BindContext",
    "CallableSchedule",
    "Choose",
    "ConfigError",
    "EveryKthSchedule",
    "Evidence",
    "FirstNSchedule",
    "LLMSampler",
    "LLMSamplerError",
    "LocalChatModel",
    "MissingCredentialError",
    "MissingDependencyError",
    "ModelBudget",
    "ModelCallError",
    "ModelPickleError",
    "ModelSpecError",
    "ModelTimeoutError",
    "NevergradSampler",
    "OutputMode",
    "PRESETS",
    "Preset",
    "PromptConfig",
    "RandomChatModel",
    "RoundedGPSampler",
    "Schedule",
    "Screen",
    "SearchSpaceError",
    "SobolGPSampler",
    "SobolSampler",
    "SobolTPESampler",
    "TrialRole",
    "__version__",
    "attrs",
    "discard_waiting_proposals",
    "is_discarded",
    "make_chat_model",
    "make_search",
    "sqlite_storage",
]

_FOLDED_ERRORS = (
    "BudgetConfigError",
    "ChooseConfigError",
    "EvidenceConfigError",
    "InvalidScheduleError",
    "PromptConfigError",
    "ScreenConfigError",
)
"""Per-option error classes of 0.1, folded into :class:`ConfigError` in 0.2."""

_DEPRECATED_IN = "0.2.0"
_REMOVED_IN = "0.3.0"


def __getattr__(name: str) -> Any:
    # LocalChatModel subclasses LangChain's BaseChatModel: import it only when asked for.
    if name == "LocalChatModel":
        try:
            from optuna_llm_sampler._model._local import LocalChatModel
        except ImportError as e:
            raise MissingDependencyError("LocalChatModel", "local") from e
        return LocalChatModel
    if name == "RandomChatModel":
        try:
            from optuna_llm_sampler._model._random_model import RandomChatModel
        except ImportError as e:
            raise MissingDependencyError("RandomChatModel", "llm") from e
        return RandomChatModel
    if name in _FOLDED_ERRORS:
        _deprecated(name, "optuna_llm_sampler.ConfigError")
        return ConfigError
    if name in attrs.__all__:
        _deprecated(name, f"optuna_llm_sampler.attrs.{name}")
        return getattr(attrs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _deprecated(name: str, instead: str) -> None:
    warnings.warn(
        f"optuna_llm_sampler.{name} is deprecated since v{_DEPRECATED_IN} and will be removed "
        f"in v{_REMOVED_IN}; use {instead}",
        FutureWarning,
        stacklevel=3,
    )
