"""A-Tune's optimizer engine on Optuna: each tuning task is a study, driven by atuned's PUTs.

The protocol, as read from A-Tune's sources (``common/models/optimizer.go``,
``common/tuning/optimizer.go``, ``analysis/engine/optimizer.py``; see ``docs/atuned-engine.md``):

* ``POST`` creates a task from atuned's knob list; the knobs become an Optuna search space
  through the bridge (:func:`~atune_bridge.knobs_from_engine`, :func:`~atune_bridge.search_space`).
  ``x_ref``/``y_ref`` pairs (earlier results, sent when atuned restarts a tuning) are added as
  completed trials; the knobs' ``ref`` values (the system's current configuration) are
  enqueued as the first trial.
* ``PUT iterations=-1`` registers the project (reply ``{}``); ``PUT 0`` carries the baseline
  measurement, which completes the enqueued baseline trial, and the reply carries the first
  parameters; ``PUT k`` carries the value measured for the previous reply's parameters (the
  sum of its comma-separated floats, minimised) and the reply carries the next ones, until
  the budget is spent: that reply has ``finished: true``, the best parameters and a ``rank``.
* atuned re-sends the *same* iteration number when a reply's parameters break the project's
  ``relationships`` (it reports a threshold value for them instead of measuring): a repeated
  ``PUT k`` (k >= 1) with a value is accepted as the value of the pending parameters. A
  second ``PUT 0`` is refused (A-Tune's own engine deadlocks on it).
* A PUT resent after its reply was lost (its ``line`` names the parameters the committed PUT
  measured, not those sent last) gets the same reply again and records nothing.
* After atuned restarts a tuning it POSTs a new task with ``x_ref``/``y_ref`` and resumes
  with ``PUT iterations=len(x_ref)`` and an empty value; that is accepted as the first PUT.

Where a task is kept, and how it survives a restart of the engine: the task store
(:mod:`atune_bridge._engine._store`), which :class:`OptimizerEngine` is built on.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import TrialState, create_trial

from atune_bridge._engine._errors import EngineRequestError, OutOfOrderError
from atune_bridge._engine._samplers import UnsupportedEngineError, build_plan, resolve_engine
from atune_bridge._engine._store import (
    STATE_ATTR,
    TASK_ATTR,
    TaskStore,
    _baseline,
    _in_space,
    _now,
    _short,
    _Task,
    _tidy,
)
from atune_bridge._engine._transfer import check_history_path, history_trials
from atune_bridge._format import (
    DomainError,
    Knob,
    ParamStringError,
    format_params,
    format_value,
    importance_evaluator,
    knobs_from_engine,
    parse_params,
    search_space,
)

_logger = logging.getLogger(__name__)

MAX_EVAL = 100_000
"""The largest ``max_eval`` a task accepts."""
MAX_KNOBS = 200
"""The most knobs a task accepts."""
MAX_XREF = 500
"""The most earlier results (``x_ref`` rows) a task accepts: each is a trial written to the storage."""


def parse_value(value: str | float | int | None, *, what: str = "value") -> float | None:
    """The sum of A-Tune's comma-separated evaluation values, or ``None`` when empty.

    Raises:
        EngineRequestError: a part is not a finite number.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise EngineRequestError(f"{what}: {value!r} is not a number", field=what)
    if isinstance(value, (int, float)):
        parts: list[str] = [repr(float(value))]
    else:
        text = value.strip()
        if not text:
            return None
        parts = text.split(",")
    total = 0.0
    for part in parts:
        piece = part.strip()
        try:
            if not piece or "_" in piece:
                raise ValueError(piece)
            number = float(piece)
        except ValueError:
            raise EngineRequestError(
                f"{what}: {_short(str(value))!r} is not a comma-separated list of numbers (part {_short(piece, 30)!r})",
                field=what,
            ) from None
        if not math.isfinite(number):
            raise EngineRequestError(f"{what}: {piece!r} is not a finite number", field=what)
        total += number
    if not math.isfinite(total):
        raise EngineRequestError(f"{what}: the sum of {_short(str(value))!r} overflows", field=what)
    return total


def _line_params(line: str | None, iterations: int) -> str | None:
    """The parameter field of atuned's record line, after checking its shape."""
    text = (line or "").strip()
    if not text:
        return None
    fields = text.split("|")
    if len(fields) != 6:
        raise EngineRequestError(
            "line: expected 6 '|'-separated fields "
            f"(iter|start_time|end_time|evaluations=SUM|metrics|params), got {len(fields)}",
            field="line",
        )
    if fields[0].strip() != str(iterations):
        raise EngineRequestError(
            f"line: its iteration field {_short(fields[0], 20)!r} does not match iterations {iterations}",
            field="line",
        )
    return fields[5]


class OptimizerEngine(TaskStore):
    """A-Tune's optimizer engine protocol on Optuna studies, without HTTP.

    :func:`~atune_bridge.create_engine_app` serves it on ``/v1/optimizer``; the methods
    here are what each request does, and return the JSON reply as a dict.

    Example:
        >>> from atune_bridge import EngineConfig, OptimizerEngine
        >>> engine = OptimizerEngine(EngineConfig(storage=None, seed=0))
        >>> knobs = [{"name": "workers", "type": "discrete", "dtype": "int",
        ...           "range": [1, 8], "step": 1, "ref": "2"}]
        >>> task = engine.create_task(max_eval=2, knobs=knobs, engine="random")["task_id"]
        >>> engine.put(task, iterations=-1, value="", line="project demo random 2\\n")
        {}
        >>> engine.put(task, iterations=0, value="-100")["finished"]
        False
        >>> engine.put(task, iterations=1, value="-120")["finished"]
        False
        >>> engine.put(task, iterations=2, value="-90")["finished"]
        True

    Args:
        config: storage, seed and model settings; defaults to :class:`EngineConfig`'s.
        chat_model: a LangChain chat model to use instead of building ``config.llm``
            (tests pass a scripted fake model here).
    """

    # ------------------------------------------------------------------ POST

    def create_task(
        self,
        *,
        max_eval: int,
        knobs: Sequence[Mapping[str, Any]],
        engine: str | None = None,
        random_starts: int | None = None,
        x_ref: Sequence[Sequence[str]] | None = None,
        y_ref: Sequence[str | float] | None = None,
        split_count: int | None = None,
        prj_name: str | None = None,
        **request: Any,
    ) -> dict[str, Any]:
        """Create a task (``POST /v1/optimizer``); the reply is ``{task_id, status, iters}``.

        Other request fields (``noise``, ``sel_feature``, ``feature_filter``,
        ``feature_selector``) are recorded with the task and otherwise unused; ``history_path``
        seeds the task with earlier studies' best trials (:mod:`atune_bridge._engine._transfer`).

        Raises:
            EngineRequestError: ``max_eval``, ``x_ref`` or ``y_ref`` is invalid.
            InvalidKnobError: a knob cannot be made valid (naming the knob and the field).
            UnsupportedEngineError: the engine is unknown or cannot run on these knobs.
        """
        if isinstance(max_eval, bool) or not isinstance(max_eval, int) or not 1 <= max_eval <= MAX_EVAL:
            raise EngineRequestError(
                f"max_eval must be a whole number from 1 to {MAX_EVAL}, got {max_eval!r}", field="max_eval"
            )
        if not knobs:
            raise EngineRequestError("knobs: the task needs at least one knob", field="knobs")
        if len(knobs) > MAX_KNOBS:
            raise EngineRequestError(
                f"knobs: {len(knobs)} knobs is more than {MAX_KNOBS}; tune fewer at once", field="knobs"
            )
        if x_ref is not None and len(x_ref) > MAX_XREF:
            raise EngineRequestError(
                f"x_ref: {len(x_ref)} earlier results is more than {MAX_XREF}; send the last {MAX_XREF}", field="x_ref"
            )
        check_history_path(request.get("history_path"))
        self._check_room()
        knob_list = knobs_from_engine(knobs)
        space = search_space(knob_list)
        self._check_formattable(knob_list, space)
        name = resolve_engine(engine)
        history, notes = self._history(x_ref, y_ref, knob_list, space)
        transferred, transfer_notes = history_trials(
            request.get("history_path"), self._storage, space, self.config.history_dir
        )
        notes += transfer_notes
        n_ref = len(x_ref or ())
        if n_ref and max_eval <= n_ref:
            raise EngineRequestError(
                f"max_eval {max_eval} must exceed the {n_ref} earlier results in x_ref", field="max_eval"
            )
        seed = self.config.seed if self.config.seed is not None else random.SystemRandom().randrange(2**31)
        spec: dict[str, Any] = {
            "version": 1,
            "engine": name,
            "requested_engine": engine,
            "max_eval": max_eval,
            "random_starts": random_starts,
            "split_count": split_count,
            "prj_name": prj_name or "",
            "knobs": [dict(k) for k in knobs],
            "n_xref": n_ref,
            "n_history": len(transferred),
            "seed": seed,
            "created": _now(),
            "request": {k: v for k, v in request.items() if v is not None},
        }
        ctx = self._context(knob_list, space, spec, seed=seed)
        plan = build_plan(name, ctx)
        if plan.wants_llm and not self._llm_enabled():
            raise UnsupportedEngineError(
                name, "engine 'llm' needs a language model: start the engine with --llm SPEC (e.g. --llm local)"
            )
        use_llm = plan.wants_llm or self._llm_enabled()
        plan = self._sampler_plan(plan, ctx, use_llm)
        if plan.warning:
            notes.insert(0, plan.warning)
        if not ctx.baseline and not n_ref:
            notes.append("no baseline trial enqueued: some knob has no ref inside its domain")
        spec.update(llm=use_llm, runs=plan.runs, iters=plan.iters, warnings=notes)

        task_id = str(uuid.uuid4())
        study = optuna.create_study(
            study_name=task_id, storage=self._storage, sampler=plan.sampler, direction="minimize"
        )
        study.set_user_attr(TASK_ATTR, spec)
        if history:
            study.add_trials(history)
        if transferred:  # history_path: prior data for the sampler, not evaluations of this task
            study.add_trials(transferred)
        if ctx.baseline and not n_ref:
            study.enqueue_trial(dict(ctx.baseline), user_attrs={"atune_source": "baseline"})
        state: dict[str, Any] = {
            "plan_next": 0,  # the planned configurations are enqueued one at a time (_next)
            "phase": "created",
            "registered": None,
            "last_iteration": None,
            "pending": None,
            "pending_param": None,
            "evaluations": n_ref,
            "baseline_enqueued": bool(ctx.baseline) and not n_ref,
        }
        task = _Task(task_id, study, knob_list, space, spec, state, plan, list(notes))
        self._save_state(task)  # the task exists for GET/PUT from here on
        self._keep(task)
        for note in notes:
            _logger.warning("task %s: %s", task_id, note)
        _logger.info(
            "task %s created: project %r, engine %s -> %s, %d evaluations, %d knobs",
            task_id,
            spec["prj_name"],
            name,
            plan.runs,
            plan.iters,
            len(knob_list),
        )
        reply: dict[str, Any] = {"task_id": task_id, "status": "OK", "iters": plan.iters}
        if notes:
            reply["message"] = "; ".join(notes)
        return reply

    @staticmethod
    def _check_formattable(knobs: Sequence[Knob], space: Mapping[str, BaseDistribution]) -> None:
        for knob in knobs:
            bad = [c for c in ",=" if c in knob.name]
            if bad:
                raise EngineRequestError(
                    f"knob {knob.name!r}: its name holds {bad[0]!r}, which A-Tune's name=value,... "
                    "parameter string cannot carry; rename the object in the server YAML",
                    field="knobs",
                )
            dist = space[knob.name]
            if isinstance(dist, CategoricalDistribution):
                for choice in dist.choices:
                    if "," in format_value(knob, choice):
                        raise EngineRequestError(
                            f"knob {knob.name!r}: option {choice!r} holds ',', which A-Tune's "
                            "name=value,... parameter string cannot carry",
                            field="knobs",
                        )

    @staticmethod
    def _history(
        x_ref: Sequence[Sequence[str]] | None,
        y_ref: Sequence[str | float] | None,
        knobs: Sequence[Knob],
        space: dict[str, BaseDistribution],
    ) -> tuple[list[optuna.trial.FrozenTrial], list[str]]:
        """``x_ref``/``y_ref`` as completed trials, and notes on the pairs left out."""
        if not x_ref and not y_ref:
            return [], []
        if x_ref is None or y_ref is None:
            raise EngineRequestError("x_ref and y_ref go together: send both or neither", field="x_ref")
        if len(x_ref) != len(y_ref):
            raise EngineRequestError(f"x_ref has {len(x_ref)} entries but y_ref has {len(y_ref)}", field="y_ref")
        trials, notes = [], []
        for index, (xs, y) in enumerate(zip(x_ref, y_ref)):
            try:
                params = parse_params(",".join(xs), knobs)
            except (ParamStringError, DomainError) as exc:
                raise EngineRequestError(f"x_ref[{index}]: {exc}", field="x_ref") from None
            value = parse_value(y, what=f"y_ref[{index}]")
            if value is None:
                raise EngineRequestError(f"y_ref[{index}] is empty", field="y_ref")
            params = {name: _tidy(v, space[name]) for name, v in params.items()}
            reason = _in_space(params, space)
            if reason is not None:
                notes.append(f"x_ref[{index}] left out: {reason}")
                continue
            trials.append(
                create_trial(
                    params=params,
                    distributions=dict(space),
                    value=value,
                    user_attrs={"atune_source": "x_ref", "atune_iteration": index + 1},
                )
            )
        return trials, notes

    # ------------------------------------------------------------------ PUT

    def put(
        self,
        task_id: str,
        *,
        iterations: int,
        value: str | float | None = "",
        line: str | None = "",
        prj_name: str | None = "",
        max_iter: int | None = None,
    ) -> dict[str, Any]:
        """One step of atuned's loop (``PUT /v1/optimizer/{task_id}``).

        Replies ``{}`` to the registration (``iterations=-1``), else
        ``{param, finished}`` and, when finished, ``rank``.

        Raises:
            UnknownTaskError: no task has this id.
            OutOfOrderError: the iteration does not follow the task's sequence.
            EngineRequestError: the value or the line is malformed.
        """
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < -1:
            raise EngineRequestError(
                f"iterations must be -1 (registration), 0 (baseline) or an iteration number, got {iterations!r}",
                field="iterations",
            )
        with self._task_lock(task_id):
            task = self._load(task_id)
            total = parse_value(value)
            params_text = None if iterations == -1 else _line_params(line, iterations)
            again = self._reply_again(task, iterations, params_text)
            if again is not None:
                return again
            if task.state["phase"] == "finished":
                raise OutOfOrderError(
                    f"task {task_id} has finished after {task.state['evaluations']} evaluations "
                    f"(best: {task.state.get('best_param')}); DELETE it or POST a new task"
                )
            if iterations == -1:
                return self._register(task, line or "", prj_name or "", max_iter)
            if iterations == 0:
                return self._put_baseline(task, total, params_text)
            return self._put_iteration(task, iterations, total)

    def _reply_again(self, task: _Task, iterations: int, params_text: str | None) -> dict[str, Any] | None:
        """The reply already given when this PUT repeats the last one committed, else ``None``.

        atuned resends a PUT whose reply it lost; its ``line`` then carries the parameters the
        committed PUT measured. A repeat whose line carries the parameters sent last is
        atuned's threshold report for them instead (``None``: the caller records it).
        """
        last = task.state.get("last_put")
        if not last or iterations != last["iterations"] or not params_text:
            return None
        measured = self._line_values(task, params_text)
        if measured is None:
            return None  # the line does not name every knob: nothing to compare
        pending = task.state.get("pending_param")
        if pending is not None and measured == self._line_values(task, pending):
            return None
        if last.get("param") is not None and measured == self._line_values(task, last["param"]):
            _logger.info("task %s: iteration %d received again; the same reply is sent", task.task_id, iterations)
            return dict(last["reply"])
        raise OutOfOrderError(
            f"iteration {iterations} again, for parameters {_short(params_text)!r}: task "
            f"{task.task_id} recorded iteration {iterations} for {_short(str(last.get('param')))!r} "
            f"and awaits the value of {_short(str(pending))!r}; send iteration {iterations + 1} "
            "with the value of the parameters sent last"
        )

    def _register(self, task: _Task, line: str, prj_name: str, max_iter: int | None) -> dict[str, Any]:
        if task.state["phase"] != "created":
            raise OutOfOrderError(
                f"iteration -1 (registration) comes before iteration 0; task {task.task_id} "
                f"is at iteration {task.state['last_iteration']}"
            )
        words = line.split()
        if words and (words[0] != "project" or len(words) < 2):
            raise EngineRequestError(
                f"line: expected 'project NAME ENGINE MAX_ITER' for iteration -1, got {_short(line.strip())!r}",
                field="line",
            )
        task.state["registered"] = {
            "project": words[1] if len(words) > 1 else "",
            "engine": words[2] if len(words) > 2 else "",
            "max_iter": words[3] if len(words) > 3 else "",
            "prj_name": prj_name,
            "put_max_iter": max_iter,
        }
        self._save_state(task)
        return {}

    def _put_baseline(self, task: _Task, total: float | None, params_text: str | None) -> dict[str, Any]:
        if task.state["phase"] != "created":
            raise OutOfOrderError(
                f"iteration 0 (the baseline) was already recorded for task {task.task_id}; "
                f"expected iteration {task.state['last_iteration'] + 1}"
            )
        measured = self._record_baseline(task, total, params_text) if total is not None else None
        task.state["phase"] = "running"
        task.state["last_iteration"] = 0
        return self._next(task, measured=measured)

    def _record_baseline(self, task: _Task, total: float, params_text: str | None) -> str | None:
        """The baseline measurement as a completed trial (the enqueued one when it matches).

        Returns the measured parameters as a parameter string, ``None`` when not recorded.
        """
        measured = self._measured(task, params_text)
        if measured is None:
            note = "baseline value not recorded: its parameters are not in the line and some ref is missing or outside its domain"
            _logger.warning("task %s: %s", task.task_id, note)
            task.warnings.append(note)
            return None
        study = task.study
        param = format_params(measured, task.knobs)
        if task.state.get("baseline_enqueued") and measured == _baseline(task.knobs, task.space):
            trial = study.ask(fixed_distributions=task.space)
            if trial.params == measured:
                study.tell(trial, total)
                task.state["baseline_enqueued"] = False
                return param
            # Something else was queued first: hand this trial out as the next suggestion.
            task.state["pending"] = trial.number
        study.add_trial(
            create_trial(
                params=measured,
                distributions=dict(task.space),
                value=total,
                user_attrs={"atune_source": "baseline", "atune_iteration": 0},
            )
        )
        return param

    def _measured(self, task: _Task, params_text: str | None) -> dict[str, Any] | None:
        """The baseline's parameters: from the line when complete and valid, else the refs."""
        params = self._line_values(task, params_text) if params_text else None
        if params is not None and _in_space(params, task.space) is None:
            return params
        return _baseline(task.knobs, task.space) or None

    @staticmethod
    def _line_values(task: _Task, params_text: str) -> dict[str, Any] | None:
        """Every knob's typed value in a ``name=value,...`` string; ``None`` when one is missing."""
        raw: dict[str, str] = {}
        for chunk in params_text.split(","):
            name, sep, text = chunk.partition("=")
            if sep and name.strip() in task.space:
                raw[name.strip()] = text.strip()
        try:
            return {k.name: _tidy(k.coerce(raw[k.name]), task.space[k.name]) for k in task.knobs}
        except (KeyError, ValueError):
            return None

    def _put_iteration(self, task: _Task, iterations: int, total: float | None) -> dict[str, Any]:
        state = task.state
        if state["phase"] == "created":
            n_ref = int(task.spec.get("n_xref", 0))
            if total is None and n_ref and iterations == n_ref:
                # atuned resuming a restarted tuning: no value, the next parameters please.
                state["phase"] = "running"
                state["last_iteration"] = iterations
                return self._next(task)
            expected = "iteration 0 (the baseline)"
            if n_ref:
                expected += f", or iteration {n_ref} with an empty value (resuming after {n_ref} earlier results)"
            raise OutOfOrderError(
                f"iteration {iterations} is out of order: task {task.task_id} expects {expected} first"
            )
        last = state["last_iteration"]
        if iterations not in (last + 1, last):
            raise OutOfOrderError(
                f"iteration {iterations} is out of order: task {task.task_id} expects iteration "
                f"{last + 1} (the result for the parameters it sent last)"
            )
        if total is None:
            raise EngineRequestError(
                f"value is empty: iteration {iterations} must carry the result measured for the "
                "parameters sent in the previous reply",
                field="value",
            )
        pending = state.get("pending")
        if pending is None:
            raise OutOfOrderError(f"task {task.task_id} has no parameters awaiting a value")
        measured = state.get("pending_param")
        task.study.tell(pending, total, skip_if_finished=True)
        state["evaluations"] += 1
        state["last_iteration"] = iterations
        state["pending"] = None
        state["pending_param"] = None
        if state["evaluations"] >= task.plan.iters or (task.plan.planned and self._plan_done(task)):
            return self._finish(task, measured=measured)
        return self._next(task, measured=measured)

    @staticmethod
    def _waiting(task: _Task) -> bool:
        return bool(task.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))

    def _plan_done(self, task: _Task) -> bool:
        # Tasks created before plans were enqueued lazily have no plan_next: all are queued.
        left = task.state.get("plan_next", len(task.plan.fixed)) < len(task.plan.fixed)
        return not left and not self._waiting(task)

    def _enqueue_planned(self, task: _Task) -> None:
        """Queue the plan's next configuration when nothing else waits (one per PUT, so a
        plan of thousands costs its POST nothing)."""
        index = task.state.get("plan_next", len(task.plan.fixed))
        if index < len(task.plan.fixed) and not self._waiting(task):
            task.study.enqueue_trial(task.plan.fixed[index], user_attrs={"atune_source": task.plan.engine})
            task.state["plan_next"] = index + 1

    def _next(self, task: _Task, *, measured: str | None = None) -> dict[str, Any]:
        """Ask the next trial (unless one is already pending) and reply its parameters.

        ``measured``: the parameters this PUT gave a value for, kept with the reply so that
        the same PUT sent again gets the same reply.
        """
        number = task.state.get("pending")
        if number is None:
            self._enqueue_planned(task)
            trial = task.study.ask(fixed_distributions=task.space)
            # The reply to this iteration carries the trial; the next PUT carries its value.
            trial.set_user_attr("atune_sent_at_iteration", task.state["last_iteration"])
            number = trial.number
            params = trial.params
        else:
            params = task.study.get_trials(deepcopy=False)[number].params
        tidy = {name: _tidy(params[name], dist) for name, dist in task.space.items()}
        param = format_params(tidy, task.knobs)
        task.state["pending"] = number
        task.state["pending_param"] = param
        reply = {"param": param, "finished": False}
        self._keep_reply(task, measured, reply)
        self._save_state(task)
        return reply

    @staticmethod
    def _keep_reply(task: _Task, measured: str | None, reply: dict[str, Any]) -> None:
        task.state["last_put"] = {"iterations": task.state["last_iteration"], "param": measured, "reply": dict(reply)}

    def _finish(self, task: _Task, *, measured: str | None = None) -> dict[str, Any]:
        own = [
            t
            for t in task.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.user_attrs.get("atune_source") != "history"
        ]  # history_path trials were not measured here
        best = min(own, key=lambda t: (t.value, t.number)) if own else task.study.best_trial
        params = {name: _tidy(best.params[name], dist) for name, dist in task.space.items()}
        param = format_params(params, task.knobs)
        rank = self.rank(task.study, task.knobs)
        _discard_waiting(task.study, "the task finished before this proposal of its round was run")
        task.state.update(phase="finished", best_param=param, best_value=best.value, rank=rank, finished=_now())
        reply = {"param": param, "rank": rank, "finished": True}
        self._keep_reply(task, measured, reply)
        self._save_state(task)
        _logger.info("task %s finished: best %s = %s; rank %s", task.task_id, param, best.value, rank)
        return reply

    def rank(self, study: optuna.Study, knobs: Sequence[Knob]) -> str:
        """Parameter importance in A-Tune's ``"name: 40.1, other: 12.0"`` form (percent, best first).

        Optuna's fANOVA evaluator (``FanovaImportanceEvaluator``, seeded) when scikit-learn is
        installed, else ``PedAnovaImportanceEvaluator``; knobs it cannot score get 0. A-Tune
        computes this with a Lasso fit on standardised options; the scale (percent of the
        total) and the order are the same, the numbers are not.
        """
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        scores: dict[str, float] = {}
        if len(complete) >= 2:
            try:
                scores = {
                    k: float(v)
                    for k, v in optuna.importance.get_param_importances(
                        study, evaluator=importance_evaluator(study)
                    ).items()
                }
            except Exception as exc:  # a numeric routine on a handful of points: rank what we can
                _logger.warning("parameter importance could not be computed: %s", exc)
        values = [(k.name, scores.get(k.name, 0.0)) for k in knobs]
        values = [(name, v if math.isfinite(v) and v > 0 else 0.0) for name, v in values]
        total = sum(v for _, v in values)
        if total <= 0:
            return ", ".join(f"{name}: 0" for name, _ in values)
        suffix = "%" if self.config.rank_percent_sign else ""
        ordered = sorted(values, key=lambda item: -item[1])
        return ", ".join(f"{name}: {round(100 * v / total, 2)}{suffix}" for name, v in ordered)

    # ------------------------------------------------------------------ GET, DELETE

    def list_tasks(self) -> list[str]:
        """Ids of the tasks that answer (``GET /v1/optimizer``), oldest first."""
        ids = []
        for summary in self._storage.get_all_studies():
            attrs = summary.user_attrs
            state = attrs.get(STATE_ATTR)
            if TASK_ATTR in attrs and isinstance(state, dict) and state.get("phase") != "deleted":
                ids.append(summary.study_name)
        return ids

    def get_task(self, task_id: str) -> list[str]:
        """``[task_id]`` when the task exists (``GET /v1/optimizer/{task_id}``), as A-Tune replies.

        Raises:
            UnknownTaskError: no task has this id.
        """
        with self._task_lock(task_id):
            self._load(task_id)
        return [task_id]

    def study(self, task_id: str) -> optuna.Study:
        """The Optuna study behind a task (for reports, the dashboard, tests).

        Raises:
            UnknownTaskError: no task has this id.
        """
        with self._task_lock(task_id):
            return self._load(task_id).study

    def delete_task(self, task_id: str) -> dict[str, Any]:
        """Stop a task (``DELETE /v1/optimizer/{task_id}``); its trials stay in the storage.

        Raises:
            UnknownTaskError: no task has this id.
        """
        with self._task_lock(task_id):
            task = self._load(task_id)
            pending = task.state.get("pending")
            if pending is not None and task.state["phase"] != "finished":
                task.study.tell(pending, state=TrialState.FAIL, skip_if_finished=True)
            _discard_waiting(task.study, "the task was deleted before this proposal of its round was run")
            if self.config.purge_on_delete:
                optuna.delete_study(study_name=task_id, storage=self._storage)
            else:
                task.state.update(phase="deleted", pending=None, deleted=_now())
                self._save_state(task)
            self._forget(task_id, purged=self.config.purge_on_delete)
            _logger.info("task %s deleted", task_id)
        return {}


def _discard_waiting(study: optuna.Study, reason: str) -> None:
    """Fail, marked as discarded, the model's proposals a task that ends leaves in its queue.

    Left ``WAITING`` they would count as the model's trials in the prompt, the report and the
    dashboard, yet never run. Never fails the request: a task ends whatever happens here.
    """
    try:
        from optuna_llm_sampler import discard_waiting_proposals

        discard_waiting_proposals(study, reason=reason)
    except Exception as exc:  # The reply and the task's state matter more than the record.
        _logger.warning("could not discard the proposals left waiting: %s: %s", type(exc).__name__, exc)
