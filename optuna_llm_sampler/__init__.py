"""An Optuna sampler in which a language model proposes some rounds of trials.

``from optuna_llm_sampler import LLMSampler, make_chat_model`` is the whole story for most users.
Importing this package does not import LangChain or llama.cpp; they are imported when a model is
built.
"""

from __future__ import annotations

from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._records._attrs import ATTR_CHOICE
from optuna_llm_sampler._records._attrs import ATTR_ARTIFACTS
from optuna_llm_sampler._records._attrs import ATTR_DISCARDED
from optuna_llm_sampler._records._attrs import ATTR_ERROR
from optuna_llm_sampler._records._attrs import ATTR_EVIDENCE_CHARS
from optuna_llm_sampler._records._attrs import ATTR_FAIL_REASON
from optuna_llm_sampler._records._attrs import ATTR_LATENCY
from optuna_llm_sampler._records._attrs import ATTR_MODEL
from optuna_llm_sampler._records._attrs import ATTR_NOTE
from optuna_llm_sampler._records._attrs import ATTR_OUTPUT_MODE
from optuna_llm_sampler._records._attrs import ATTR_PREFETCH
from optuna_llm_sampler._records._attrs import ATTR_PROMPT_CHARS
from optuna_llm_sampler._records._attrs import ATTR_PROPOSED_BY
from optuna_llm_sampler._records._attrs import ATTR_RATIONALE
from optuna_llm_sampler._records._attrs import ATTR_RAW_REPLY
from optuna_llm_sampler._records._attrs import ATTR_REPAIRS
from optuna_llm_sampler._records._attrs import ATTR_ROUND
from optuna_llm_sampler._records._attrs import ATTR_SCREEN
from optuna_llm_sampler._records._attrs import ATTR_SHARE
from optuna_llm_sampler._records._attrs import ATTR_SOURCE
from optuna_llm_sampler._records._attrs import ATTR_VET
from optuna_llm_sampler._records._attrs import SOURCE_BASELINE
from optuna_llm_sampler._records._attrs import SOURCE_ENQUEUED
from optuna_llm_sampler._records._attrs import SOURCE_LLM
from optuna_llm_sampler._policy._adaptive import AdaptiveSchedule
from optuna_llm_sampler._policy._budget import ModelBudget
from optuna_llm_sampler._errors import BudgetConfigError
from optuna_llm_sampler._errors import ChooseConfigError
from optuna_llm_sampler._errors import EvidenceConfigError
from optuna_llm_sampler._errors import InvalidScheduleError
from optuna_llm_sampler._errors import LLMSamplerError
from optuna_llm_sampler._errors import MissingCredentialError
from optuna_llm_sampler._errors import MissingDependencyError
from optuna_llm_sampler._errors import ModelCallError
from optuna_llm_sampler._errors import ModelPickleError
from optuna_llm_sampler._errors import ModelSpecError
from optuna_llm_sampler._errors import ModelTimeoutError
from optuna_llm_sampler._errors import PromptConfigError
from optuna_llm_sampler._errors import ScreenConfigError
from optuna_llm_sampler._errors import SearchSpaceError
from optuna_llm_sampler._policy._choose import Choose
from optuna_llm_sampler._proposal._evidence import Evidence
from optuna_llm_sampler._model._models import make_chat_model
from optuna_llm_sampler._model._output_mode import OutputMode
from optuna_llm_sampler._proposal._prompt import PromptConfig
from optuna_llm_sampler._sampler import LLMSampler
from optuna_llm_sampler._policy._schedule import AlternatingSchedule
from optuna_llm_sampler._policy._schedule import CallableSchedule
from optuna_llm_sampler._policy._schedule import EveryKthSchedule
from optuna_llm_sampler._policy._schedule import FirstNSchedule
from optuna_llm_sampler._policy._schedule import Schedule
from optuna_llm_sampler._policy._schedule import TrialRole
from optuna_llm_sampler._policy._screen import Screen
from optuna_llm_sampler._records._storage import sqlite_storage
from optuna_llm_sampler._records._waiting import discard_waiting_proposals
from optuna_llm_sampler._records._waiting import is_discarded


if TYPE_CHECKING:
    from optuna_llm_sampler._model._local import LocalChatModel
    from optuna_llm_sampler._model._random_model import RandomChatModel


__all__ = [
    "ATTR_CHOICE",
    "ATTR_ARTIFACTS",
    "ATTR_DISCARDED",
    "ATTR_ERROR",
    "ATTR_EVIDENCE_CHARS",
    "ATTR_FAIL_REASON",
    "ATTR_LATENCY",
    "ATTR_MODEL",
    "ATTR_NOTE",
    "ATTR_OUTPUT_MODE",
    "ATTR_PREFETCH",
    "ATTR_PROMPT_CHARS",
    "ATTR_PROPOSED_BY",
    "ATTR_RATIONALE",
    "ATTR_RAW_REPLY",
    "ATTR_REPAIRS",
    "ATTR_ROUND",
    "ATTR_SCREEN",
    "ATTR_SHARE",
    "ATTR_SOURCE",
    "ATTR_VET",
    "AdaptiveSchedule",
    "AlternatingSchedule",
    "BudgetConfigError",
    "CallableSchedule",
    "Choose",
    "ChooseConfigError",
    "EveryKthSchedule",
    "Evidence",
    "EvidenceConfigError",
    "FirstNSchedule",
    "InvalidScheduleError",
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
    "OutputMode",
    "PromptConfig",
    "PromptConfigError",
    "RandomChatModel",
    "SOURCE_BASELINE",
    "Screen",
    "ScreenConfigError",
    "SOURCE_ENQUEUED",
    "SOURCE_LLM",
    "Schedule",
    "SearchSpaceError",
    "TrialRole",
    "discard_waiting_proposals",
    "is_discarded",
    "make_chat_model",
    "sqlite_storage",
]


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
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
