"""The names of the trial attributes LLMSampler writes, in one namespace.

Each trial records who proposed it and, for the model's trials, the model, its rationale, the
repairs and the raw reply, as plain user attributes that optuna-dashboard shows::

    from optuna_llm_sampler import attrs

    model_trials = [t for t in study.trials if t.user_attrs.get(attrs.ATTR_SOURCE) == attrs.SOURCE_LLM]

A trial without ``source`` was proposed by the base sampler in its own slot: the sampler
writes nothing on such a trial (:func:`source_of` names it). :func:`share_summary` says in one line how many trials the
model proposed in a study and what decided that. No value ever holds an API key: every string
is redacted before it is stored.
"""

from __future__ import annotations

from optuna_llm_sampler._policy._summary import share_summary
from optuna_llm_sampler._policy._summary import source_of
from optuna_llm_sampler._records._attrs import ATTR_ARTIFACTS
from optuna_llm_sampler._records._attrs import ATTR_CHOICE
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
from optuna_llm_sampler._records._attrs import ATTR_SCHEMA_CHARS
from optuna_llm_sampler._records._attrs import ATTR_SCREEN
from optuna_llm_sampler._records._attrs import ATTR_SHARE
from optuna_llm_sampler._records._attrs import ATTR_SOURCE
from optuna_llm_sampler._records._attrs import ATTR_VET
from optuna_llm_sampler._records._attrs import ATTR_WARM_START_FROM
from optuna_llm_sampler._records._attrs import SOURCE_BASELINE
from optuna_llm_sampler._records._attrs import SOURCE_ENQUEUED
from optuna_llm_sampler._records._attrs import SOURCE_LLM


__all__ = [
    "ATTR_ARTIFACTS",
    "ATTR_CHOICE",
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
    "ATTR_SCHEMA_CHARS",
    "ATTR_SCREEN",
    "ATTR_SHARE",
    "ATTR_SOURCE",
    "ATTR_VET",
    "ATTR_WARM_START_FROM",
    "SOURCE_BASELINE",
    "SOURCE_ENQUEUED",
    "SOURCE_LLM",
    "share_summary",
    "source_of",
]
