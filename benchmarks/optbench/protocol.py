"""One run of one arm on one problem with one seed, and the file that makes a benchmark resumable."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from optbench.arms import make_arm
from optbench.problems import Problem

logger = logging.getLogger(__name__)


@dataclass
class RunRecord:
    """What one run gave: values in trial order and where the time went."""

    problem: str
    arm: str
    seed: int
    trials: int
    values: list[float | None]
    means: list[float | None]
    sources: list[str]
    objective_s: float
    sampler_s: float
    model_s: float
    model_calls: int
    model_failures: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    chosen: list[int] = field(default_factory=list)
    """Trial numbers of the model trials it chose among the base sampler's candidates (the rest of
    its trials it wrote); empty in runs recorded before it was kept."""
    settings: str = ""
    """The LLMSampler's schedule and choose as built (``Arm.settings``); empty for arms without a
    model and in runs recorded before it was kept."""

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.problem, self.arm, self.seed, self.trials)


def run_once(problem: Problem, arm_name: str, seed: int, trials: int, *, llm_timeout: float | None = 300.0,
             llm_threads: int | None = None) -> RunRecord:
    """Run ``arm_name`` on ``problem`` for ``trials`` trials (trial 0 the baseline) with ``seed``.

    The noise stream depends on the seed only, so every arm of a seed meets the same noise
    draws at the same trial numbers (common random numbers: less variance between arms).
    """
    started = time.perf_counter()
    arm = make_arm(arm_name, problem, seed, trials=trials, llm_timeout=llm_timeout, llm_threads=llm_threads)
    study = optuna.create_study(direction=problem.direction, sampler=arm.sampler)
    arm.attach(study)
    if not arm.uses_model:
        study.enqueue_trial(problem.baseline)  # LLMSampler enqueues its own baseline
    rng = np.random.default_rng([seed, 2026])
    values: list[float | None] = []
    means: list[float | None] = []
    objective_s = sampler_s = 0.0
    for _ in range(trials):
        t0 = time.perf_counter()
        trial = study.ask(problem.space)
        t1 = time.perf_counter()
        try:
            value = float(problem.objective(trial.params, rng))
        except Exception as exc:  # a failing evaluation is a failed trial, as in a real study
            logger.warning("%s seed %d trial %d failed: %s", arm_name, seed, trial.number, exc)
            study.tell(trial, state=TrialState.FAIL)
            values.append(None)
            means.append(None)
            continue
        t2 = time.perf_counter()
        study.tell(trial, value)
        objective_s += t2 - t1
        sampler_s += t1 - t0
        values.append(value)
        means.append(float(problem.mean(trial.params)))
    finished = study.get_trials(deepcopy=False)
    sources, model_s, calls, failures = model_accounting(finished, arm_name)
    return RunRecord(
        problem=problem.name, arm=arm_name, seed=seed, trials=trials, values=values, means=means,
        sources=sources[:trials], objective_s=objective_s, sampler_s=max(0.0, sampler_s - model_s),
        model_s=model_s, model_calls=calls, model_failures=failures,
        seconds=time.perf_counter() - started, chosen=chosen_trials(finished, trials), settings=arm.settings,
    )


def chosen_trials(trials: Sequence[FrozenTrial], limit: int) -> list[int]:
    """Numbers below ``limit`` of the trials whose configuration the model chose (``llm_choice``)."""
    from optuna_llm_sampler.attrs import ATTR_CHOICE
    return [t.number for t in trials if t.number < limit and ATTR_CHOICE in t.user_attrs]


def model_accounting(trials: Sequence[FrozenTrial], arm_name: str) -> tuple[list[str], float, int, int]:
    """Who proposed each trial, and the model's seconds, calls and failures, from the trials' attributes.

    A round's latency is recorded on each of its trials: it is counted once per round, and a
    vetted round's second call (``llm_vet``) once more.
    """
    from optuna_llm_sampler.attrs import ATTR_ERROR, ATTR_LATENCY, ATTR_ROUND, ATTR_SOURCE, ATTR_VET

    sources = []
    latencies: dict[Any, float] = {}
    failures = 0
    for t in trials:
        source = t.user_attrs.get(ATTR_SOURCE)
        if source is None:
            source = "baseline" if t.number == 0 else arm_name
        sources.append(str(source))
        if ATTR_LATENCY in t.user_attrs:
            latencies[t.user_attrs.get(ATTR_ROUND, t.number)] = float(t.user_attrs[ATTR_LATENCY])
        vet = t.user_attrs.get(ATTR_VET)
        if isinstance(vet, dict) and vet.get("latency_s") is not None:
            latencies[(t.user_attrs.get(ATTR_ROUND, t.number), "vet")] = float(vet["latency_s"])
        if ATTR_ERROR in t.user_attrs:
            failures += 1
    return sources, sum(latencies.values()), len(latencies), failures


_CALL = re.compile(r"(\w+)\(([^()]*)\)")


_AT_ADDITION = {
    "Choose": {"candidates": "4", "from_trial": "0", "write_when_ahead": "False",
               "write_after": "0", "vet_writes": "False"},
}
"""For each option class whose fields grew, the value each field had when it was added: the
one that keeps what runs recorded without it did."""


def same_settings(kept: str, now: str) -> bool:
    """Whether runs recorded with settings ``kept`` ran what ``now`` builds.

    The same text, or the same once the fields ``now`` names and ``kept`` does not are left
    out, when each of them is at the value it had when it was added (:data:`_AT_ADDITION`): a
    field added to ``Choose`` after the runs, at the value that keeps what they did, changes
    nothing they ran.
    """
    if kept == now:
        return True
    calls_kept, calls_now = _CALL.findall(kept), _CALL.findall(now)
    if [name for name, _ in calls_kept] != [name for name, _ in calls_now]:
        return False
    for (name, args_kept), (_, args_now) in zip(calls_kept, calls_now):
        fields_kept, fields_now = _fields(args_kept), _fields(args_now)
        if fields_kept is None or fields_now is None:
            return False
        if fields_kept == fields_now:
            continue
        defaults = _AT_ADDITION.get(name)
        if defaults is None:
            return False
        for field, value in fields_now.items():
            if fields_kept.get(field, defaults.get(field)) != value:
                return False
        if set(fields_kept) - set(fields_now):
            return False
    return _CALL.sub("", kept) == _CALL.sub("", now)


def _fields(args: str) -> dict[str, str] | None:
    """``"a=1, b='x'"`` -> ``{"a": "1", "b": "'x'"}``; None for anything else."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in args.split(","))):
        field, sep, value = part.partition("=")
        if not sep:
            return None
        out[field] = value
    return out


class RunStore:
    """Finished runs, one JSON line each, appended as they finish: a rerun skips them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._runs: dict[tuple[str, str, int, int], RunRecord] = {}
        if path.is_file():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = RunRecord(**json.loads(line))
                except (ValueError, TypeError) as e:  # a line cut by a kill: measured again
                    logger.warning("%s: line %d unreadable (%s); that run is repeated", path, number, e)
                    continue
                self._runs[record.key] = record

    def get(self, key: tuple[str, str, int, int]) -> RunRecord | None:
        return self._runs.get(key)

    def add(self, record: RunRecord) -> None:
        self._runs[record.key] = record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(record)) + "\n")

    def settings_conflict(self, arm: str, settings: str) -> str | None:
        """Why runs of ``arm`` kept here cannot be added to by an arm built with ``settings``.

        :obj:`None` when every kept run of ``arm`` that says how it was built was built so
        (runs recorded before settings were kept say nothing and are not checked).
        """
        kept = {r.settings for r in self._runs.values() if r.arm == arm and r.settings}
        other = sorted(k for k in kept if not same_settings(k, settings))
        if not other:
            return None
        return (f"{self.path} holds runs of {arm} built with {other[0]}, and this code builds it with "
                f"{settings} (a default changed): give a new --out folder, or name the old settings "
                "with an arm option (e.g. +adaptive) to compare them")

    def records(self) -> list[RunRecord]:
        """Every run in the file, whatever its problem and trial count."""
        return list(self._runs.values())

    def runs(self, problem: str, trials: int, arms: Iterable[str] | None = None) -> list[RunRecord]:
        wanted = None if arms is None else set(arms)
        return [r for r in self._runs.values()
                if r.problem == problem and r.trials == trials and (wanted is None or r.arm in wanted)]
