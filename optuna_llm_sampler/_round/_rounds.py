"""ModelRounds: one LLM round from its owner's trial to the enqueued proposals.

On an LLM round one trial (the lowest-numbered trial of the round that was not enqueued)
asks the model once for all of the round's configurations, takes the first for itself and
enqueues the rest with :meth:`optuna.study.Study.enqueue_trial`, so the next trials pop them.
Every worker computes the same owner from the trial numbers in storage, so the model is
called once per round even with ``n_jobs > 1`` or several processes on one storage. Other
trials of the round created before the owner's proposals were enqueued go to the base
sampler, with the reason in their ``llm_note`` attribute.
"""

from __future__ import annotations

import logging
from typing import Any
from typing import TYPE_CHECKING

from optuna.trial import TrialState

from optuna_llm_sampler._policy._prefetch import Prefetch
from optuna_llm_sampler._policy._schedule import TrialRole
from optuna_llm_sampler._proposal._history import search_space_from_trials
from optuna_llm_sampler._records import _attrs
from optuna_llm_sampler._records._attr_io import write_trial_attrs
from optuna_llm_sampler._records._reasons import dropped_details
from optuna_llm_sampler._records._reasons import not_owner_reason
from optuna_llm_sampler._records._redact import collect_secrets
from optuna_llm_sampler._records._redact import redact
from optuna_llm_sampler._round._ask import ask_model
from optuna_llm_sampler._round._judge import judge
from optuna_llm_sampler._round._judge import vet
from optuna_llm_sampler._round._parts import repairs_json
from optuna_llm_sampler._round._parts import role_of
from optuna_llm_sampler._round._parts import round_of
from optuna_llm_sampler._round._parts import vetting_summary
from optuna_llm_sampler._round._parts import writing_evidence
from optuna_llm_sampler._round._settings import RoundSettings


if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from optuna_llm_sampler._policy._schedule import Schedule
    from optuna_llm_sampler._round._parts import Call
    from optuna_llm_sampler._round._parts import Round


_logger = logging.getLogger(__name__)

_PREFETCH_HORIZON = 1000
"""How many trial numbers past a round the next LLM round is looked for."""

__all__ = ["ModelRounds", "RoundSettings"]


class ModelRounds:
    """The LLM rounds of the studies one sampler serves.

    Args:
        settings: The model, the base sampler and the round options.
        prefetch: Start the next round's model call in the background when the current
            round's last trial starts (``LLMSampler(prefetch=True)``).
    """

    def __init__(self, settings: RoundSettings, *, prefetch: bool = False) -> None:
        self.settings = settings
        self._prefetch: Prefetch[Call] | None = Prefetch() if prefetch else None

    def run(
        self,
        study: Study,
        trial: FrozenTrial,
        schedule: Schedule,
        decision: Mapping[str, Any] | None,
    ) -> dict[str, Any] | None:
        """Run the round ``trial`` belongs to, as its owner or not: the parameters planned for
        ``trial``, or :obj:`None` when it goes to the base sampler (the reason recorded).

        ``decision`` is the schedule's record for the trial: its evidence on the model's
        writing decides whether the round chooses or writes (:func:`writing_evidence`).
        """
        s = self.settings
        round_ = round_of(schedule, trial.number, baseline=s.baseline)
        storage, study_id = study._storage, study._study_id
        trials = storage.get_all_trials(study_id, deepcopy=False)
        fallback = {_attrs.ATTR_SOURCE: s.base_name, _attrs.ATTR_ROUND: round_.start}
        note = _not_the_owner(study, round_, trials, trial.number)
        if note is not None:
            write_trial_attrs(study, trial, {**fallback, _attrs.ATTR_NOTE: note})
            return None
        record: dict[str, Any] = {"owner": trial.number, "status": "asking"}
        if s.budget is not None:
            note = s.budget.spent(storage.get_study_system_attrs(study_id))
            if note is not None:
                over = {**record, "status": "over_budget", "note": note}
                attrs = {**fallback, _attrs.ATTR_NOTE: note}
                write_trial_attrs(study, trial, attrs, (round_.key, over))
                return None
        storage.set_study_system_attr(study_id, round_.key, record)
        complete = sum(t.state is TrialState.COMPLETE for t in trials)
        chooses = s.choose is not None and s.choose.applies_to(round_.start, writing_evidence(decision), complete)
        try:
            return self._ask_and_plan(study, trial, round_, trials, record, chooses)
        except Exception as e:
            # The sampler sends the trial to the base sampler; the record must not stay "asking".
            error = redact(f"{type(e).__name__}: {e}", collect_secrets(s.llm))
            record = {**record, "status": "failed", "error": error}
            storage.set_study_system_attr(study_id, round_.key, record)
            raise

    def _ask_and_plan(
        self,
        study: Study,
        trial: FrozenTrial,
        round_: Round,
        trials: Sequence[FrozenTrial],
        record: dict[str, Any],
        chooses: bool,
    ) -> dict[str, Any] | None:
        s = self.settings
        fallback = {_attrs.ATTR_SOURCE: s.base_name, _attrs.ATTR_ROUND: round_.start}
        search_space = s.search_space or search_space_from_trials(trials)
        if not search_space:
            note = "no search space yet: pass search_space= or wait for a finished trial"
            skipped = {**record, "status": "skipped"}
            attrs = {**fallback, _attrs.ATTR_NOTE: note}
            write_trial_attrs(study, trial, attrs, (round_.key, skipped))
            return None

        call = self._prefetched(study, round_, search_space, trial.number)
        if call is None:
            call = ask_model(
                s,
                study,
                round_,
                trials,
                search_space,
                trial.number,
                choose_on=trial if chooses else None,
            )
        record["seconds"] = call.seconds
        outcome = judge(s, study, call, trials, len(round_.slots))
        if outcome.error is not None:
            _logger.warning("LLM round %s (trial %d): %s", round_.label, trial.number, outcome.error)
            attrs = {**outcome.about, **fallback, _attrs.ATTR_ERROR: outcome.error}
            if outcome.notes:
                attrs[_attrs.ATTR_REPAIRS] = repairs_json(outcome.notes, s.config.repairs_kept)
            failed = {**record, "status": outcome.status, "error": outcome.error}
            # The base sampler drew a picking round's candidates on this very trial: the trial
            # runs the first of them rather than drawing once more.
            drawn = call.candidates if chooses else []
            if drawn:
                attrs[_attrs.ATTR_NOTE] = f"runs the first of {s.base_name}'s candidates for the round"
            write_trial_attrs(study, trial, attrs, (round_.key, failed))
            return dict(drawn[0]) if drawn else None

        if not chooses and s.choose is not None and s.choose.vet_writes:
            outcome = vet(s, study, trial, round_, trials, search_space, outcome, record)

        # The owner takes the first configuration and enqueues the rest for the round's
        # other trials, which pop them from the queue with their attributes.
        own, *rest = outcome.proposals
        for index, proposal in enumerate(rest, start=1):
            study.enqueue_trial(dict(proposal.params), user_attrs=outcome.attrs_for(index, s.config))
        done = {
            **record,
            "status": "done",
            "proposals": len(outcome.proposals),
            **dropped_details(outcome.notes),
        }
        write_trial_attrs(study, trial, outcome.attrs_for(0, s.config), (round_.key, done))
        _logger.info(
            "LLM round %s (trial %d): %d of %d configuration(s) from %s in %.1f s, %d enqueued, %d repair(s)%s.",
            round_.label,
            trial.number,
            len(outcome.proposals),
            len(round_.slots),
            outcome.about[_attrs.ATTR_MODEL],
            outcome.about[_attrs.ATTR_LATENCY],
            len(rest),
            len(outcome.notes) + sum(len(p.repairs) for p in outcome.proposals),
            vetting_summary(outcome.vets, s.base_name),
        )
        return dict(own.params)

    # Prefetch ----------------------------------------------------------------------------------

    def prefetch_next(self, study: Study, trial: FrozenTrial, schedule: Schedule) -> None:
        """Once the last trial of an LLM round starts, start the next round's model call.

        A schedule that follows the study has not decided the next rounds yet, and is not
        prefetched.
        """
        if self._prefetch is None or schedule.follows_study:
            return
        s = self.settings
        if role_of(schedule, trial.number, baseline=s.baseline) is not TrialRole.LLM:
            return
        current = round_of(schedule, trial.number, baseline=s.baseline)
        if trial.number != current.slots[-1]:
            return
        following = next(
            (
                round_of(schedule, n, baseline=s.baseline)
                for n in range(trial.number + 1, trial.number + 1 + _PREFETCH_HORIZON)
                if role_of(schedule, n, baseline=s.baseline) is TrialRole.LLM
            ),
            None,
        )
        if following is None or self._prefetch.pending(_prefetch_key(study, following)):
            return
        records = study._storage.get_study_system_attrs(study._study_id)
        if following.key in records:
            return
        if s.budget is not None and s.budget.spent(records) is not None:
            return
        started_by = trial.number

        def call() -> Call | None:
            trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
            search_space = s.search_space or search_space_from_trials(trials)
            if not search_space:
                return None
            finished = {t.number for t in trials if t.state.is_finished()}
            result = ask_model(s, study, following, trials, search_space, started_by)
            result.about[_attrs.ATTR_PREFETCH] = {
                "started_by": started_by,
                "finished": len(finished),
                "missing": [n for n in range(following.start) if n not in finished],
            }
            return result

        self._prefetch.start(_prefetch_key(study, following), call)

    def _prefetched(
        self,
        study: Study,
        round_: Round,
        search_space: Mapping[str, BaseDistribution],
        number: int,
    ) -> Call | None:
        """The model call made ahead for ``round_``, if one was and it is still of use."""
        if self._prefetch is None:
            return None
        timeout = self.settings.timeout
        wait = None if timeout is None else timeout + 60.0
        call = self._prefetch.take(_prefetch_key(study, round_), wait)
        if call is None or call.search_space != dict(search_space):
            return None
        call.about[_attrs.ATTR_PROPOSED_BY] = number
        return call

    def join_prefetch(self, timeout: float | None = None) -> bool:
        """Wait for a model call started ahead of its round to end; :obj:`True` when none
        is running any more."""
        return True if self._prefetch is None else self._prefetch.join(timeout)


def _not_the_owner(study: Study, round_: Round, trials: Sequence[FrozenTrial], number: int) -> str | None:
    """Why trial ``number`` must not ask the model for ``round_``, or None if it must.

    The owner is the lowest-numbered trial of the round that was not popped from the queue.
    Trial numbers and enqueued parameters are in storage before any sampler sees the trial,
    so every worker names the same owner.
    """
    owner = min(
        (t.number for t in trials if t.number in round_.slots and "fixed_params" not in t.system_attrs),
        default=number,
    )
    records = study._storage.get_study_system_attrs(study._study_id)
    if owner != number:
        return not_owner_reason(round_.label, owner, records.get(round_.key), len(round_.slots))
    if round_.key in records:
        return f"round {round_.label} was already proposed"
    return None


def _prefetch_key(study: Study, round_: Round) -> tuple[int, int, int]:
    return (id(study._storage), study._study_id, round_.start)
