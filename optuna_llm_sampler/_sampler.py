"""LLMSampler: wiring of schedule, model rounds and the base sampler.

The sampler decides each trial's role with its schedule, hands the LLM trials to
:class:`~optuna_llm_sampler._round.ModelRounds` (prompt, model call, parse and repair, the
trial queue) and every other trial, and every parameter a proposal lacks, to the base sampler.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from typing import TYPE_CHECKING

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.samplers import TPESampler
from optuna.trial import TrialState

from optuna_llm_sampler._model._invoke import model_name as model_name_of
from optuna_llm_sampler._model._output_mode import OutputModes
from optuna_llm_sampler._policy._adaptive import others_running
from optuna_llm_sampler._policy._adaptive import startup_trials
from optuna_llm_sampler._policy._budget import ModelBudget
from optuna_llm_sampler._policy._choose import Choose
from optuna_llm_sampler._policy._choose import DEFAULT_CHOOSE
from optuna_llm_sampler._policy._options import check_option
from optuna_llm_sampler._policy._options import model_role
from optuna_llm_sampler._policy._presets import DEFAULT_PRESET
from optuna_llm_sampler._policy._schedule import BindContext
from optuna_llm_sampler._policy._schedule import TrialRole
from optuna_llm_sampler._policy._screen import Screen
from optuna_llm_sampler._proposal._evidence import Evidence
from optuna_llm_sampler._proposal._prompt import load_knowledge
from optuna_llm_sampler._proposal._prompt import PromptBuilder
from optuna_llm_sampler._proposal._prompt import PromptConfig
from optuna_llm_sampler._proposal._space import check_baseline
from optuna_llm_sampler._proposal._space import check_descriptions
from optuna_llm_sampler._proposal._space import check_search_space
from optuna_llm_sampler._proposal._space import fits
from optuna_llm_sampler._records import _attrs
from optuna_llm_sampler._records._attr_io import write_trial_attrs
from optuna_llm_sampler._records._notes import TrialNotes
from optuna_llm_sampler._records._redact import collect_secrets
from optuna_llm_sampler._records._redact import redact
from optuna_llm_sampler._round import ModelRounds
from optuna_llm_sampler._round import RoundSettings
from optuna_llm_sampler._round._parts import role_of
from optuna_llm_sampler._round._plans import Plans


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Mapping
    from collections.abc import Sequence

    from langchain_core.language_models import BaseChatModel
    from optuna.artifacts._protocol import ArtifactStore
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from optuna_llm_sampler._policy._schedule import RoleLike
    from optuna_llm_sampler._policy._schedule import Schedule


_logger = logging.getLogger(__name__)


class LLMSampler(BaseSampler):
    """Sampler in which a language model proposes some trials, a base sampler the rest.

    The model reads the study's history from storage and background knowledge about the
    system, and proposes configurations; the base sampler (TPE by default) handles every other
    trial untouched and fills any parameter a proposal lacks. Trial 0 is the baseline when one
    is given. By default the model writes trial 7, after six of the base sampler's random
    draws, then earns blocks of two trials by how its trials fare against the base sampler's
    proposals; from trial 10 it picks among the base sampler's candidates unless what it wrote
    is ahead (the ``"adaptive"`` preset). ``schedule="alternating"`` gives two model trials and
    two of the base sampler's in turn, the model writing every one of its rounds.

    A round asks the model once for all of its configurations; they are parsed leniently,
    repaired against the distributions and enqueued, and every worker agrees on which trial
    asks, so ``n_jobs > 1`` and several processes on one storage call the model once per round.
    Each trial records who proposed it, the model, the rationale, the repairs, the raw reply
    and the latency or the error as user attributes (names in :mod:`optuna_llm_sampler.attrs`)
    and, with optuna-dashboard installed, a note telling its story. A failed model call never
    fails the study: the trial goes to the base sampler and the failure is recorded.

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import LLMSampler, make_chat_model


            def objective(trial):
                x = trial.suggest_int("x", 1, 64)
                return (x - 24) ** 2


            sampler = LLMSampler(
                make_chat_model("random", seed=0),  # a stand-in, not a model; "local" is SmolLM2
                search_space={"x": optuna.distributions.IntDistribution(1, 64)},
                knowledge="x is the number of worker processes; the machine has 24 cores.",
                baseline={"x": 8},
                seed=0,
            )
            study = optuna.create_study(sampler=sampler)
            study.optimize(objective, n_trials=12)
            print([t.user_attrs["source"] for t in study.trials])

    Args:
        llm:
            A LangChain chat model, e.g. from :func:`~optuna_llm_sampler.make_chat_model`.
            Anything with ``invoke(messages)`` returning a message or a string works.
        base_sampler:
            Sampler for every trial the model does not propose. Default
            :class:`~optuna.samplers.TPESampler` seeded with ``seed``.
        schedule:
            Who proposes each trial: a preset's name (``"adaptive"``, the default;
            ``"alternating"``; ``"write"``; see :data:`~optuna_llm_sampler.PRESETS`), a
            :class:`~optuna_llm_sampler.Schedule`, or a function of the trial number. A preset
            also sets ``choose`` unless it is given.
        search_space:
            Parameter name to distribution, shown to the model and used to repair its reply.
            Default: the distributions of the study's finished trials; until one exists, the
            model's rounds go to the base sampler.
        knowledge:
            Background for the model (system, hardware, application, what the knobs do): a
            string, or a path (``pathlib.Path``) to a text file.
        descriptions:
            Parameter name to a description shown next to its range (e.g. A-Tune's ``desc``).
        baseline:
            Parameter values of the configuration to measure first, as trial 0 (``baseline``).
        seed:
            Seed of the default base sampler (ignored when ``base_sampler`` is given) and of
            the ``random`` stand-in when it was built without one.
        choose:
            Whether a model round writes values or picks among the base sampler's candidates:
            a :class:`~optuna_llm_sampler.Choose` (default ``Choose()``, the measured default)
            or :obj:`None` for the model to write every round.
        prompt:
            Sizes of the prompt's parts and of the history (:class:`PromptConfig`).
        timeout:
            Seconds to wait for the model before its trial goes to the base sampler. Default
            120, enough for a small local model on two cores.
        structured_output:
            How to ask for the reply's JSON schema. :obj:`None` (default): the strongest form
            the model accepts (``json_schema``, then ``json_object``, then the prompt alone),
            remembered once a server refuses one; :obj:`True`: the schema forms only;
            :obj:`False`: the prompt alone; a form's name: that form only.
        model_name:
            Name recorded in ``llm_model``; default the model's own name.
        budget:
            A :class:`~optuna_llm_sampler.ModelBudget` capping the study's model calls and
            seconds; past it the model's trials go to the base sampler. Default: no cap.
        artifact_store:
            An Optuna artifact store that keeps each model call's whole prompt and reply as
            files attached to the trial that made the call. Default: only the truncated reply.

    Experimental args (they may change without a deprecation period):
        screen:
            A :class:`~optuna_llm_sampler.Screen`: ask for several times the round's
            configurations and keep those a surrogate ranks best. Needs ``choose=None``.
        evidence:
            An :class:`~optuna_llm_sampler.Evidence`: per-knob evidence from the history in
            the prompt.
        prefetch:
            Start the next round's model call in a background thread when the current round's
            last trial starts, so the model's latency hides behind the objective (the prompt
            then lacks the trials still running). Needs a schedule fixed in advance and
            ``choose=None``: ``schedule="alternating"`` is both.
    """

    def __init__(
        self,
        llm: BaseChatModel | Any,
        *,
        base_sampler: BaseSampler | None = None,
        schedule: str | Schedule | Callable[[int], RoleLike] = DEFAULT_PRESET,
        search_space: Mapping[str, BaseDistribution] | None = None,
        knowledge: str | os.PathLike[str] | None = None,
        descriptions: Mapping[str, str] | None = None,
        baseline: Mapping[str, Any] | None = None,
        seed: int | None = None,
        choose: Choose | None = DEFAULT_CHOOSE,
        prompt: PromptConfig | None = None,
        timeout: float | None = 120.0,
        structured_output: bool | str | None = None,
        model_name: str | None = None,
        budget: ModelBudget | None = None,
        artifact_store: ArtifactStore | None = None,
        screen: Screen | None = None,
        evidence: Evidence | None = None,
        prefetch: bool = False,
    ) -> None:
        if not callable(getattr(llm, "invoke", None)):
            raise TypeError(f"llm must be a chat model with an invoke() method, got {llm!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive or None, got {timeout!r}")
        if seed is not None and getattr(llm, "seed", 0) is None and hasattr(llm, "with_seed"):
            llm = llm.with_seed(seed)  # a stand-in built without a seed replays with the study
        base = base_sampler if base_sampler is not None else TPESampler(seed=seed)
        self._schedule, choose = model_role(schedule, choose, screen, prefetch)
        self._base_startup = startup_trials(base)
        space = check_search_space(search_space)
        self._baseline = check_baseline(baseline, space)
        config = prompt if prompt is not None else PromptConfig()
        if artifact_store is not None and not callable(getattr(artifact_store, "write", None)):
            raise TypeError(f"artifact_store must be an Optuna artifact store (with write()), got {artifact_store!r}")
        self._rounds = ModelRounds(
            RoundSettings(
                llm=llm,
                base=base,
                output=OutputModes(structured_output, llm),
                builder=PromptBuilder(config, load_knowledge(knowledge), check_descriptions(descriptions)),
                config=config,
                model_name=model_name or redact(model_name_of(llm), collect_secrets(llm)),
                timeout=timeout,
                search_space=space,
                baseline=self._baseline is not None,
                budget=check_option("budget", budget, ModelBudget),
                screen=screen,
                evidence=check_option("evidence", evidence, Evidence),
                choose=choose,
                artifact_store=artifact_store,
            ),
            prefetch=prefetch,
        )
        self._notes = TrialNotes()
        self._plans = Plans()
        # The schedule's decisions not yet in storage, by study (see ``_prepare``). A record
        # lost to a race of two threads is decided again, the same way, when it is next needed.
        self._unwritten: dict[tuple[int, int], dict[str, Any]] = {}

    def __repr__(self) -> str:
        s = self._rounds.settings
        return f"LLMSampler(model={s.model_name!r}, base_sampler={s.base_name}, schedule={self._schedule!r})"

    @property
    def llm(self) -> BaseChatModel | Any:
        """The chat model the sampler asks."""
        return self._rounds.settings.llm

    @property
    def base_sampler(self) -> BaseSampler:
        """The sampler that handles non-LLM trials."""
        return self._rounds.settings.base

    @property
    def schedule(self) -> Schedule:
        """The schedule deciding which trials the LLM proposes."""
        return self._schedule

    @property
    def choose(self) -> Choose | None:
        """How the model's rounds pick among the base sampler's candidates (:obj:`None`: they
        write every configuration)."""
        return self._rounds.settings.choose

    def role(self, number: int, study: Study | None = None) -> TrialRole:
        """The role of trial ``number``: the schedule's, except trial 0 with a ``baseline``.

        Pass ``study`` for a schedule that follows the study's results (such as
        :class:`~optuna_llm_sampler.AdaptiveSchedule`): its recorded decision is returned.
        """
        schedule = (
            self._schedule
            if study is None
            else self._schedule.bind(study, BindContext(base_startup=self._base_startup))
        )
        return role_of(schedule, number, baseline=self._baseline is not None)

    def decision(self, number: int, study: Study) -> dict[str, Any] | None:
        """The schedule's decision for the block of trial ``number`` of ``study``: its role, the
        model's share and the evidence (as in a model slot's ``llm_share`` attribute), read from
        storage or decided from the study's trials; :obj:`None` for a fixed schedule."""
        bound = self._schedule.bind(study, BindContext(base_startup=self._base_startup))
        return bound.explain(number)

    def join_prefetch(self, timeout: float | None = None) -> bool:
        """Wait for a model call started ahead of its round (``prefetch=True``) to end.

        The call ahead runs in a daemon thread, which never keeps the process alive; after a
        study's last trial one may still be running, for a round that comes only if the study
        goes on. Call this to let it end first, e.g. before reading the model's statistics.

        Returns:
            :obj:`True` when no call is running any more.
        """
        return self._rounds.join_prefetch(timeout)

    # BaseSampler interface ---------------------------------------------------------------------

    def reseed_rng(self) -> None:
        self.base_sampler.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        search_space = self.base_sampler.infer_relative_search_space(study, trial)
        plan = self._plans.get(trial._trial_id)
        if plan:
            # Parameters the model proposed are sampled in sample_independent, from the plan.
            search_space = {k: v for k, v in search_space.items() if k not in plan}
        return search_space

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self.base_sampler.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        plan = self._plans.get(trial._trial_id)
        if plan is not None and param_name in plan:
            value = plan[param_name]
            if fits(param_distribution, value):
                return value
            _logger.warning(
                "Trial %d: planned %s=%r does not fit %r; the base sampler chooses.",
                trial.number,
                param_name,
                value,
                param_distribution,
            )
        return self.base_sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        # With HyperbandPruner, samplers get a per-bracket view of the study that cannot
        # enqueue trials; rounds and history concern the whole study.
        whole = _whole_study(study)
        try:
            self._prepare(whole, trial)
        except Exception as e:  # The study must go on with the base sampler.
            message = self._redacted(e)
            _logger.error("Trial %d: LLMSampler could not prepare it: %s", trial.number, message)
            self._plans.drop(trial._trial_id)
            write_trial_attrs(
                study,
                trial,
                {_attrs.ATTR_SOURCE: self._rounds.settings.base_name, _attrs.ATTR_ERROR: message},
            )
        try:
            self._rounds.prefetch_next(whole, trial, self._schedule)
        except Exception as e:  # Only the next round's head start is lost.
            _logger.warning("Trial %d: no prefetch of the next round: %s", trial.number, self._redacted(e))
        self.base_sampler.before_trial(study, trial)
        self._notes.write(whole, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._plans.drop(trial._trial_id)
        self.base_sampler.after_trial(study, trial, state, values)

    # Planning ----------------------------------------------------------------------------------

    def _prepare(self, study: Study, trial: FrozenTrial) -> None:
        schedule = self._schedule.bind(study, BindContext(in_ask=True, base_startup=self._base_startup))
        role = role_of(schedule, trial.number, baseline=self._baseline is not None)
        decision = schedule.explain(trial.number)
        # A model slot records its block's decision; a base slot records nothing.
        attrs: dict[str, Any] = {_attrs.ATTR_SHARE: decision} if role is TrialRole.LLM and decision is not None else {}
        # A trial the base sampler proposes in its own slot is not written at all (a trial
        # without a source attribute means just that), so the sampler costs it no storage
        # write. The schedule's decisions go to storage with the next attributes written, in
        # one transaction, and at once while other trials run (other workers read them).
        key = (id(study._storage), study._study_id)
        pending = self._unwritten.setdefault(key, {})
        pending.update(schedule.take_records())
        base_name = self._rounds.settings.base_name
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
                self._plans.set(trial._trial_id, self._baseline)
                attrs[_attrs.ATTR_SOURCE] = _attrs.SOURCE_BASELINE
            else:
                attrs[_attrs.ATTR_SOURCE] = base_name
                attrs[_attrs.ATTR_NOTE] = "baseline slot, but no baseline was given"
        elif role is TrialRole.LLM:
            llm_round = True
        if attrs or llm_round or (pending and others_running(study, trial)):
            write_trial_attrs(study, trial, attrs, study_attrs=self._unwritten.pop(key, {}))
        if llm_round:
            plan = self._rounds.run(study, trial, schedule, decision)
            if plan is not None:
                self._plans.set(trial._trial_id, plan)

    def _redacted(self, error: Exception) -> str:
        return redact(f"{type(error).__name__}: {error}", collect_secrets(self._rounds.settings.llm))


def _whole_study(study: Study) -> Study:
    try:
        return object.__getattribute__(study, "_study")
    except AttributeError:
        return study
