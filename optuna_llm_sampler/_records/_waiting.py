"""Proposals left in the queue when a study stops in the middle of an LLM round.

An LLM round enqueues its proposals as ``WAITING`` trials marked ``source=llm``; a study that
stops before popping them leaves them there, where they look like model trials that never
finished. Optuna cannot delete a trial, and ``FAIL`` is the only state a waiting trial can end
in, so :func:`discard_waiting_proposals` fails them and marks them with
:data:`~optuna_llm_sampler.ATTR_DISCARDED` (and a ``fail_reason``); :func:`is_discarded` tells
them apart so counts, reports and the model's history leave them out. Optuna's own samplers
ignore ``FAIL`` trials, so a discarded proposal does not bias the base sampler either.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from optuna.trial import TrialState

from optuna_llm_sampler._records import _attrs
from optuna_llm_sampler._records._notes import TrialNotes


if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial


_logger = logging.getLogger(__name__)

DEFAULT_REASON = "the study stopped before this proposal of its round was run"


def is_discarded(trial: FrozenTrial) -> bool:
    """Whether ``trial`` is a proposal discarded by :func:`discard_waiting_proposals` (it never
    ran: leave it out when counting or showing trials)."""
    return _attrs.ATTR_DISCARDED in trial.user_attrs


def discard_waiting_proposals(study: Study, reason: str = DEFAULT_REASON) -> list[int]:
    """Fail the model's proposals still waiting in ``study``'s queue, marked as discarded.

    Call it when the study is over (after ``study.optimize``, or when a tuning loop stops): no
    worker may be running the study then, since a proposal popped meanwhile would be failed too.
    Trials a user enqueued (no ``source=llm`` attribute) are left waiting.

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import LLMSampler, discard_waiting_proposals, is_discarded

            study = optuna.create_study(sampler=LLMSampler(model, search_space=space))
            study.optimize(objective, n_trials=7)  # may stop inside a round
            discard_waiting_proposals(study)
            ran = [t for t in study.trials if not is_discarded(t)]

    Returns:
        The numbers of the trials discarded.
    """
    storage, study_id = study._storage, study._study_id
    notes = TrialNotes()
    discarded = []
    for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,)):
        if trial.user_attrs.get(_attrs.ATTR_SOURCE) != _attrs.SOURCE_LLM:
            continue
        if storage.get_trial(trial._trial_id).state is not TrialState.WAITING:
            continue  # Popped meanwhile.
        storage.set_trial_user_attr(trial._trial_id, _attrs.ATTR_DISCARDED, reason)
        storage.set_trial_user_attr(trial._trial_id, _attrs.ATTR_FAIL_REASON, f"discarded, never run: {reason}")
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        notes.write(study, storage.get_trial(trial._trial_id))
        discarded.append(trial.number)
    if discarded:
        _logger.info(
            "Discarded %d waiting proposal(s) of the model: trial(s) %s.",
            len(discarded),
            ", ".join(map(str, discarded)),
        )
    return discarded
