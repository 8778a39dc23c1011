"""The engine's task store: one Optuna study per task, in one storage; the protocol
(:mod:`atune_bridge._engine._protocol`) is built on it.

Everything a task needs to carry on is kept in the study's user attributes
(``atune_task``: the request, engine, seed, budget; ``atune_state``: phase, last iteration,
the trial awaiting a value, evaluations done), so an engine restarted on the same storage
rebuilds a task lazily on its next request. Each task has its own lock; different tasks run
at the same time.

At most :attr:`EngineConfig.max_tasks` tasks are held in memory. Past that, the finished ones
least recently used go first, then, with a storage on disk, any other idle one: such a task is
rebuilt from its study on its next request. With tasks in memory only (``storage=None``) a
task dropped is gone (404), so only finished and deleted ones are dropped, and a new task is
refused (503) while every held task is unfinished.

Imports the A-Tune formats, and the engine's ``_errors`` and ``_samplers``.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from atune_bridge._engine._errors import EngineBusyError, UnknownTaskError
from atune_bridge._engine._samplers import (
    EnginePlan,
    SamplerContext,
    UnsupportedEngineError,
    build_plan,
    tidy_float,
    with_llm,
)
from atune_bridge._format import Knob, baseline_params, knobs_from_engine, search_space

_logger = logging.getLogger(__name__)

TASK_ATTR = "atune_task"
"""Study user attribute holding what the POST asked for (written once)."""
STATE_ATTR = "atune_state"
"""Study user attribute holding where the PUT sequence stands (rewritten by every PUT)."""

MAX_TASKS = 1000
"""The default of :attr:`EngineConfig.max_tasks`: about 45 MB of tasks held in memory."""


@dataclass(frozen=True)
class EngineConfig:
    """How the optimizer engine stores tasks and chooses samplers.

    Example:
        >>> from atune_bridge import EngineConfig, OptimizerEngine
        >>> engine = OptimizerEngine(EngineConfig(storage=None, seed=1))
        >>> reply = engine.create_task(max_eval=3, engine="tpe", knobs=[
        ...     {"name": "x", "type": "continuous", "dtype": "int", "range": [1, 9], "ref": "5"}])
        >>> reply["status"], reply["iters"]
        ('OK', 3)

    Args:
        storage: Optuna storage URL holding one study per task. The default SQLite file in
            the working directory survives a restart of the engine; ``None`` keeps tasks in
            memory only (they are lost when the engine stops).
        llm: model spec for :func:`optuna_llm_sampler.make_chat_model` (``"local"``,
            ``"tongyi:qwen-plus"``, ``"openai:MODEL@URL"``); when set, every new task's
            sampler is wrapped in ``LLMSampler``, and engine ``llm`` becomes usable. ``None``
            (the default) runs plain Optuna samplers, with no model loaded.
        seed: seed of every task's sampler, for reproducible runs; ``None`` draws one per
            task (stored with the task, so a restarted engine continues from it).
        rank_percent_sign: write ``rank`` as ``"a: 40.1%, b: ..."`` (A-Tune's Lasso format)
            instead of ``"a: 40.1, b: ..."``. Off by default because atuned parses each score
            with ``strconv.ParseFloat`` and fails at the end of tuning on the ``%``.
        purge_on_delete: ``DELETE`` removes the study from the storage. Off by default: the
            task stops answering (404) but its trials stay for reports and the dashboard.
        knowledge: path of a text file given to ``LLMSampler`` as background (system,
            workload, what the knobs do); used only with an LLM.
        schedule: the model's role, a preset of ``LLMSampler`` (``"adaptive"``, the default;
            ``"alternating"``: two model trials and two of the engine's in turn; ``"write"``);
            used only with an LLM.
        history_dir: a folder of SQLite files whose studies ``history_path`` may name as
            ``STUDY@FILE`` (read only; see :mod:`atune_bridge._engine._transfer`). ``None``
            (the default): ``history_path`` names studies of the engine's own storage only.
        max_tasks: the most tasks held in memory (see the module doc), about 45 KB each.
        search: the base search of engine ``llm`` (``optuna_llm_sampler._search.SEARCHES``:
            ``tpe``, ``sobol-tpe``, ``sobol-gp``, ``gp``, ``random``); ``None``: ``tpe``.
    """

    storage: str | None = "sqlite:///atune-engine.db"
    llm: str | None = None
    knowledge: str | None = None
    schedule: str = "adaptive"
    seed: int | None = None
    rank_percent_sign: bool = False
    purge_on_delete: bool = False
    history_dir: str | None = None
    max_tasks: int = MAX_TASKS
    search: str | None = None

    def __post_init__(self) -> None:
        if self.max_tasks < 1:
            raise ValueError(f"EngineConfig.max_tasks must be at least 1, got {self.max_tasks!r}")


@dataclass
class _TaskLock:
    """A task's lock and how many requests use or wait for it (none: it may be dropped)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


@dataclass
class _Task:
    task_id: str
    study: optuna.Study
    knobs: tuple[Knob, ...]
    space: dict[str, BaseDistribution]
    spec: dict[str, Any]
    state: dict[str, Any]
    plan: EnginePlan
    warnings: list[str] = field(default_factory=list)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _make_storage(url: str | None) -> optuna.storages.BaseStorage:
    if url is None:
        return optuna.storages.InMemoryStorage()
    if url.startswith("sqlite"):
        # Several tasks write at once: wait for SQLite's lock rather than fail at once.
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 30}})
    return optuna.storages.RDBStorage(url)


def _in_distribution(dist: BaseDistribution, value: Any) -> bool:
    if isinstance(dist, CategoricalDistribution):
        return any(type(c) is type(value) and c == value for c in dist.choices)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(dist, IntDistribution) and not isinstance(value, int):
        return False
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    if not dist.low <= value <= dist.high:
        return False
    if dist.step is None:
        return True
    k = (value - dist.low) / dist.step
    return abs(k - round(k)) < 1e-8


def _in_space(params: Mapping[str, Any], space: Mapping[str, BaseDistribution]) -> str | None:
    """``None`` when ``params`` fit ``space``, else the first reason they do not."""
    for name, dist in space.items():
        if name not in params:
            return f"no value for {name!r}"
        if not _in_distribution(dist, params[name]):
            return f"{name}={params[name]!r} lies outside its domain"
    return None


def _tidy(value: Any, dist: BaseDistribution) -> Any:
    if isinstance(dist, FloatDistribution) and isinstance(value, float):
        return tidy_float(value, dist)
    return value


def _baseline(knobs: Sequence[Knob], space: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """Every knob's ``ref``, typed, when all are present and inside their domains; else ``{}``."""
    refs = {name: _tidy(v, space[name]) for name, v in baseline_params(knobs).items()}
    return refs if _in_space(refs, space) is None else {}


class TaskStore:
    """The tasks of one engine: created, cached, locked and rebuilt from their studies.

    :class:`~atune_bridge.OptimizerEngine` answers the requests on top of it.
    """

    def __init__(self, config: EngineConfig | None = None, *, chat_model: Any = None) -> None:
        self.config = config or EngineConfig()
        self._storage = _make_storage(self.config.storage)
        self._chat_model = chat_model
        self._lock = threading.Lock()
        self._model_lock = threading.Lock()
        self._tasks: OrderedDict[str, _Task] = OrderedDict()
        """The tasks held in memory, least recently used first."""
        self._retired: OrderedDict[str, None] = OrderedDict()
        """With tasks in memory only: deleted tasks whose studies are still held."""
        self._task_locks: dict[str, _TaskLock] = {}

    @contextmanager
    def _task_lock(self, task_id: str) -> Iterator[None]:
        with self._lock:
            entry = self._task_locks.setdefault(task_id, _TaskLock())
            entry.users += 1
        try:
            with entry.lock:
                yield
        finally:
            with self._lock:
                entry.users -= 1
                if not entry.users and task_id not in self._tasks:
                    self._task_locks.pop(task_id, None)

    def _keep(self, task: _Task) -> None:
        """Hold ``task`` in memory, as the most recently used, and make room past ``max_tasks``."""
        with self._lock:
            self._tasks[task.task_id] = task
            self._tasks.move_to_end(task.task_id)
            self._make_room(keep=task.task_id)

    def _check_room(self) -> None:
        """Make room for one more task.

        Raises:
            EngineBusyError: tasks are kept in memory only and every one held is unfinished.
        """
        with self._lock:
            if self._make_room(room=1):
                return
            held = len(self._tasks) + len(self._retired)
        raise EngineBusyError(
            f"the engine holds {held} unfinished tasks in memory, its most (max_tasks); finish or "
            "DELETE some, or start it with a --storage, which keeps tasks on disk"
        )

    def _make_room(self, *, keep: str | None = None, room: int = 0) -> bool:
        """Drop tasks (see the module doc) until at most ``max_tasks - room`` are held; whether
        that was reached. Called with ``self._lock`` held; a task in use is never dropped."""
        limit = self.config.max_tasks - room
        in_memory = self.config.storage is None

        def held() -> int:
            return len(self._tasks) + len(self._retired)

        while held() > limit and self._retired:
            self._drop_study(self._retired.popitem(last=False)[0])
        passes = [lambda t: t.state.get("phase") == "finished"] + ([] if in_memory else [lambda t: True])
        for may_drop in passes:
            for task_id, task in list(self._tasks.items()):
                if held() <= limit:
                    return True
                entry = self._task_locks.get(task_id)
                if task_id == keep or (entry is not None and entry.users) or not may_drop(task):
                    continue
                del self._tasks[task_id]
                self._task_locks.pop(task_id, None)
                if in_memory:
                    self._drop_study(task_id)
                _logger.info(
                    "task %s (%s) dropped from memory: %d tasks held at most (max_tasks)",
                    task_id,
                    task.state.get("phase"),
                    self.config.max_tasks,
                )
        return held() <= limit

    def _drop_study(self, task_id: str) -> None:
        """Remove a task's study from an in-memory storage, where nothing else would free it."""
        try:
            self._storage.delete_study(self._storage.get_study_id_from_name(task_id))
        except KeyError:
            pass

    def _forget(self, task_id: str, *, purged: bool) -> None:
        """Stop holding a deleted task (with tasks in memory only, its study goes when room is needed)."""
        with self._lock:
            self._tasks.pop(task_id, None)
            if self.config.storage is None and not purged:
                self._retired[task_id] = None
                self._make_room()

    def _llm_enabled(self) -> bool:
        return self._chat_model is not None or bool(self.config.llm)

    def _model(self) -> Any:
        with self._model_lock:
            if self._chat_model is None:
                from optuna_llm_sampler import make_chat_model

                assert self.config.llm
                self._chat_model = make_chat_model(self.config.llm)
            return self._chat_model

    def _sampler_plan(self, plan: EnginePlan, ctx: SamplerContext, use_llm: bool) -> EnginePlan:
        """``plan`` with ``LLMSampler`` over its sampler when ``use_llm``.

        Raises:
            UnsupportedEngineError: the sampler package or the model is not available.
        """
        if not use_llm:
            return plan
        try:
            model = self._model()
        except Exception as exc:  # a missing package, credential or model file: all the model's
            raise UnsupportedEngineError(
                plan.engine, f"the language model {self.config.llm!r} cannot be built: {type(exc).__name__}: {exc}"
            ) from exc
        return with_llm(plan, model, ctx, knowledge=self.config.knowledge, schedule=self.config.schedule)

    def _save_state(self, task: _Task) -> None:
        task.state["updated"] = _now()
        task.study.set_user_attr(STATE_ATTR, dict(task.state))

    def _load(self, task_id: str) -> _Task:
        with self._lock:
            cached = self._tasks.get(task_id)
            if cached is not None:
                self._tasks.move_to_end(task_id)
        if cached is not None:
            return cached
        missing = UnknownTaskError(f"taskid {_short(task_id)} not found")
        try:
            study_id = self._storage.get_study_id_from_name(task_id)
        except KeyError:
            raise missing from None
        attrs = self._storage.get_study_user_attrs(study_id)
        spec, state = attrs.get(TASK_ATTR), attrs.get(STATE_ATTR)
        if not isinstance(spec, dict) or not isinstance(state, dict) or state.get("phase") == "deleted":
            raise missing
        task = self._rebuild(task_id, study_id, spec, state)
        self._keep(task)
        return task

    def _rebuild(self, task_id: str, study_id: int, spec: dict[str, Any], state: dict[str, Any]) -> _Task:
        """A task created before this engine started, from its study's attributes."""
        knobs = knobs_from_engine(spec["knobs"])
        space = search_space(knobs)
        n_trials = len(self._storage.get_all_trials(study_id, deepcopy=False))
        # Reseed past the trials already drawn, so a restarted random sampler does not repeat them.
        ctx = self._context(knobs, space, spec, seed=int(spec["seed"]) + n_trials)
        plan = build_plan(spec["engine"], ctx)
        warnings = list(spec.get("warnings", []))
        use_llm = bool(spec.get("llm"))
        if use_llm and not self._llm_enabled():
            note = "created with an LLM, but this engine runs without one (--llm none): using the base sampler"
            _logger.warning("task %s: %s", task_id, note)
            warnings.append(note)
            use_llm = False
        try:
            plan = self._sampler_plan(plan, ctx, use_llm)
        except UnsupportedEngineError as exc:
            note = f"created with an LLM, which is not available now ({exc.message}): using the base sampler"
            _logger.warning("task %s: %s", task_id, note)
            warnings.append(note)
        study = optuna.load_study(study_name=task_id, storage=self._storage, sampler=plan.sampler)
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if trial.number != state.get("pending"):
                # Asked but never handed out (the engine stopped mid-request): not to be told.
                study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        _logger.info("task %s rebuilt from storage (%s, phase %s)", task_id, plan.runs, state.get("phase"))
        return _Task(task_id, study, knobs, space, spec, dict(state), plan, warnings)

    def _context(
        self, knobs: Sequence[Knob], space: dict[str, BaseDistribution], spec: Mapping[str, Any], *, seed: int
    ) -> SamplerContext:
        return SamplerContext(
            knobs=tuple(knobs),
            space=space,
            baseline=_baseline(knobs, space),
            max_eval=int(spec["max_eval"]),
            seed=seed,
            random_starts=spec.get("random_starts"),
            split_count=spec.get("split_count"),
            search=self.config.search,
        )
