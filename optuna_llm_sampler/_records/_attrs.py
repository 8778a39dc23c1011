"""Names of the trial user attributes the sampler writes.

They are plain user attributes, so optuna-dashboard shows them in each trial's panel and a report
can tell LLM trials apart with ``trial.user_attrs.get(ATTR_SOURCE) == SOURCE_LLM``. No value ever
holds an API key: every string is passed through the sampler's redaction before it is stored.
"""

from __future__ import annotations


ATTR_SOURCE = "source"
"""Who proposed the trial's parameters: :data:`SOURCE_LLM`, :data:`SOURCE_BASELINE`,
:data:`SOURCE_ENQUEUED`, or the base sampler's class name (e.g. ``"TPESampler"``) on a model
slot that fell back to it. A trial without it was proposed by the base sampler in its own
slot: LLMSampler writes nothing on such a trial, so that it costs no storage write."""

SOURCE_LLM = "llm"
SOURCE_BASELINE = "baseline"
SOURCE_ENQUEUED = "enqueued"
"""A trial enqueued by someone else than the sampler (e.g. ``study.enqueue_trial`` by a user)."""

ATTR_MODEL = "llm_model"
"""The chat model's name (e.g. ``"qwen-plus"``, ``"SmolLM2-135M-Instruct"``)."""

ATTR_RATIONALE = "llm_rationale"
"""The model's one-sentence reason for this configuration."""

ATTR_REPAIRS = "llm_repairs"
"""A list of ``{"kind", "param", "detail"}`` records: what was fixed in the reply to make it
fit."""

ATTR_RAW_REPLY = "llm_raw_reply"
"""The model's reply text, truncated (see ``PromptConfig.raw_reply_chars``)."""

ATTR_LATENCY = "llm_latency_s"
"""Seconds the model call took."""

ATTR_ERROR = "llm_error"
"""Why an LLM-scheduled trial went to the base sampler after a failed model round: an exception,
a timeout, or a reply without a usable configuration."""

ATTR_NOTE = "llm_note"
"""Why an LLM- or baseline-scheduled trial went to the base sampler without an error: another
trial owns the round, no search space is known yet, or no baseline was given."""

ATTR_ROUND = "llm_round"
"""The first trial number of the schedule round the trial belongs to."""

ATTR_PROPOSED_BY = "llm_proposed_by"
"""The number of the trial whose sampler called the model for this round."""

ATTR_PROMPT_CHARS = "llm_prompt_chars"
"""Length of the prompt sent to the model, in characters."""

ATTR_FAIL_REASON = "fail_reason"
"""Read, not written: set this user attribute on a trial before failing it (e.g. ``trial.
set_user_attr(ATTR_FAIL_REASON, "nginx did not start")``) and the next prompts show the reason.
Optuna itself does not store why a trial failed."""

ATTR_SHARE = "llm_share"
"""On a model slot, the :class:`~optuna_llm_sampler.AdaptiveSchedule`'s decision for the
trial's block (every block's decision is also in the study's system attributes): ``block``
(its first trial), ``role``, ``share`` (the model's share of blocks then), ``p_better`` (the
probability that the model's trials beat the base sampler's) and the evidence, ``llm`` and
``base`` as ``[trials scored, sum of scores]``. When some of the model's trials were picked
among the base sampler's candidates, also ``written`` (the scores of those it wrote) and
``p_written`` (their ``p_better``; :obj:`None` before it wrote any). With the schedule's
``base_startup``, ``bar_from``: the first trial number of the base sampler's that ``base``
counts (its start-up trials are random draws, not the bar); ``base`` is ``[0, 0]`` and
``p_better`` one half until one of those is scored."""

ATTR_SCHEMA_CHARS = "llm_schema_chars"
"""Length of the JSON schema sent with the prompt, in characters (0: none was sent; see
``PromptConfig.schema_chars``)."""

ATTR_EVIDENCE_CHARS = "llm_evidence_chars"
"""Length of the evidence part of the prompt (``LLMSampler(evidence=...)``), in characters;
0 before there was enough history to show any."""

ATTR_SCREEN = "llm_screen"
"""How a :class:`~optuna_llm_sampler.Screen` kept the trial's configuration: its ``rank`` among
the ``of`` usable candidates of the round, ``by`` (``random_forest`` or ``model_order``) and,
ranked by the surrogate, the ``predicted`` objective value."""

ATTR_CHOICE = "llm_choice"
"""How the model chose the trial's configuration under :class:`~optuna_llm_sampler.Choose`:
the candidate's number ``picked`` among ``of`` candidates, drawn by ``drawn_by`` (the base
sampler's class name). The configuration itself is the base sampler's."""

ATTR_VET = "llm_vet"
"""How the configuration was vetted under ``Choose(vet_writes=True)``: the model's written
configurations were listed among the base sampler's draws (``of`` in all, its ``own`` at those
numbers) and it ``picked`` one; ``kept`` says whether the trial runs what it wrote
(``written``) or a draw (``draw``, with ``llm_choice``). ``raw_reply`` and ``latency_s`` are
the second call's; ``error`` says why the written configurations stand unvetted."""

ATTR_WARM_START_FROM = "warm_start_from"
"""Set on a trial whose configuration came from another study (a warm start): where it came
from, e.g. ``"nginx@sqlite:///old.db trial 7"``. The prompt's history marks such trials, so the
model does not read them as this study's own proposals."""

ATTR_ARTIFACTS = "llm_artifacts"
"""Artifact ids of the round's exchange with the model, ``{"prompt": id, "reply": id}`` (``reply``
absent when the call failed), when the sampler has an ``artifact_store``. The files are attached
to the trial that called the model (:attr:`ATTR_PROPOSED_BY`); optuna-dashboard shows them in that
trial's artifacts panel when started with ``--artifact-dir``."""

ATTR_DISCARDED = "llm_discarded"
"""Set by :func:`~optuna_llm_sampler.discard_waiting_proposals` on a proposal that was never run
(the study stopped in the middle of its round): why it was discarded. Such a trial is ``FAIL``
without ever having run; count and show trials without it (see
:func:`~optuna_llm_sampler.is_discarded`)."""

ATTR_OUTPUT_MODE = "llm_output_mode"
"""How the reply's JSON schema was asked for in the call that proposed the trial:
``json_schema``, ``json_object`` (llama.cpp's form) or ``prompt`` (see
:class:`~optuna_llm_sampler.OutputMode`)."""

ATTR_PREFETCH = "llm_prefetch"
"""Set when the trial's model call was made ahead of its round (``LLMSampler(prefetch=True)``):
``started_by`` (the trial whose sampler started the call), ``finished`` (how many finished trials
the prompt's history had) and ``missing`` (the trial numbers before the round that had not
finished then, so the prompt lacks them)."""

ROUND_RECORD_PREFIX = "optuna_llm_sampler:round:"
"""Prefix of the study system attributes recording each generated round (internal)."""

SHARE_RECORD_PREFIX = "optuna_llm_sampler:share:"
"""Prefix of the study system attributes recording each adaptive schedule decision (internal)."""
