"""LLMSampler: wiring of schedule, prompt, model call, parse/repair and the trial queue."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from typing import Any
from typing import TYPE_CHECKING
from typing import TypeVar

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.samplers import TPESampler
from optuna.trial import TrialState

from optuna_llm_sampler import _attrs
from optuna_llm_sampler._adaptive import _BoundAdaptive
from optuna_llm_sampler._adaptive import AdaptiveSchedule
from optuna_llm_sampler._adaptive import startup_trials
from optuna_llm_sampler._artifacts import keep_exchange
from optuna_llm_sampler._artifacts import prompt_text
from optuna_llm_sampler._attr_io import write_attrs
from optuna_llm_sampler._budget import ModelBudget
from optuna_llm_sampler._choose import Choose
from optuna_llm_sampler._choose import DEFAULT_CHOOSE
from optuna_llm_sampler._choose import choice_request
from optuna_llm_sampler._choose import choice_schema
from optuna_llm_sampler._choose import draw_candidates
from optuna_llm_sampler._choose import place_own
from optuna_llm_sampler._choose import read_choices
from optuna_llm_sampler._choose import render_candidates
from optuna_llm_sampler._errors import ModelCallError
from optuna_llm_sampler._errors import ModelTimeoutError
from optuna_llm_sampler._errors import SearchSpaceError
from optuna_llm_sampler._evidence import Evidence
from optuna_llm_sampler._history import evaluated_params
from optuna_llm_sampler._history import read_history
from optuna_llm_sampler._history import search_space_from_trials
from optuna_llm_sampler._invoke import model_name
from optuna_llm_sampler._invoke import reply_schema
from optuna_llm_sampler._notes import TrialNotes
from optuna_llm_sampler._parse import parse_reply
from optuna_llm_sampler._pickling import portable_model
from optuna_llm_sampler._pickling import restore_model
from optuna_llm_sampler._output_mode import OutputModes
from optuna_llm_sampler._prefetch import Prefetch
from optuna_llm_sampler._prompt import PromptBuilder
from optuna_llm_sampler._prompt import PromptConfig
from optuna_llm_sampler._prompt import load_knowledge
from optuna_llm_sampler._reasons import dropped_details
from optuna_llm_sampler._reasons import not_owner_reason
from optuna_llm_sampler._redact import collect_secrets
from optuna_llm_sampler._redact import redact
from optuna_llm_sampler._repair import repair_candidates
from optuna_llm_sampler._schedule import AlternatingSchedule
from optuna_llm_sampler._schedule import as_schedule
from optuna_llm_sampler._schedule import TrialRole
from optuna_llm_sampler._screen import Screen
from optuna_llm_sampler._text import truncate


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Mapping
    from collections.abc import Sequence

    from langchain_core.language_models import BaseChatModel
    from optuna.artifacts._protocol import ArtifactStore
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from optuna_llm_sampler._repair import Proposal
    from optuna_llm_sampler._repair import Repair
    from optuna_llm_sampler._schedule import RoleLike
    from optuna_llm_sampler._schedule import Schedule


_logger = logging.getLogger(__name__)


class LLMSampler(BaseSampler):
    """Sampler in which a language model proposes some rounds of trials, a base sampler the rest.

    This productises the OSPP A-Tune experiment: at the start of an LLM round the model reads
    the study's history and background knowledge and proposes that round's configurations; the
    Bayesian optimiser handles the other trials untouched. Trial 0 is the baseline (when one is
    given); by default (:class:`~optuna_llm_sampler.AdaptiveSchedule`) the model writes trial 7,
    after six of the base sampler's random draws, and later gets blocks of two trials in
    proportion to how its trials fare against the base sampler's.

    On an LLM round one trial (the lowest-numbered trial of the round that was not enqueued) asks
    the model once for all of the round's configurations, takes the first for itself and
    enqueues the rest with :meth:`optuna.study.Study.enqueue_trial`, so the next trials pop them.
    Every worker computes the same owner from the trial numbers in storage, so the model is
    called once per round even with ``n_jobs > 1`` or several processes on one storage. Other
    trials of the round created before the owner's proposals were enqueued go to the base
    sampler, with the reason in their ``llm_note`` attribute.

    The reply is parsed leniently and repaired against the distributions (clipped, snapped,
    nearest choice, duplicates dropped); each trial records who proposed it, the model, the
    rationale, the repairs, the raw reply, the latency or the error as user attributes (see
    :mod:`optuna_llm_sampler._attrs`). A failed model call never fails the study: the trial goes
    to the base sampler.

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import LLMSampler, make_chat_model


            def objective(trial):
                x = trial.suggest_int("x", 1, 64)
                return (x - 24) ** 2


            sampler = LLMSampler(
                make_chat_model("local"),
                search_space={"x": optuna.distributions.IntDistribution(1, 64)},
                knowledge="x is the number of worker processes; the machine has 24 cores.",
                baseline={"x": 8},
                seed=0,
            )
            study = optuna.create_study(sampler=sampler)
            study.optimize(objective, n_trials=8)
            print([t.user_attrs["source"] for t in study.trials])

    Args:
        llm:
            A LangChain chat model (``BaseChatModel``), e.g. from
            :func:`~optuna_llm_sampler.make_chat_model`. Anything with ``invoke(messages)``
            returning a message or a string works.
        base_sampler:
            Sampler for every trial the schedule does not give the LLM, and for parameters a
            proposal lacks. Default :class:`~optuna.samplers.TPESampler` seeded with ``seed``;
            pass :class:`~optuna.samplers.GPSampler` for Gaussian-process BO.
        schedule:
            A :class:`~optuna_llm_sampler.Schedule` or a function of the trial number (see
            :class:`~optuna_llm_sampler.CallableSchedule`). Default
            :class:`~optuna_llm_sampler.AdaptiveSchedule` ``()``: blocks of 2 trials, the
            model's share between 10% and 50% following how its trials fare against the base
            sampler's; before trial 10 the model writes one configuration, trial 7, after six
            of the base sampler's. Its ``base_startup`` is the base sampler's start-up
            (``n_startup_trials``, 10 for TPE's default, 20 as A-Tune's runner builds it): after trial 10 the model earns its share against the
            base sampler's own proposals, not its random draws. ``AlternatingSchedule()``
            gives the seed experiment's fixed two-and-two.
        search_space:
            Parameter name to distribution, shown to the model and used to repair its reply.
            Default: the distributions of the study's finished trials; until one exists, LLM
            rounds go to the base sampler.
        knowledge:
            Background for the model (system, hardware, application, what the knobs do): a
            string, or a path (``pathlib.Path``) to a text file such as the experiment's
            ``preknowledge.txt``.
        descriptions:
            Parameter name to a description shown next to its range (e.g. A-Tune's ``desc``).
        baseline:
            Parameter values of the configuration to measure first. Trial 0 uses them and is
            marked ``baseline``, unless trial 0 was already enqueued by someone else.
        seed:
            Seed of the default base sampler; ignored when ``base_sampler`` is given.
        prompt:
            Sizes of the prompt's parts and of the history; default :class:`PromptConfig` ``()``
            (10,000 characters in all).
        timeout:
            Seconds to wait for the model before giving the trial to the base sampler.
            Default 120, enough for a small local model on two cores.
        structured_output:
            How to ask the model for the reply's JSON schema. :obj:`None` (default): in the
            strongest form the model accepts: ``response_format`` type ``json_schema``
            (OpenAI, vLLM), then type ``json_object`` with the schema beside it (llama.cpp's
            servers), then the prompt alone; a form the server refuses (an HTTP 4xx/5xx or
            an error naming the format) is not asked for again by this sampler, and the form
            used is recorded on each trial (``llm_output_mode``). :obj:`True`: the two schema
            forms only; :obj:`False`: the prompt alone; ``"json_schema"``, ``"json_object"``
            or ``"prompt"``: that form only.
        model_name:
            Name recorded in the ``llm_model`` attribute; default the model's own
            ``model_name``/``model`` field.
        budget:
            A :class:`~optuna_llm_sampler.ModelBudget` capping the model calls and model
            seconds of the study; past a cap, LLM-scheduled trials go to the base sampler with
            the reason in ``llm_note``. Default :obj:`None`: no cap.
        screen:
            A :class:`~optuna_llm_sampler.Screen`: ask the model for several times the round's
            configurations and keep those a surrogate fitted on the study's history ranks
            best (``llm_screen`` on each kept trial). Default :obj:`None`: ask for exactly
            the round's configurations.
        evidence:
            An :class:`~optuna_llm_sampler.Evidence`: show the model, above the trials, what
            the history says about each knob (each choice's count, best and mean; where the
            good trials' numbers lie and the trend; importances), within
            ``PromptConfig.evidence_chars``. Default :obj:`None`: the trials only.
        choose:
            A :class:`~optuna_llm_sampler.Choose`: the base sampler draws several candidates
            per trial of the round and the model picks among them (``llm_choice`` on each
            picked trial) instead of writing values; ``Choose(from_trial=10)`` lets the model
            write the rounds of TPE's random start-up and choose after. Not with ``screen``
            or ``prefetch``. Default
            ``Choose(from_trial=10, write_when_ahead=True, vet_writes=True)``, the
            benchmark's verdict (``docs/ablation.md``): the model writes its rounds in TPE's
            start-up, where good advice pays most; after them it picks among the base sampler's
            candidates, so a model that knows nothing costs TPE no trials, unless the
            adaptive share's evidence says its trials are ahead, in which case it goes on
            writing. Every round it writes is vetted (a second call: its configurations among
            the base sampler's draws, and it picks; measured in stop 23, the default since
            stop 24). With ``screen`` or ``prefetch=True``, which need written rounds, the
            default gives way. :obj:`None`: the model writes every round.
        artifact_store:
            An Optuna artifact store (e.g. :class:`optuna.artifacts.FileSystemArtifactStore`)
            that keeps each model call's whole prompt and raw reply as two text files attached
            to the trial that made the call (``llm_artifacts`` on the round's trials).
            Default :obj:`None`: only the truncated reply, in ``llm_raw_reply``.
        prefetch:
            Hide the model's latency behind the objective: when the last trial of an LLM
            round starts, start the next round's model call in a background (daemon)
            thread, so that round finds its proposals ready. The prompt then lacks the trials
            still running or not yet started; each trial of the round records which in
            ``llm_prefetch``. A failed call falls back like any model failure. Schedules that
            follow the study (:class:`~optuna_llm_sampler.AdaptiveSchedule`) are not
            prefetched: their next rounds are not decided yet. The call made after the
            study's last round is used only if the study goes on; see :meth:`join_prefetch`.
            Without a ``schedule``, ``prefetch=True`` takes
            :class:`~optuna_llm_sampler.AlternatingSchedule` instead of the adaptive default.
            Default :obj:`False`: the model sees every finished trial.

    Every LLM trial and every LLM slot that went to the base sampler also gets an
    optuna-dashboard note telling its story (when optuna-dashboard is installed).
    """

    def __init__(
        self,
        llm: BaseChatModel | Any,
        *,
        base_sampler: BaseSampler | None = None,
        schedule: Schedule | Callable[[int], RoleLike] | None = None,
        search_space: Mapping[str, BaseDistribution] | None = None,
        knowledge: str | os.PathLike[str] | None = None,
        descriptions: Mapping[str, str] | None = None,
        baseline: Mapping[str, Any] | None = None,
        seed: int | None = None,
        prompt: PromptConfig | None = None,
        timeout: float | None = 120.0,
        structured_output: bool | str | None = None,
        model_name: str | None = None,
        budget: ModelBudget | None = None,
        screen: Screen | None = None,
        evidence: Evidence | None = None,
        choose: Choose | None = DEFAULT_CHOOSE,
        artifact_store: ArtifactStore | None = None,
        prefetch: bool = False,
    ) -> None:
        if not callable(getattr(llm, "invoke", None)):
            raise TypeError(f"llm must be a chat model with an invoke() method, got {llm!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive or None, got {timeout!r}")
        self._llm = llm
        self._base = base_sampler if base_sampler is not None else TPESampler(seed=seed)
        # The benchmark's verdict (docs/ablation.md): a share that follows the model's results
        # loses less than a fixed half when the model knows nothing, and keeps its early gain
        # when it does, with fewer model calls.
        # With prefetch, a fixed schedule: an adaptive one decides a round only when it starts.
        if schedule is None:
            self._schedule: Schedule = (
                AlternatingSchedule()
                if prefetch
                else AdaptiveSchedule(base_startup=startup_trials(self._base))
            )
        else:
            self._schedule = as_schedule(schedule)
        self._search_space = _check_search_space(search_space)
        self._descriptions = _check_descriptions(descriptions)
        self._baseline = _check_baseline(baseline, self._search_space)
        self._config = prompt if prompt is not None else PromptConfig()
        self._builder = PromptBuilder(self._config, load_knowledge(knowledge), self._descriptions)
        self._timeout = timeout
        self._output = OutputModes(structured_output, llm)
        self._model_name = model_name or _model_name(llm)
        self._budget = _check_option("budget", budget, ModelBudget)
        self._screen = _check_option("screen", screen, Screen)
        self._evidence = _check_option("evidence", evidence, Evidence)
        if choose is DEFAULT_CHOOSE and (screen is not None or prefetch):
            choose = None  # the default gives way to the options that need written rounds
        self._choose = _check_option("choose", choose, Choose)
        if self._choose is not None and self._screen is not None:
            raise TypeError(
                "LLMSampler takes choose= or screen=, not both: with choose= the model picks "
                "from the base sampler's candidates, so there is nothing left to screen"
            )
        if self._choose is not None and prefetch:
            raise TypeError(
                "LLMSampler takes choose= or prefetch=True, not both: the candidates are drawn "
                "by the base sampler from the history when the round starts"
            )
        if artifact_store is not None and not callable(getattr(artifact_store, "write", None)):
            raise TypeError(
                f"artifact_store must be an Optuna artifact store (with write()), got "
                f"{artifact_store!r}"
            )
        self._artifact_store = artifact_store
        self._notes = TrialNotes()
        self._base_name = type(self._base).__name__
        self._prefetch: Prefetch[_Call] | None = Prefetch() if prefetch else None
        self._plans: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"LLMSampler(model={self._model_name!r}, base_sampler={self._base_name}, "
            f"schedule={self._schedule!r})"
        )

    def __getstate__(self) -> dict[str, Any]:
        # Ray Tune pickles its searcher: the lock is recreated, and a model holding live
        # clients travels as the spec make_chat_model built it from (see _pickling).
        state = self.__dict__.copy()
        del state["_lock"]
        state["_llm"] = portable_model(self._llm)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state["_llm"] = restore_model(state["_llm"])
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def base_sampler(self) -> BaseSampler:
        """The sampler that handles non-LLM trials."""
        return self._base

    @property
    def schedule(self) -> Schedule:
        """The schedule deciding which trials the LLM proposes."""
        return self._schedule

    @property
    def choose(self) -> Choose | None:
        """How the model's rounds pick among the base sampler's candidates (:obj:`None`: they
        write every configuration); the default gives way to ``screen`` and ``prefetch``."""
        return self._choose

    def role(self, number: int, study: Study | None = None) -> TrialRole:
        """The role of trial ``number``: the schedule's, except trial 0 with a ``baseline``.

        Pass ``study`` for a schedule that follows the study's results (such as
        :class:`~optuna_llm_sampler.AdaptiveSchedule`): its recorded decision is returned.
        """
        schedule = self._schedule if study is None else self._schedule.bind(study)
        return self._role(schedule, number)

    def _role(self, schedule: Schedule, number: int) -> TrialRole:
        if number == 0 and self._baseline is not None:
            return TrialRole.BASELINE
        return schedule.role(number)

    # BaseSampler interface ---------------------------------------------------------------------

    def reseed_rng(self) -> None:
        self._base.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        search_space = self._base.infer_relative_search_space(study, trial)
        plan = self._plan_of(trial)
        if plan:
            # Parameters the model proposed are sampled in sample_independent, from the plan.
            search_space = {k: v for k, v in search_space.items() if k not in plan}
        return search_space

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._base.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        plan = self._plan_of(trial)
        if plan is not None and param_name in plan:
            value = plan[param_name]
            if _fits(param_distribution, value):
                return value
            _logger.warning(
                "Trial %d: planned %s=%r does not fit %r; the base sampler chooses.",
                trial.number,
                param_name,
                value,
                param_distribution,
            )
        return self._base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        try:
            # With HyperbandPruner, samplers get a per-bracket view of the study that cannot
            # enqueue trials; rounds and history concern the whole study.
            self._prepare(_whole_study(study), trial)
        except Exception as e:  # The study must go on with the base sampler.
            message = redact(f"{type(e).__name__}: {e}", collect_secrets(self._llm))
            _logger.error("Trial %d: LLMSampler could not prepare it: %s", trial.number, message)
            with self._lock:
                self._plans.pop(trial._trial_id, None)
            self._set_attrs(
                study, trial, {_attrs.ATTR_SOURCE: self._base_name, _attrs.ATTR_ERROR: message}
            )
        if self._prefetch is not None:
            try:
                self._prefetch_next(_whole_study(study), trial)
            except Exception as e:  # Only the next round's head start is lost.
                message = redact(f"{type(e).__name__}: {e}", collect_secrets(self._llm))
                _logger.warning("Trial %d: no prefetch of the next round: %s", trial.number,
                                message)
        self._base.before_trial(study, trial)
        self._notes.write(_whole_study(study), trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        with self._lock:
            self._plans.pop(trial._trial_id, None)
        self._base.after_trial(study, trial, state, values)

    # Planning ----------------------------------------------------------------------------------

    def _plan_of(self, trial: FrozenTrial) -> dict[str, Any] | None:
        with self._lock:
            return self._plans.get(trial._trial_id)

    def _set_plan(self, trial: FrozenTrial, params: dict[str, Any]) -> None:
        with self._lock:
            self._plans[trial._trial_id] = dict(params)

    def _prepare(self, study: Study, trial: FrozenTrial) -> None:
        schedule = self._bind(study)
        role = self._role(schedule, trial.number)
        decision = schedule.explain(trial.number)
        # The schedule's decision goes to storage with the trial's first attributes, in one
        # transaction: a base trial is then one write.
        attrs: dict[str, Any] = {_attrs.ATTR_SHARE: decision} if decision is not None else {}
        decided = schedule.take_unwritten() if isinstance(schedule, _BoundAdaptive) else {}
        llm_round = False
        if "fixed_params" in trial.system_attrs:
            # Popped from the queue: enqueued by an LLM round (its attributes came with it),
            # by the runner as the baseline, or by a user.
            if _attrs.ATTR_SOURCE not in trial.user_attrs:
                attrs[_attrs.ATTR_SOURCE] = (
                    _attrs.SOURCE_BASELINE
                    if trial.number == 0 and role is TrialRole.BASELINE
                    else _attrs.SOURCE_ENQUEUED
                )
        elif role is TrialRole.BASELINE:
            if self._baseline is not None:
                self._set_plan(trial, self._baseline)
                attrs[_attrs.ATTR_SOURCE] = _attrs.SOURCE_BASELINE
            else:
                attrs[_attrs.ATTR_SOURCE] = self._base_name
                attrs[_attrs.ATTR_NOTE] = "baseline slot, but no baseline was given"
        elif role is TrialRole.BASE:
            attrs[_attrs.ATTR_SOURCE] = self._base_name
        else:
            llm_round = True
        self._set_attrs(study, trial, attrs, study_attrs=decided)
        if llm_round:
            self._llm_round(study, trial, schedule, decision)

    def _bind(self, study: Study) -> Schedule:
        """The schedule bound to ``study``; an adaptive one leaves its decisions to
        :meth:`_prepare`, which writes them with the trial's attributes."""
        if type(self._schedule).bind is AdaptiveSchedule.bind:  # Not a subclass's own bind.
            return _BoundAdaptive(self._schedule, study, in_ask=True)
        return self._schedule.bind(study)

    def _llm_round(
        self,
        study: Study,
        trial: FrozenTrial,
        schedule: Schedule,
        decision: Mapping[str, Any] | None,
    ) -> None:
        """Ask the model for the round ``trial`` owns; ``decision`` is the schedule's record
        for the trial (its evidence on the model's writing decides whether the round chooses
        or writes: :func:`_writing_evidence`)."""
        round_ = self._round_of(schedule, trial.number)
        storage, study_id = study._storage, study._study_id
        trials = storage.get_all_trials(study_id, deepcopy=False)
        fallback = {_attrs.ATTR_SOURCE: self._base_name, _attrs.ATTR_ROUND: round_.start}
        note = self._not_the_owner(study, round_, trials, trial.number)
        if note is not None:
            self._set_attrs(study, trial, {**fallback, _attrs.ATTR_NOTE: note})
            return
        record: dict[str, Any] = {"owner": trial.number, "status": "asking"}
        if self._budget is not None:
            note = self._budget.spent(storage.get_study_system_attrs(study_id))
            if note is not None:
                over = {**record, "status": "over_budget", "note": note}
                attrs = {**fallback, _attrs.ATTR_NOTE: note}
                self._set_attrs(study, trial, attrs, (round_.key, over))
                return
        storage.set_study_system_attr(study_id, round_.key, record)
        complete = sum(t.state is TrialState.COMPLETE for t in trials)
        chooses = self._choose is not None and self._choose.applies_to(
            round_.start, _writing_evidence(decision), complete
        )
        try:
            self._ask_and_plan(study, trial, round_, trials, record, chooses)
        except Exception as e:
            # before_trial sends the trial to the base sampler; the record must not stay "asking".
            error = redact(f"{type(e).__name__}: {e}", collect_secrets(self._llm))
            record = {**record, "status": "failed", "error": error}
            storage.set_study_system_attr(study_id, round_.key, record)
            raise

    def _ask_and_plan(
        self,
        study: Study,
        trial: FrozenTrial,
        round_: _Round,
        trials: Sequence[FrozenTrial],
        record: dict[str, Any],
        chooses: bool,
    ) -> None:
        fallback = {_attrs.ATTR_SOURCE: self._base_name, _attrs.ATTR_ROUND: round_.start}
        search_space = self._search_space or search_space_from_trials(trials)
        if not search_space:
            note = "no search space yet: pass search_space= or wait for a finished trial"
            skipped = {**record, "status": "skipped"}
            attrs = {**fallback, _attrs.ATTR_NOTE: note}
            self._set_attrs(study, trial, attrs, (round_.key, skipped))
            return

        call = self._prefetched(study, round_, search_space, trial.number)
        if call is None:
            call = self._call(
                study, round_, trials, search_space, trial.number,
                choose_on=trial if chooses else None,
            )
        record["seconds"] = call.seconds
        outcome = self._judge(study, call, trials, len(round_.slots))
        if outcome.error is not None:
            _logger.warning(
                "LLM round %s (trial %d): %s", round_.label, trial.number, outcome.error
            )
            attrs = {**outcome.about, **fallback, _attrs.ATTR_ERROR: outcome.error}
            if outcome.notes:
                attrs[_attrs.ATTR_REPAIRS] = _repairs_json(outcome.notes)
            failed = {**record, "status": outcome.status, "error": outcome.error}
            self._set_attrs(study, trial, attrs, (round_.key, failed))
            return

        if not chooses and self._choose is not None and self._choose.vet_writes:
            outcome = self._vet(study, trial, round_, trials, search_space, outcome, record)

        # The owner takes the first configuration and enqueues the rest for the round's
        # other trials, which pop them from the queue with their attributes.
        own, *rest = outcome.proposals
        self._set_plan(trial, own.params)
        for index, proposal in enumerate(rest, start=1):
            study.enqueue_trial(dict(proposal.params), user_attrs=outcome.attrs_for(index))
        done = {
            **record,
            "status": "done",
            "proposals": len(outcome.proposals),
            **dropped_details(outcome.notes),
        }
        self._set_attrs(study, trial, outcome.attrs_for(0), (round_.key, done))
        _logger.info(
            "LLM round %s (trial %d): %d of %d configuration(s) from %s in %.1f s, "
            "%d enqueued, %d repair(s)%s.",
            round_.label,
            trial.number,
            len(outcome.proposals),
            len(round_.slots),
            outcome.about[_attrs.ATTR_MODEL],
            outcome.about[_attrs.ATTR_LATENCY],
            len(rest),
            len(outcome.notes) + sum(len(p.repairs) for p in outcome.proposals),
            _vetting_summary(outcome.vets, self._base_name),
        )

    def _vet(
        self,
        study: Study,
        trial: FrozenTrial,
        round_: _Round,
        trials: Sequence[FrozenTrial],
        search_space: Mapping[str, BaseDistribution],
        written: _Outcome,
        record: dict[str, Any],
    ) -> _Outcome:
        """``Choose(vet_writes=True)``: the written configurations among the base sampler's
        draws, and the model's picks of them all; ``written`` itself if that call fails."""
        n = len(written.proposals)
        own = [p.params for p in written.proposals]
        call = self._call(study, round_, trials, search_space, trial.number, choose_on=trial,
                          own=own)
        record["seconds"] = round(record.get("seconds", 0.0) + call.seconds, 3)
        if call.about:  # the model was asked (not when the base sampler drew too few)
            record["calls"] = 2
        # Numbered from 1, as the prompt shows them; a place cut off by the prompt is None.
        places = [i + 1 if i < len(call.candidates) else None for i in call.own]
        vet: dict[str, Any] = {"of": len(call.candidates), "own": places}
        if call.raw is not None:
            vet["raw_reply"] = truncate(call.raw, self._config.raw_reply_chars)
            vet["latency_s"] = call.about.get(_attrs.ATTR_LATENCY)
        if _attrs.ATTR_ARTIFACTS in call.about:
            vet["artifacts"] = call.about[_attrs.ATTR_ARTIFACTS]
        picked = self._judge(study, call, trials, n)  # as a round that chooses reads its reply
        if picked.error is not None:
            vet["error"] = picked.error
            _logger.warning("LLM round %s (trial %d): vetting failed, the written "
                            "configuration(s) stand: %s", round_.label, trial.number,
                            vet["error"])
            return dataclasses.replace(written, vets=[{**vet, "kept": "written"}] * n)
        mine = {place: p for place, p in zip(places, written.proposals) if place is not None}
        numbers = [choice["picked"] for choice in picked.choices or []]
        proposals: list[Proposal] = []
        choices: list[dict[str, Any] | None] = []
        vets: list[dict[str, Any]] = []
        for number, pick, choice in zip(numbers, picked.proposals, picked.choices or []):
            drawn = number not in mine
            proposals.append(pick if drawn else mine[number])
            choices.append(choice if drawn else None)
            vets.append({**vet, "picked": number, "kept": "draw" if drawn else "written"})
        for place, proposal in zip(places, written.proposals):  # fewer picks: its own fill in
            if len(proposals) < n and (place is None or place not in numbers):
                proposals.append(proposal)
                choices.append(None)
                vets.append({**vet, "picked": None, "kept": "written"})
        return dataclasses.replace(
            written, proposals=proposals, notes=[*written.notes, *picked.notes],
            choices=choices, vets=vets, screens=None)

    def _prefetch_next(self, study: Study, trial: FrozenTrial) -> None:
        """Once the last trial of an LLM round starts, start the next round's model call."""
        assert self._prefetch is not None
        schedule = self._schedule.bind(study)
        if schedule is not self._schedule:
            return  # A schedule that follows the study has not decided the next rounds yet.
        if self._role(schedule, trial.number) is not TrialRole.LLM:
            return
        current = self._round_of(schedule, trial.number)
        if trial.number != current.slots[-1]:
            return
        following = next(
            (
                self._round_of(schedule, n)
                for n in range(trial.number + 1, trial.number + 1 + _PREFETCH_HORIZON)
                if self._role(schedule, n) is TrialRole.LLM
            ),
            None,
        )
        if following is None or self._prefetch.pending(_prefetch_key(study, following)):
            return
        records = study._storage.get_study_system_attrs(study._study_id)
        if following.key in records:
            return
        if self._budget is not None and self._budget.spent(records) is not None:
            return
        started_by = trial.number

        def call() -> _Call | None:
            trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
            search_space = self._search_space or search_space_from_trials(trials)
            if not search_space:
                return None
            finished = {t.number for t in trials if t.state.is_finished()}
            result = self._call(study, following, trials, search_space, started_by)
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
        round_: _Round,
        search_space: Mapping[str, BaseDistribution],
        number: int,
    ) -> _Call | None:
        """The model call made ahead for ``round_``, if one was and it is still of use."""
        if self._prefetch is None:
            return None
        wait = None if self._timeout is None else self._timeout + 60.0
        call = self._prefetch.take(_prefetch_key(study, round_), wait)
        if call is None or call.search_space != dict(search_space):
            return None
        call.about[_attrs.ATTR_PROPOSED_BY] = number
        return call

    def join_prefetch(self, timeout: float | None = None) -> bool:
        """Wait for a model call started ahead of its round (``prefetch=True``) to end.

        The call ahead runs in a daemon thread, which never keeps the process alive; after a
        study's last trial one may still be running, for a round that comes only if the study
        goes on. Call this to let it end first, e.g. before reading the model's statistics.

        Returns:
            :obj:`True` when no call is running any more.
        """
        return True if self._prefetch is None else self._prefetch.join(timeout)

    def _round_of(self, schedule: Schedule, number: int) -> _Round:
        span = schedule.round_of(number)
        if span is None or number not in span:
            span = range(number, number + 1)
        slots = tuple(n for n in span if self._role(schedule, n) is TrialRole.LLM)
        label = f"{span.start}-{span.stop - 1}" if len(span) > 1 else str(span.start)
        return _Round(span.start, slots, label)

    def _not_the_owner(
        self, study: Study, round_: _Round, trials: Sequence[FrozenTrial], number: int
    ) -> str | None:
        """Why trial ``number`` must not ask the model for ``round_``, or None if it must.

        The owner is the lowest-numbered trial of the round that was not popped from the queue.
        Trial numbers and enqueued parameters are in storage before any sampler sees the trial,
        so every worker names the same owner.
        """
        owner = min(
            (
                t.number
                for t in trials
                if t.number in round_.slots and "fixed_params" not in t.system_attrs
            ),
            default=number,
        )
        records = study._storage.get_study_system_attrs(study._study_id)
        if owner != number:
            return not_owner_reason(
                round_.label, owner, records.get(round_.key), len(round_.slots)
            )
        if round_.key in records:
            return f"round {round_.label} was already proposed"
        return None

    def _call(
        self,
        study: Study,
        round_: _Round,
        trials: Sequence[FrozenTrial],
        search_space: Mapping[str, BaseDistribution],
        number: int,
        *,
        choose_on: FrozenTrial | None = None,
        own: Sequence[Mapping[str, Any]] = (),
    ) -> _Call:
        """Build the prompt and call the model: the reply or the error.

        ``choose_on`` is the trial of a round that chooses: the base sampler draws the
        candidates on it and the model picks among them; ``own``, the configurations the
        model wrote for the round, join them (``Choose(vet_writes=True)``). Without
        ``choose_on`` the model writes the configurations (a round that writes, or a
        prefetched round, which has no trial yet).
        """
        c = self._config
        started = time.perf_counter()
        history = read_history(
            study,
            best=c.best_trials,
            recent=c.recent_trials,
            failures=c.failed_trials,
            trials=trials,
        )
        # A vetting call asks for one pick per configuration the model wrote, which may be
        # fewer than the round's slots.
        n = len(own) or len(round_.slots)
        asked = n * self._screen.factor if self._screen is not None else n
        evidence = self._evidence.render(study, trials, search_space) if self._evidence else ""
        candidates: list[dict[str, Any]] = []
        call_own: list[int] = []
        if self._choose is not None and choose_on is not None:
            candidates = draw_candidates(
                self._base,
                study,
                choose_on,
                search_space,
                n * self._choose.candidates - len(own),
                [*evaluated_params(trials), *own],
            )
            if len(candidates) + len(own) <= n:
                call = _Call({}, dict(search_space), asked)
                call.error = (
                    f"{self._base_name} drew {len(candidates)} new candidate(s) for {n} "
                    "trial(s): nothing to choose from"
                )
                return call
            candidates, call_own = place_own(candidates, own)
            prompt = self._builder.build(
                search_space,
                history,
                n,
                evidence=evidence,
                candidates=render_candidates(candidates, self._base_name, len(own)),
                request=choice_request(n, len(candidates)),
            )
            # Candidates cut off by the prompt's budget cannot be chosen.
            candidates = candidates[: prompt.parts["candidates"].count("\n")]
            schema = choice_schema(n, len(candidates))
        else:
            prompt = self._builder.build(search_space, history, asked, evidence=evidence)
            schema = reply_schema(search_space, asked)
        secrets = collect_secrets(self._llm)
        about: dict[str, Any] = {
            _attrs.ATTR_MODEL: redact(self._model_name, secrets),
            _attrs.ATTR_ROUND: round_.start,
            _attrs.ATTR_PROPOSED_BY: number,
            _attrs.ATTR_PROMPT_CHARS: len(prompt),
        }
        if self._evidence is not None:
            about[_attrs.ATTR_EVIDENCE_CHARS] = len(prompt.parts["evidence"])
        call = _Call(about, dict(search_space), asked)
        try:
            reply, mode = self._output.invoke(self._llm, schema, prompt.messages(), self._timeout)
        except (ModelTimeoutError, ModelCallError) as e:
            call.error = redact(str(e), secrets)
            about.update(self._keep_exchange(study, number, round_, prompt, None, secrets))
        else:
            about[_attrs.ATTR_OUTPUT_MODE] = mode.value
            call.raw = redact(reply.text, secrets)
            about.update(self._keep_exchange(study, number, round_, prompt, call.raw, secrets))
            about[_attrs.ATTR_RAW_REPLY] = truncate(call.raw, c.raw_reply_chars)
            about[_attrs.ATTR_LATENCY] = round(reply.latency, 3)
        call.candidates = candidates
        call.own = call_own
        call.seconds = round(time.perf_counter() - started, 3)
        return call

    def _judge(
        self, study: Study, call: _Call, trials: Sequence[FrozenTrial], n: int
    ) -> _Outcome:
        """Parse and repair the reply against the current history: proposals or an error."""
        about, search_space = call.about, call.search_space
        if call.error is not None or call.raw is None:
            return _Outcome(about, error=call.error or "no reply", status="failed")
        if call.candidates:
            return self._chosen(about, call.raw, call.candidates, n)
        parsed = parse_reply(call.raw, list(search_space))
        result = repair_candidates(
            parsed.candidates, search_space, evaluated_params(trials), limit=call.asked
        )
        notes = [*parsed.notes, *result.rejected]
        if result.proposals and self._screen is not None:
            kept = self._screen.select(
                result.proposals, n, trials, search_space, study.directions
            )
            return _Outcome(
                about,
                proposals=[p for p, _ in kept],
                notes=notes,
                screens=[record for _, record in kept],
            )
        if result.proposals:
            return _Outcome(about, proposals=result.proposals, notes=notes)
        error = "the reply has no usable configuration"
        if not parsed.candidates and not parsed.notes:
            error += ": no JSON object or list found"
        elif notes:
            error += ": " + "; ".join(r.detail for r in notes[-3:])
        return _Outcome(about, notes=notes, error=error, status="unusable")

    def _chosen(
        self, about: dict[str, Any], raw: str, candidates: list[dict[str, Any]], n: int
    ) -> _Outcome:
        picks = read_choices(raw, candidates, n)
        if not picks.proposals:
            detail = "; ".join(r.detail for r in picks.notes[-3:]) or "no candidate number found"
            return _Outcome(
                about,
                notes=picks.notes,
                error=f"the reply chose no candidate: {detail}",
                status="unusable",
            )
        choices = [
            {"picked": number, "of": len(candidates), "drawn_by": self._base_name}
            for number in picks.numbers
        ]
        return _Outcome(about, proposals=picks.proposals, notes=picks.notes, choices=choices)

    def _keep_exchange(
        self,
        study: Study,
        number: int,
        round_: _Round,
        prompt: Any,
        reply: str | None,
        secrets: Any,
    ) -> dict[str, Any]:
        if self._artifact_store is None:
            return {}
        text = redact(prompt_text(prompt.messages()), secrets)
        kept = keep_exchange(self._artifact_store, study, number, round_.label, text, reply)
        return {_attrs.ATTR_ARTIFACTS: kept} if kept else {}

    def _set_attrs(
        self,
        study: Study,
        trial: FrozenTrial,
        attrs: Mapping[str, Any],
        round_record: tuple[str, dict[str, Any]] | None = None,
        *,
        study_attrs: Mapping[str, Any] | None = None,
    ) -> None:
        """Write ``attrs`` on the trial, and ``round_record`` and ``study_attrs`` on the study,
        in one go."""
        on_study = dict(study_attrs or {})
        if round_record is not None:
            on_study[round_record[0]] = round_record[1]
        write_attrs(
            study._storage, trial._trial_id, attrs, study_id=study._study_id,
            study_system_attrs=on_study,
        )
        # The objective reads trial.user_attrs from this cached frozen trial.
        trial.user_attrs.update(attrs)


@dataclasses.dataclass(frozen=True)
class _Round:
    """A block of LLM-scheduled trial numbers answered by one model call."""

    start: int
    slots: tuple[int, ...]
    label: str

    @property
    def key(self) -> str:
        return _attrs.ROUND_RECORD_PREFIX + str(self.start)


@dataclasses.dataclass
class _Call:
    """One model call for a round: the reply's text or the error, and what the trials record."""

    about: dict[str, Any]
    search_space: dict[str, BaseDistribution]
    asked: int
    raw: str | None = None
    error: str | None = None
    seconds: float = 0.0
    candidates: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    own: list[int] = dataclasses.field(default_factory=list)
    """Where in ``candidates`` each of the model's own configurations is (vetting); a place
    past the list's end was cut off by the prompt's budget."""


@dataclasses.dataclass
class _Outcome:
    """What one model call gave: proposals, or an error; attributes shared by the round."""

    about: dict[str, Any]
    proposals: list[Proposal] = dataclasses.field(default_factory=list)
    notes: list[Repair] = dataclasses.field(default_factory=list)
    error: str | None = None
    status: str = "done"
    screens: list[dict[str, Any]] | None = None
    choices: list[dict[str, Any] | None] | None = None
    vets: list[dict[str, Any]] | None = None

    def attrs_for(self, index: int) -> dict[str, Any]:
        proposal = self.proposals[index]
        attrs = {
            **self.about,
            _attrs.ATTR_SOURCE: _attrs.SOURCE_LLM,
            _attrs.ATTR_RATIONALE: proposal.rationale,
            _attrs.ATTR_REPAIRS: _repairs_json([*self.notes, *proposal.repairs]),
        }
        if self.screens is not None:
            attrs[_attrs.ATTR_SCREEN] = self.screens[index]
        if self.choices is not None and self.choices[index] is not None:
            attrs[_attrs.ATTR_CHOICE] = self.choices[index]
        if self.vets is not None:
            attrs[_attrs.ATTR_VET] = self.vets[index]
        return attrs


_PREFETCH_HORIZON = 1000
"""How many trial numbers past a round the next LLM round is looked for."""


def _vetting_summary(vets: Sequence[Mapping[str, Any]] | None, base_name: str) -> str:
    """The log line's account of a vetted round: what the model kept, or that vetting failed."""
    if not vets:
        return ""
    if any(v.get("error") for v in vets):
        return "; vetting failed, its own configuration(s) stand"
    kept = sum(v.get("kept") == "written" for v in vets)
    latency = vets[0].get("latency_s")
    took = f" in {latency:.1f} s" if isinstance(latency, (int, float)) else ""
    return (f"; vetted{took}: kept {kept} of its own, preferred {len(vets) - kept} of "
            f"{base_name}'s draws")


def _prefetch_key(study: Study, round_: _Round) -> tuple[int, int, int]:
    return (id(study._storage), study._study_id, round_.start)


def _writing_evidence(decision: Mapping[str, Any] | None) -> float | None:
    """The probability that the model writes better trials than the base sampler proposes.

    A schedule's record carries ``p_written`` when some of the model's trials were picked
    among the base sampler's candidates: those say how well it chooses, and a model that
    chooses well but writes badly must not earn rounds to write with them. Without picks (and
    in records written before ``p_written`` existed) ``p_better`` judges the same trials.
    :obj:`None`: no evidence, the round chooses.
    """
    if decision is None:
        return None
    if "p_written" in decision:
        return decision["p_written"]
    return decision.get("p_better")


def _fits(dist: BaseDistribution, value: Any) -> bool:
    """Whether Optuna would take ``value`` as a value of ``dist``."""
    try:
        return bool(dist._contains(dist.to_internal_repr(value)))
    except (ValueError, TypeError):
        return False


def _whole_study(study: Study) -> Study:
    try:
        return object.__getattribute__(study, "_study")
    except AttributeError:
        return study


def _model_name(llm: Any) -> str:
    return redact(model_name(llm), collect_secrets(llm))


def _repairs_json(repairs: Sequence[Repair]) -> list[dict[str, Any]]:
    return [r.to_json() for r in repairs]


_T = TypeVar("_T")


def _check_option(name: str, value: _T | None, kind: type[_T]) -> _T | None:
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__} or None, got {value!r}")
    return value


def _check_search_space(
    search_space: Mapping[str, BaseDistribution] | None,
) -> dict[str, BaseDistribution] | None:
    if search_space is None:
        return None
    out = {}
    for name, dist in search_space.items():
        if not isinstance(name, str) or not name:
            raise SearchSpaceError(f"search_space has a non-string or empty name: {name!r}")
        if not isinstance(dist, BaseDistribution):
            raise SearchSpaceError(
                f"search_space[{name!r}] must be an optuna distribution, got {dist!r}"
            )
        out[name] = dist
    if not out:
        raise SearchSpaceError("search_space is empty; pass None to read it from the study")
    return out


def _check_descriptions(descriptions: Mapping[str, str] | None) -> dict[str, str]:
    out = {}
    for name, text in (descriptions or {}).items():
        if not isinstance(text, str):
            raise SearchSpaceError(
                f"descriptions[{name!r}] must be a string, got {type(text).__name__}"
            )
        out[str(name)] = text
    return out


def _check_baseline(
    baseline: Mapping[str, Any] | None,
    search_space: Mapping[str, BaseDistribution] | None,
) -> dict[str, Any] | None:
    if baseline is None:
        return None
    out = dict(baseline)
    if search_space is None:
        return out
    for name, value in out.items():
        if name not in search_space:
            raise SearchSpaceError(f"baseline[{name!r}] is not a parameter of search_space")
        dist = search_space[name]
        if not _fits(dist, value):
            raise SearchSpaceError(f"baseline[{name!r}] = {value!r} is outside {dist!r}")
    return out
