"""The standalone A-Tune project runner: A-Tune's tuning loop on an Optuna study, no atuned.

One trial is one A-Tune iteration:

1. the sampler proposes a value for every tunable parameter (trial 0 is the baseline);
2. each value passes the gate (declared domain, then safe characters: see
   :mod:`atune_bridge._runner._shell`); a value that does not fails the trial before any command runs;
   A-Tune's ``less``/``greater`` relations are kept by moving a value that breaks one to the
   nearest value that keeps it (recorded as ``relation_repairs``; ``params_text`` is what was
   set), ``multiple`` factors become their products (``set_values``); a relation no value
   keeps is scored with the evaluations' thresholds as atuned does, or fails the trial
   (see :mod:`atune_bridge._format._relations`);
3. every parameter's ``set`` runs with ``$value`` substituted (A-Tune's ``RunSet`` sets them
   all each iteration);
4. ``stopworkload`` then ``startworkload`` run when a parameter with ``needrestart`` changed
   (A-Tune restarts every iteration as soon as any object has ``needrestart``; restarting
   only on a change saves a restart per unchanged trial);
5. the ``benchmark`` runs, each evaluation's ``get`` reads its metric from ``$out``;
6. the metrics are scored (:mod:`atune_bridge._format._evaluate`) and told to the study.

A failed command, a timeout or an unreadable metric fails that trial (``TrialState.FAIL``,
with ``fail_reason`` and the step's output kept as user attributes) and the study goes on.

Baseline and restoration. Before anything is set, each parameter's current value is read
with its ``get`` (``ref`` when it has none) and stored in the study as the *original*
values; the *baseline* configuration is ``ref`` where given, else the original value.
Trial 0 applies the baseline (nothing to do unless a ``ref`` differs) and measures it; it is
measured once per study and reused on resume. On every exit (end, Ctrl-C, SIGTERM, an
exception, a closed terminal's SIGHUP) the original values are set back, or the best configuration is applied with
``apply_best``. The original and baseline values come from the system or the YAML, not a
sampler, so they are exempt from the domain check (the system may sit outside the tuned
domain) but not from the character rule.

Records. At the end of every run the model's proposals left ``WAITING`` by a round the run
stopped in are failed and marked ``llm_discarded`` (Optuna cannot delete a trial; every count
leaves them out, the budget included), and the study's optuna-dashboard note is written. With
``LLMSampler`` the model's prompts and replies are kept as artifacts next to a SQLite file
(``RunnerConfig.artifact_dir``).

One run at a time. A run takes the study's claim (:mod:`atune_bridge._runner._claim`) before
its first command and holds it until the values are set back; a second run on the same study
stops with :class:`StudyBusyError` before reading or setting anything. After setting the
values back, each one set is read back with its ``get``; the run says they are back only when
they match (else :attr:`RunResult.restore_error`).

Resume. Running again with the same storage and study name continues the study: finished
trials are kept; a trial left ``RUNNING`` by a killed run (whose claim the new run took over)
is marked ``FAIL``; the budget counts every finished trial, the baseline included.

Faults of the machine. A storage that cannot be written (a full disk, a lost database server)
or a system error on a file the run writes stops the run: the values are set back first, then
:class:`SystemFaultError` names the cause. Nothing measured before is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import errno
import socket
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from atune_bridge._format import (
    DEFAULT_BEST,
    AtuneBridgeError,
    ClientSpec,
    DomainError,
    MetricError,
    Scoring,
    ServerSpec,
    describe_domain,
    load_client,
    load_server,
    parse_metric,
    relation_problems,
    search_space,
)
from atune_bridge._runner._claim import StudyClaim
from atune_bridge._runner._config import RunnerConfig
from atune_bridge._runner._confirm import STUDY_CONFIRM, confirm_gain
from atune_bridge._runner._errors import BaselineError, ProjectError, StudyMismatchError, SystemFaultError
from atune_bridge._runner._records import (
    ATTR_FAIL_REASON,
    SOURCE_BASELINE,
    SOURCE_ENQUEUED,
    STUDY_APPLIED,
    STUDY_BASELINE,
    STUDY_MODE,
    STUDY_ORIGINAL,
    STUDY_PROJECT,
    RunResult,
    TrialReport,
    _open_storage,
    fail_stale_trials,
    _source_key,
    is_discarded,
)
from atune_bridge._runner._relate import ATTR_THRESHOLD_SCORED, configure, threshold_metrics
from atune_bridge._runner._report import (
    best_trial,
    crowned_by,
    ranked_trials,
    stored_rerank,
    summarize,
    write_report,
)
from atune_bridge._runner._rerank import (
    Candidate,
    candidate_trials,
    pick_candidates,
    rank_value,
    ranking,
    rerank,
    trial_rank_value,
)
from atune_bridge._runner._study_note import write_study_note
from atune_bridge._runner._sampler import build_sampler, parameter_descriptions, project_knowledge
from atune_bridge._runner._secrets import passed_variables, redact
from atune_bridge._runner._shell import (
    OUT_VARIABLE,
    CommandInterrupted,
    UnsafeValueError,
    run_command,
    substitute_out,
    truncate,
    value_text,
)
from atune_bridge._runner._stop import STUDY_STOPPED, StopRules
from atune_bridge._runner._system import _normalise, _same, _StepFailed, _System, mismatch_text
from atune_bridge._runner._warm import WarmStart

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler
    from optuna.study import Study
    from optuna.trial import FrozenTrial, Trial

logger = logging.getLogger(__name__)

_OUTPUT_ENV_LIMIT = 100_000
_IS_BASELINE = "is the baseline"
"""What :meth:`Runner._unconfirmable` says of the baseline's trial."""


def system_fault(exc: BaseException, storage: str) -> str | None:
    """What went wrong when ``exc`` is a fault of the machine rather than of the project: the
    storage could not be read or written, or a file operation failed; None otherwise."""
    from optuna.exceptions import StorageInternalError

    cause: BaseException = exc
    if isinstance(exc, StorageInternalError) and exc.__cause__ is not None:
        cause = exc.__cause__
    is_sql = any(c.__module__.startswith("sqlalchemy") for c in type(cause).__mro__)
    if isinstance(cause, OSError):
        where = f" ({cause.filename})" if cause.filename else ""
        text = f"{cause.strerror or cause}{where}"
        full = cause.errno in (errno.ENOSPC, errno.EDQUOT)
    elif is_sql or isinstance(exc, StorageInternalError):
        original = getattr(cause, "orig", None) or cause
        text = f"the storage {storage} failed: {str(original).splitlines()[0] if str(original) else type(original).__name__}"
        full = "disk is full" in text or "No space left" in text
    else:
        return None
    if full:
        text += " (the disk is full: free space, then run the same command again to resume)"
    return text


# --------------------------------------------------------------------------- the runner


class Runner:
    """Tunes an A-Tune project (server + client YAML) on an Optuna study, without atuned.

    Example:
        A "service" whose setting ``x`` lives in a file and whose benchmark prints it:

        >>> import pathlib, tempfile
        >>> from atune_bridge import Runner, RunnerConfig, client_from_dict, server_from_dict
        >>> work = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (work / "x").write_text("3\\n")
        >>> server = server_from_dict({"project": "demo", "object": [{"name": "x", "info": {
        ...     "get": "cat x", "set": "echo $value > x", "type": "discrete", "dtype": "int",
        ...     "scope": [1, 9]}}]})
        >>> client = client_from_dict({"benchmark": "cat x", "evaluations": [
        ...     {"name": "score", "info": {"get": "echo '$out'", "type": "negative"}}]})
        >>> config = RunnerConfig(storage=f"sqlite:///{work}/demo.db", llm="none", n_trials=5,
        ...                       seed=0, workdir=str(work))
        >>> result = Runner(server, client, config).run()
        >>> [t.user_attrs["source"] for t in result.study.trials][:2]
        ['baseline', 'TPESampler']
        >>> (work / "x").read_text()  # the original value is set back
        '3\\n'

    Args:
        server: The server file: parameters, their ``get``/``set``, the workload commands.
        client: The client file: the benchmark and its evaluations.
        config: Storage, budget, model, timeouts (see :class:`RunnerConfig`).
        sampler: Use this sampler instead of building one from ``config.llm``.
        on_trial: Called after every finished trial with a :class:`TrialReport`.
    """

    def __init__(
        self,
        server: ServerSpec,
        client: ClientSpec,
        config: RunnerConfig | None = None,
        *,
        sampler: BaseSampler | None = None,
        on_trial: Callable[[TrialReport], None] | None = None,
    ) -> None:
        self.server = server
        self.client = client
        self.config = config or RunnerConfig()
        self.scoring = Scoring(tuple(client.evaluations), self.config.multi_objective)
        self.study_name = self.config.study_name or server.project
        self._sampler = sampler
        self._on_trial = on_trial
        self._stop = threading.Event()
        self._stop_reason: str | None = None
        self._restoring = False
        self._source_key = _source_key()
        self._knobs = list(server.tunable)
        self._space: dict[str, BaseDistribution] = {}
        self._passed = passed_variables(self.config.pass_env, server, client)
        self._system = _System(server, self._knobs, self.config, self._passed)
        self._original: dict[str, str] = {}
        self._baseline_config: dict[str, str] = {}
        self._baseline_metrics: dict[str, float] | None = None
        self._study: Study | None = None
        self._storage: optuna.storages.BaseStorage | None = None
        self._host = socket.gethostname()
        self._warnings: list[str] = []
        self._stop_rules = StopRules(self.config.target_gain, self.config.patience)
        self._result: RunResult | None = None

    # ----------------------------------------------------------------- public

    @property
    def budget(self) -> int:
        """Finished trials to reach (baseline and earlier runs included)."""
        if self.config.n_trials is not None:
            return self.config.n_trials
        return self.client.iterations + 1

    def stop(self, reason: str = "stop requested") -> None:
        """Ask the run to stop: the running command is ended, the trial failed, values restored.

        Thread-safe; the signal handlers of :meth:`run` call it for SIGINT, SIGTERM and SIGHUP.
        """
        if self._stop_reason is None:
            self._stop_reason = reason
        self._stop.set()

    def run(self) -> RunResult:
        """Run the tuning loop until the budget is reached or a stop is asked.

        Raises:
            ProjectError: the project cannot be tuned as given.
            BaselineError: the baseline measurement failed.
            StudyBusyError, StudyMismatchError: the stored study cannot be continued.
            SamplerUnavailableError: the model cannot be built.
            SystemFaultError: the storage or the disk failed; the values were set back first.
        """
        self._check_project()
        claim = StudyClaim(self.config.storage, self.study_name, "tune")
        try:
            claim.lock()
        except OSError as exc:
            raise SystemFaultError(
                f"cannot take the study's claim: {system_fault(exc, self.config.storage)}; nothing was read or set"
            ) from None
        try:
            return self._run_claimed(claim)
        except Exception as exc:
            fault = system_fault(exc, self.config.storage)
            if fault is None:
                raise
            raise SystemFaultError(f"the run stopped: {fault}; {self._restored_text()}") from None
        finally:
            claim.release()

    @property
    def result(self) -> RunResult | None:
        """The :class:`RunResult` of the last :meth:`run`, also when it raised (None when it
        stopped before opening the study): whether the values were set back."""
        return self._result

    def _restored_text(self) -> str:
        """What became of the service's values, for :class:`SystemFaultError`'s message."""
        result = self._result
        if result is None or not self._system.touched:
            return "nothing was set"
        if result.restore_error:
            left = ", ".join(f"{n}={v}" for n, v in result.left_changed.items()) or "unknown"
            return (
                f"setting the values back failed too: {result.restore_error}; left changed: {left} "
                "(the study keeps the original values: atune-bridge restore sets them)"
            )
        return f"left applied: {result.applied}"

    def _run_claimed(self, claim: StudyClaim) -> RunResult:
        storage = _open_storage(self.config.storage)
        self._storage = storage
        stored = self._stored_study(storage, claim)
        result = RunResult(
            study=None,  # type: ignore[arg-type]
            scoring=self.scoring,
            storage=self.config.storage,
            study_name=self.study_name,
            server=self.server,
            client=self.client,
            warnings=self._warnings,
        )
        self._result = result
        fault = False
        with self._signal_handlers():
            try:
                self._read_system(stored)
                warm = (
                    WarmStart.read(
                        self.config.warm_start, self.config.storage, self.study_name, self._space, DEFAULT_BEST
                    )
                    if self.config.warm_start
                    else None
                )
                study = self._open_study(storage, stored)
                claim.record(storage, study._study_id)
                result.study = study
                self._ensure_baseline(study, result)
                if warm is not None and not self._stop.is_set():
                    warm.enqueue(study)
                while not self._stop.is_set() and self._finished(study) < self.budget:
                    if self._stopped_early(study, result):
                        break
                    self._run_trial(study)
                    result.new_trials += 1
                if not self._stop.is_set():
                    self._record_stop(study, result)
                    self._confirm(study, result)
            except Exception as exc:
                fault = system_fault(exc, self.config.storage) is not None
                raise
            finally:
                result.interrupted = self._stop_reason
                self._finish(result)
                if not fault:  # the storage failed: set the values back, write nothing more
                    self._close_records(result)
        return result

    def _close_records(self, result: RunResult) -> None:
        """Discard the model's proposals left waiting, and write the study's dashboard note.

        Optuna cannot delete a trial: a proposal of a round the run stopped in would stay
        ``WAITING`` and be counted as the model's; it is failed and marked ``llm_discarded``
        instead, and every count leaves it out. Neither step may fail the run.
        """
        if self._study is None:
            return
        try:
            from optuna_llm_sampler import discard_waiting_proposals
        except ImportError:  # pragma: no cover - the sampler package ships with the bridge
            pass
        else:
            try:
                discard_waiting_proposals(
                    self._study,
                    reason=f"the run stopped ({self._stop_reason or 'budget reached'}) "
                    "before this proposal of its round was run",
                )
            except Exception as exc:
                logger.warning("could not discard the proposals left waiting: %s: %s", type(exc).__name__, exc)
        if result.study is not None:
            try:
                write_study_note(self._study, summarize(result, importances=False), self.config.artifact_folder())
            except Exception as exc:
                logger.warning("could not write the study note: %s: %s", type(exc).__name__, exc)

    # ----------------------------------------------------------------- setup

    def _check_project(self) -> None:
        if not self._knobs:
            raise ProjectError(f"{self.server.path}: no tunable object (all skipped or invalid)")
        if not self.client.benchmark:
            raise ProjectError(f"{self.client.path}: no benchmark command")
        if not self.client.evaluations:
            raise ProjectError(f"{self.client.path}: no usable evaluation")
        names = [e.name for e in self.client.evaluations]
        if len(set(names)) != len(names):
            raise ProjectError(f"{self.client.path}: evaluation names must be unique, got {names}")
        if self.budget < 1:
            raise ProjectError(f"the number of trials must be at least 1, got {self.budget}")
        for problem in self.server.errors + self.client.errors:
            self._warn(f"left out: {problem}")
        for relation in relation_problems(self._knobs):
            self._warn(relation)
        for knob in self._knobs:
            if not knob.get and knob.ref is None:
                self._warn(f"{knob.name}: no get and no ref, so its original value cannot be set back")
        self._space = search_space(self._knobs)

    def _warn(self, message: str) -> None:
        message = redact(message)
        logger.warning(message)
        self._warnings.append(message)

    def _stored_study(self, storage: optuna.storages.BaseStorage, claim: StudyClaim) -> dict[str, Any] | None:
        try:
            study_id = storage.get_study_id_from_name(self.study_name)
        except KeyError:
            return None
        directions = [d.name.lower() for d in storage.get_study_directions(study_id)]
        if directions != self.scoring.directions:
            raise StudyMismatchError(
                f"study {self.study_name!r} in {self.config.storage} optimises {directions} "
                f"(mode {storage.get_study_user_attrs(study_id).get(STUDY_MODE, '?')}); this run "
                f"optimises {self.scoring.directions} (mode {self.scoring.mode}): use another --study "
                "name or the same --multi-objective setting"
            )
        claim.check(storage.get_study_user_attrs(study_id))
        fail_stale_trials(storage, study_id)
        return storage.get_study_user_attrs(study_id)

    def _read_system(self, stored: Mapping[str, Any] | None) -> None:
        """Read current values; settle the original and baseline configurations."""
        stored_original = dict((stored or {}).get(STUDY_ORIGINAL) or {})
        for knob in self._knobs:
            if knob.get:
                self._system.state[knob.name] = self._system.read(knob)
        for knob in self._knobs:
            if knob.name in stored_original:
                original = str(stored_original[knob.name])
            elif knob.get:
                original = self._system.state[knob.name]  # type: ignore[assignment]
            elif knob.ref is not None:
                original = _normalise(knob, knob.ref)
            else:
                continue
            try:
                value_text(knob, original, check_domain=False)
            except UnsafeValueError as exc:
                raise ProjectError(f"{self.server.path}: original value cannot be set back safely: {exc}") from None
            self._original[knob.name] = original
            baseline = _normalise(knob, knob.ref) if knob.ref is not None else original
            try:
                value_text(knob, baseline, check_domain=False)
            except UnsafeValueError as exc:
                raise ProjectError(f"{self.server.path}: ref cannot be set safely: {exc}") from None
            self._baseline_config[knob.name] = baseline
            if not knob.contains(baseline):
                self._warn(
                    f"{knob.name}: baseline value {baseline!r} lies outside the tuned domain "
                    f"{describe_domain(knob)}; trial 0 keeps it in user attrs, not as a parameter"
                )

    def _baseline_params(self) -> dict[str, Any]:
        return {
            name: knob.coerce(self._baseline_config[name])
            for name, knob in ((k.name, k) for k in self._knobs)
            if name in self._baseline_config and knob.contains(self._baseline_config[name])
        }

    def _open_study(self, storage: optuna.storages.BaseStorage, stored: Mapping[str, Any] | None) -> Study:
        sampler = self._sampler
        if sampler is None:
            user_text = None
            if self.config.knowledge:
                try:
                    user_text = Path(self.config.knowledge).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise ProjectError(f"--knowledge {self.config.knowledge}: cannot read it: {exc}") from exc
            sampler = build_sampler(
                self.config.llm,
                space=self._space,
                knowledge=project_knowledge(self.server, self.client, user_text, with_parameters=False),
                descriptions=parameter_descriptions(self._knobs),
                baseline=self._baseline_params(),
                seed=self.config.seed,
                n_startup_trials=self.client.random_starts,
                budget=self.budget,
                schedule=self.config.schedule,
                llm_timeout=self.config.llm_timeout,
                artifact_dir=self.config.artifact_folder(),
                search=self.config.search,
            )
        self._sampler = sampler
        study = optuna.create_study(
            storage=storage,
            study_name=self.study_name,
            directions=self.scoring.directions,  # type: ignore[arg-type]  # "minimize"/"maximize"
            sampler=sampler,
            load_if_exists=True,
        )
        if stored is None or STUDY_ORIGINAL not in stored:
            study.set_user_attr(STUDY_ORIGINAL, self._original)
            study.set_user_attr(STUDY_BASELINE, self._baseline_config)
            study.set_user_attr(STUDY_PROJECT, self.server.project)
            study.set_user_attr(STUDY_MODE, self.scoring.mode)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names(self.scoring.objective_names)
        self._study = study
        return study

    # ----------------------------------------------------------------- trials

    def _finished(self, study: Study) -> int:
        # A discarded proposal failed without running: it is no trial of the budget.
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
        return sum(not is_discarded(t) for t in trials)

    def _baseline_trial(self, study: Study) -> FrozenTrial | None:
        for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if trial.user_attrs.get(self._source_key) == SOURCE_BASELINE and "metrics" in trial.user_attrs:
                return trial
        return None

    def _ensure_baseline(self, study: Study, result: RunResult) -> None:
        existing = self._baseline_trial(study)
        if existing is not None:
            self._baseline_metrics = {k: float(v) for k, v in existing.user_attrs["metrics"].items()}
            logger.info("baseline reused from trial %d: %s", existing.number, self._baseline_metrics)
            return
        if self._finished(study) >= self.budget:
            return
        attrs: dict[str, Any] = {
            self._source_key: SOURCE_BASELINE,
            "baseline_values": dict(self._baseline_config),
            "params_text": ",".join(f"{n}={v}" for n, v in self._baseline_config.items()),
        }
        params = self._baseline_params()
        distributions = {name: self._space[name] for name in params}
        # RUNNING from before it is measured: the trial gets its real duration.
        frozen = self._add_trial(
            study,
            optuna.trial.create_trial(
                state=TrialState.RUNNING,
                params=params,
                distributions=distributions,
                user_attrs={"runner": {"pid": os.getpid(), "host": self._host}},
            ),
        )
        trial = optuna.trial.Trial(study, frozen._trial_id)
        try:
            restarted = self._system.apply(self._baseline_config, self._stop, only_changed=True)
            metrics, _ = self._measure()
            score = self.scoring.score(metrics, metrics)
        except (_StepFailed, MetricError, CommandInterrupted) as exc:
            reason = self._failure_attrs(exc, attrs)
            self._tell(study, trial, attrs, None)
            result.new_trials += 1
            self._report(study, study.get_trials(deepcopy=False)[trial.number], restarted=False, reason=reason)
            if isinstance(exc, CommandInterrupted):
                return
            raise BaselineError(
                f"the baseline (trial {trial.number}) failed: {reason}. Nothing was tuned; fix the "
                "project and run the same command again"
            ) from None
        attrs.update(self._score_attrs(metrics, score))
        attrs["restarted"] = restarted
        self._tell(study, trial, attrs, score.values)
        result.new_trials += 1
        self._baseline_metrics = metrics
        self._report(study, study.get_trials(deepcopy=False)[trial.number], restarted=restarted, reason=None)

    @staticmethod
    def _add_trial(study: Study, frozen: FrozenTrial) -> FrozenTrial:
        before = {t.number for t in study.get_trials(deepcopy=False)}
        study.add_trial(frozen)
        return next(t for t in study.get_trials(deepcopy=False) if t.number not in before)

    def _suggest(self, trial: Trial) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, dist in self._space.items():
            try:
                if isinstance(dist, IntDistribution):
                    params[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
                elif isinstance(dist, FloatDistribution):
                    params[name] = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
                elif isinstance(dist, CategoricalDistribution):
                    params[name] = trial.suggest_categorical(name, dist.choices)
                else:  # pragma: no cover - search_space builds only these three
                    raise TypeError(f"unsupported distribution {dist!r}")
            except (ValueError, TypeError) as exc:
                raise DomainError(f"{name}: the proposed value is not usable: {exc}") from None
        return params

    def _run_trial(self, study: Study) -> None:
        trial = study.ask()
        trial.set_user_attr("runner", {"pid": os.getpid(), "host": self._host})
        self._record_source(trial)
        attrs: dict[str, Any] = {}
        restarted = False
        try:
            params = self._suggest(trial)
            configured = configure(self._knobs, params)
            attrs.update(configured.attrs)
            if configured.broken:  # no value keeps a relation: scored as atuned does
                metrics = threshold_metrics(self.client.evaluations, configured, attrs)
            else:
                restarted = self._system.apply(configured.texts, self._stop, only_changed=False)
                metrics, _ = self._measure()
            score = self.scoring.score(metrics, self._baseline_metrics)
        except (_StepFailed, MetricError, DomainError, CommandInterrupted) as exc:
            if isinstance(exc, DomainError):
                exc = _StepFailed("gate", f"refused before any command ran: {exc}")
            if isinstance(exc, CommandInterrupted) and self._stop_reason:
                exc = _StepFailed("interrupted", f"interrupted by {self._stop_reason}")
            attrs["restarted"] = restarted
            reason = self._failure_attrs(exc, attrs)
            self._tell(study, trial, attrs, None)
            self._report(study, study.get_trials(deepcopy=False)[trial.number], restarted=restarted, reason=reason)
            return
        except BaseException as exc:
            attrs[ATTR_FAIL_REASON] = (
                "interrupted (Ctrl-C twice)"
                if isinstance(exc, KeyboardInterrupt)
                else redact(f"the runner stopped with an error during this trial: {type(exc).__name__}: {exc}")
            )
            with contextlib.suppress(Exception):
                self._tell(study, trial, attrs, None)
            raise
        attrs.update(self._score_attrs(metrics, score))
        attrs["restarted"] = restarted
        self._tell(study, trial, attrs, score.values)
        self._report(study, study.get_trials(deepcopy=False)[trial.number], restarted=restarted, reason=None)

    def _record_source(self, trial: Trial) -> None:
        """Name the proposer when the sampler did not (TPE alone, or a trial a user enqueued)."""
        assert self._storage is not None
        study_id = self._storage.get_study_id_from_name(self.study_name)
        trial_id = self._storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        # LLMSampler writes the source straight to storage, so the trial's cache may miss it.
        if self._source_key not in self._storage.get_trial_user_attrs(trial_id):
            fixed = self._storage.get_trial_system_attrs(trial_id).get("fixed_params")
            # LLMSampler leaves its base sampler's own trials unmarked: name the base sampler.
            proposer = getattr(self._sampler, "base_sampler", self._sampler)
            trial.set_user_attr(self._source_key, SOURCE_ENQUEUED if fixed else type(proposer).__name__)

    def _tell(self, study: Study, trial: Trial, attrs: Mapping[str, Any], values: Sequence[float] | None) -> None:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        if values is None:
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, list(values))

    def _measure(self) -> tuple[dict[str, float], str]:
        bench = run_command(
            self.client.benchmark,
            timeout=self.config.benchmark_timeout,
            cwd=self.config.workdir,
            combined=True,
            cancel=self._stop,
            passed=self._passed,
            max_output=self.config.max_output_bytes,
        )
        if not bench.ok:
            raise _StepFailed("benchmark", f"benchmark {bench.describe()}", bench)
        metrics: dict[str, float] = {}
        output = bench.stdout
        for evaluation in self.client.evaluations:
            with contextlib.ExitStack() as stack:
                if len(output.encode("utf-8", errors="replace")) > _OUTPUT_ENV_LIMIT:
                    # Too long for one environment variable: read it from a file instead.
                    import tempfile

                    handle = stack.enter_context(tempfile.NamedTemporaryFile("w", suffix=".out", encoding="utf-8"))
                    handle.write(output)
                    handle.flush()
                    env = {"ATUNE_OUT_FILE": handle.name}
                    command = substitute_out(evaluation.get, from_file=True)
                else:
                    env = {OUT_VARIABLE: output}
                    command = substitute_out(evaluation.get)
                result = run_command(
                    command,
                    timeout=self.config.command_timeout,
                    env=env,
                    cwd=self.config.workdir,
                    cancel=self._stop,
                    passed=self._passed,
                    max_output=self.config.max_output_bytes,
                )
            step = f"evaluation {evaluation.name}"
            if not result.ok:
                raise _StepFailed(step, f"{step} {result.describe()}", result, {"benchmark_output": output})
            try:
                metrics[evaluation.name] = parse_metric(evaluation.name, result.stdout)
            except MetricError as exc:
                raise _StepFailed(step, str(exc), result, {"benchmark_output": output}) from None
        return metrics, output

    def _score_attrs(self, metrics: Mapping[str, float], score: Any) -> dict[str, Any]:
        return {
            "metrics": dict(metrics),
            "atune_objective": score.atune_objective,
            "atune_evaluations": ",".join(f"{n}={v:.2f}" for n, v in score.signed.items()),
        }

    def _failure_attrs(self, exc: BaseException, attrs: dict[str, Any]) -> str:
        """Keep why a trial failed, and the failed step's command and output, on ``attrs``;
        credentials redacted (:mod:`._secrets`)."""
        limit = self.config.output_limit
        if isinstance(exc, _StepFailed):
            reason = exc.reason
            attrs["failed_step"] = exc.step
            if exc.result is not None:
                attrs["failed_command"] = redact(truncate(exc.result.command, limit))
                attrs["failed_returncode"] = exc.result.returncode
                attrs["failed_stdout"] = redact(truncate(exc.result.stdout, limit))
                attrs["failed_stderr"] = redact(truncate(exc.result.stderr, limit))
                if exc.result.cut:
                    attrs["failed_output_cut_bytes"] = exc.result.cut
            for key, value in exc.extra.items():
                attrs[key] = redact(truncate(value, limit))
        elif isinstance(exc, CommandInterrupted):
            reason = f"interrupted by {self._stop_reason or 'a stop request'}"
            attrs["failed_step"] = "interrupted"
        else:
            reason = str(exc)
        reason = redact(reason)
        attrs[ATTR_FAIL_REASON] = reason
        logger.info("trial failed: %s", reason)
        return reason

    def _report(self, study: Study, trial: FrozenTrial, *, restarted: bool, reason: str | None) -> None:
        if self._on_trial is None:
            return
        best = best_trial(study, self.scoring)
        self._on_trial(
            TrialReport(
                number=trial.number,
                state=trial.state.name,
                source=str(trial.user_attrs.get(self._source_key, "?")),
                metrics=dict(trial.user_attrs.get("metrics") or {}),
                values=tuple(trial.values) if trial.values is not None else None,
                reason=reason,
                restarted=restarted,
                finished=self._finished(study),
                budget=self.budget,
                best_number=best.number if best is not None else None,
                best_metrics=dict(best.user_attrs.get("metrics") or {}) if best is not None else {},
                best_values=tuple(best.values) if best is not None and best.values is not None else None,
            )
        )

    # ----------------------------------------------------------------- the end

    def _stopped_early(self, study: Study, result: RunResult) -> bool:
        """Whether a stop rule (``target_gain``, ``patience``) ends the run before this trial."""
        if not self._stop_rules.active:
            return False
        result.stopped = self._stop_rules.check(
            study, self.scoring, self._baseline_metrics, best_trial(study, self.scoring)
        )
        if result.stopped is not None:
            logger.info("stopping before the budget: %s", result.stopped["reason"])
        return result.stopped is not None

    def _record_stop(self, study: Study, result: RunResult) -> None:
        if result.stopped is not None or study.user_attrs.get(STUDY_STOPPED) is not None:
            study.set_user_attr(STUDY_STOPPED, result.stopped)  # a stale reason is cleared

    def _confirm(self, study: Study, result: RunResult) -> None:
        """Re-rank the top trials (:mod:`._rerank`) when asked, then measure the crowned
        configuration and the baseline again (:mod:`._confirm`).

        A resumed run reuses what the study stores: a re-ranking of the same candidates made
        when the same trial had the best single measurement, a confirmation of the same trial
        with the same count, neither interrupted.
        """
        if self.config.confirm < 2 or self._baseline_metrics is None:
            return
        best = best_trial(study, self.scoring)
        why = None if best is None else self._unconfirmable(best)
        if best is None or why == _IS_BASELINE:
            logger.info("confirmation skipped: the baseline is the best configuration")
            return
        if why is not None:
            self._warn(f"confirmation skipped: the best trial {best.number} {why}")
            return
        stored = study.user_attrs.get(STUDY_CONFIRM)
        stored = dict(stored) if isinstance(stored, dict) else {}
        reranked = self._rerank(study, best, stored.get("rerank")) if self.config.rerank else None
        crowned = crowned_by(study, reranked, best)
        if (
            stored.get("best_trial") == crowned.number
            and stored.get("n") == self.config.confirm
            and not stored.get("interrupted")
        ):
            record = dict(stored)  # resumed after the budget was reached: measured already
        else:
            if not self._stop.is_set():
                logger.info(
                    "confirming trial %d against the baseline: %d measurements each",
                    crowned.number,
                    self.config.confirm,
                )
            record = confirm_gain(
                self.config.confirm,
                self._trial_texts(crowned),
                self._baseline_config,
                self._confirm_measure,
                self.client.evaluations,
                best_trial=crowned.number,
                cancel=self._stop,
            )
            if record["warning"]:
                self._warn(record["warning"])
        record.pop("rerank", None)
        if reranked is not None:
            record["rerank"] = reranked
        if record != stored:
            study.set_user_attr(STUDY_CONFIRM, record)
        result.confirm = record

    def _rerank(self, study: Study, best: FrozenTrial, stored: Any) -> dict[str, Any] | None:
        """Measure the top ``rerank`` configurations again and crown the best mean; the record
        of :mod:`._rerank`, the stored one when it has the same candidates, or None when there
        are fewer than two candidates."""
        ranked_by, higher_is_better = ranking(self.scoring)
        candidates = pick_candidates(
            ranked_trials(study, self.scoring),
            self.config.rerank,
            texts=self._trial_texts,
            score=lambda t: trial_rank_value(self.scoring, t),
            left_out=lambda t: self._unconfirmable(t) is not None,
            baseline=self._baseline_config,
        )
        if len(candidates) < 2:
            logger.info("re-ranking skipped: %d configuration(s) besides the baseline were measured", len(candidates))
            return None
        if (
            isinstance(stored, dict)
            and not stored.get("interrupted")
            and stored.get("k") == self.config.rerank
            and stored.get("repeats") == self.config.rerank_repeats
            and stored.get("best_single") == best.number
            and candidate_trials(stored) == [(c.trial, list(c.trials)) for c in candidates]
        ):
            return stored  # resumed: these candidates were measured already
        logger.info(
            "re-ranking the top %d configurations (trials %s): %d measurement(s) each",
            len(candidates),
            ", ".join(str(c.trial) for c in candidates),
            self.config.rerank_repeats,
        )
        return rerank(
            candidates,
            self.config.rerank_repeats,
            self._rerank_measure,
            best_single=best.number,
            ranked_by=ranked_by,
            higher_is_better=higher_is_better,
            k=self.config.rerank,
            cancel=self._stop,
        )

    def _unconfirmable(self, trial: FrozenTrial) -> str | None:
        """Why ``trial``'s configuration is neither confirmed nor a re-ranking candidate, or None
        when it may be: :data:`_IS_BASELINE` for the baseline's trial (the confirmation measures
        the baseline anyway), or that a broken relation had it scored with the thresholds (its
        number was never measured)."""
        if trial.user_attrs.get(self._source_key) == SOURCE_BASELINE:
            return _IS_BASELINE
        if trial.user_attrs.get(ATTR_THRESHOLD_SCORED):
            return "breaks a relation and was scored with the thresholds, not measured"
        return None

    def _rerank_measure(self, candidate: Candidate) -> tuple[float, dict[str, float]] | str:
        outcome = self._confirm_measure("rerank", candidate.config)
        if isinstance(outcome, str):
            return outcome
        try:
            score = self.scoring.score(outcome, self._baseline_metrics)
        except MetricError as exc:
            return str(exc)
        return rank_value(self.scoring, score.values, score.atune_objective), outcome

    def _confirm_measure(self, arm: str, config: Mapping[str, str]) -> dict[str, float] | str:
        try:
            self._system.apply(config, self._stop, only_changed=True)
            return self._measure()[0]
        except (_StepFailed, MetricError) as exc:
            return redact(str(exc))
        except CommandInterrupted:
            return f"interrupted by {self._stop_reason or 'a stop request'}"

    def _trial_texts(self, trial: FrozenTrial) -> dict[str, str]:
        """The configuration a trial set, as text per parameter (relations applied as it was)."""
        return configure(self._knobs, trial.params).texts

    def _finish(self, result: RunResult) -> None:
        """Set the original values back (or apply the best); never lets a signal cut it short."""
        self._restoring = True
        target = dict(self._original)
        label = "original values"
        try:
            if self.config.apply_best and self._study is not None:
                single = best_trial(self._study, self.scoring)
                best = None if single is None else crowned_by(self._study, stored_rerank(self._study), single)
                if best is not None and best.user_attrs.get(self._source_key) != SOURCE_BASELINE:
                    target.update(self._trial_texts(best))
                    over = (
                        f", crowned over trial {single.number} by re-measuring the top trials"
                        if single is not None and single.number != best.number
                        else ""
                    )
                    label = f"best configuration (trial {best.number}{over})"
            pending = [
                k.name
                for k in self._knobs
                if k.name in target and not _same(k, self._system.state[k.name], target[k.name])
            ]
            if pending or self._system.restart_pending:
                logger.info("setting %s: %s", label, ", ".join(f"{n}={target[n]}" for n in pending))
                self._system.apply({n: target[n] for n in pending}, None, only_changed=True)
            differ, result.unverified, result.read_back = self._system.verify(target)
            if differ:
                raise ProjectError(mismatch_text(differ, target))
            result.applied = label
            if self._study is not None:
                with contextlib.suppress(Exception):
                    self._study.set_user_attr(STUDY_APPLIED, label)
        except (_StepFailed, AtuneBridgeError, OSError) as exc:
            result.restore_error = redact(str(exc))
            state = self._system.state
            result.left_changed = {
                k.name: state.get(k.name) or "unknown"
                for k in self._knobs
                if k.name in target and not _same(k, state.get(k.name), target[k.name])
            }
            if self._system.restart_pending:
                result.left_changed["(restart)"] = "pending: the service runs with values set before"
            logger.error("could not set the values back: %s", result.restore_error)
            if self._study is not None:
                left = ", ".join(f"{n}={v}" for n, v in result.left_changed.items()) or "unknown"
                with contextlib.suppress(Exception):
                    self._study.set_user_attr(
                        STUDY_APPLIED, f"left changed: {left} (setting the {label} failed: {result.restore_error})"
                    )
        finally:
            self._restoring = False

    @contextlib.contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            name = signal.Signals(signum).name
            if self._restoring:
                logger.warning("%s received while setting values back: finishing that first", name)
                return
            if self._stop.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            logger.warning("%s received: stopping after setting the values back", name)
            self.stop(name)

        # SIGHUP: the terminal was closed; the values must be set back as for the others.
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        for sig in previous:
            signal.signal(sig, handler)
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def run_project(
    server: str | os.PathLike[str] | ServerSpec,
    client: str | os.PathLike[str] | ClientSpec,
    config: RunnerConfig | None = None,
    *,
    output_dir: str | os.PathLike[str] | None = None,
    on_trial: Callable[[TrialReport], None] | None = None,
) -> RunResult:
    """Load the project files, tune, and write the report (unless interrupted).

    Example:
        >>> from atune_bridge import RunnerConfig, run_project
        >>> result = run_project("nginx_server.yaml", "nginx_client.yaml",  # doctest: +SKIP
        ...                      RunnerConfig(llm="none", n_trials=8), output_dir="out")
        >>> print(result.report.best.read_text())  # doctest: +SKIP
        worker_processes=4,worker_connections=4096

    The report goes to ``output_dir`` (default ``./atune-bridge-output/<study>/``).
    """
    server_spec = server if isinstance(server, ServerSpec) else load_server(Path(server))
    client_spec = client if isinstance(client, ClientSpec) else load_client(Path(client))
    runner = Runner(server_spec, client_spec, config, on_trial=on_trial)
    result = runner.run()
    if result.interrupted is None:
        folder = Path(output_dir) if output_dir is not None else default_output_dir(result.study_name)
        summary = summarize(result, artifact_dir=runner.config.artifact_folder())
        result.report = write_report(summary, folder, result.study)
    return result


def default_output_dir(study_name: str) -> Path:
    """``./atune-bridge-output/<study>/`` with the study name made safe for a path."""
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in study_name) or "study"
    return Path("atune-bridge-output") / safe
