"""Scripted chat models and helpers for the optuna_llm_sampler tests (test code only).

Also a worker entry point, so several processes can share one SQLite study:
``python llm_fakes.py worker <storage url> <study name> <n_trials> <call log> <sleep>``.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import threading
import time
from typing import Any
from typing import Callable

import optuna
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration
from langchain_core.outputs import ChatResult
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from pydantic import PrivateAttr

from optuna_llm_sampler import AdaptiveSchedule
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import Choose
from optuna_llm_sampler import TrialRole
from optuna_llm_sampler._records._attrs import ROUND_RECORD_PREFIX


Replier = Callable[[str, int], str]

# Every kind of distribution the sampler must keep values inside of.
SPACE: dict[str, BaseDistribution] = {
    "workers": IntDistribution(1, 64),
    "backlog": IntDistribution(128, 4096, step=128),
    "buffer_kb": IntDistribution(4, 4096, log=True),
    "ratio": FloatDistribution(0.0, 1.0),
    "timeout_s": FloatDistribution(0.5, 10.0, step=0.5),
    "learning_rate": FloatDistribution(1e-5, 1e-1, log=True),
    "mode": CategoricalDistribution(["fast", "safe", 3, 2.5, None]),
}


def model_first(**settings: Any) -> AdaptiveSchedule:
    """A schedule whose model proposes trial 1, and trial 5 unless behind (arm option ``+one-shot``).

    For tests of what happens on the model's trials (prompts, replies, attributes, storage):
    the default gives the model trial 7 first. A new schedule per call: an
    :class:`AdaptiveSchedule` keeps its decisions per study.
    """
    return AdaptiveSchedule(**{"model_first": True, "early_share": 0.5, **settings})


def choosing(**changes: Any) -> Choose:
    """Every round picks among the base sampler's candidates, none is vetted: for tests of
    choosing itself. ``changes`` set other fields."""
    return Choose(**{"from_trial": 0, "write_when_ahead": False, "vet_writes": False, **changes})


def unvetted() -> Choose:
    """The default choose without vetting: one model call per written round (``+unvetted``).

    For tests whose subject is not vetting (prompts, rounds, attributes, schedules, budgets):
    the default, ``Choose()``, vets: it asks the model a second time on every round it
    writes, to pick among its own configurations and the base sampler's draws.
    """
    return Choose(vet_writes=False)


def suggest_all(trial: optuna.Trial, space: dict[str, BaseDistribution] = SPACE) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, d in space.items():
        if isinstance(d, IntDistribution):
            out[name] = trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
        elif isinstance(d, FloatDistribution):
            out[name] = trial.suggest_float(name, d.low, d.high, step=d.step, log=d.log)
        else:
            assert isinstance(d, CategoricalDistribution)
            out[name] = trial.suggest_categorical(name, d.choices)
    return out


def objective(trial: optuna.Trial) -> float:
    p = suggest_all(trial)
    mode_bonus = {"fast": 3.0, "safe": 1.0, 3: 0.5, 2.5: 0.2, None: 0.0}[p["mode"]]
    return (
        -((p["workers"] - 24) ** 2) / 100
        - abs(p["backlog"] - 1024) / 512
        + p["ratio"]
        - p["timeout_s"] / 10
        + mode_bonus
    )


def prompt_n(prompt: str) -> int:
    match = re.search(r"Propose (\d+) new", prompt)
    return int(match.group(1)) if match else 1


def random_replier(seed: int = 0, messy: bool = False) -> Replier:
    """Replies with as many random configurations as the prompt asks for.

    With ``messy``, values are out of range, strings, off-step, unknown categories, extra and
    missing keys, and the JSON sits in a code fence inside prose.
    """
    rng = random.Random(seed)

    def value(name: str, dist: BaseDistribution) -> Any:
        if isinstance(dist, CategoricalDistribution):
            if messy and rng.random() < 0.5:
                return rng.choice(["FAST", "saf", "2.4", 7, "purple", True])
            return rng.choice(list(dist.choices))
        low, high = dist.low, dist.high
        if messy and rng.random() < 0.5:
            choice = rng.random()
            if choice < 0.3:
                return high * 10
            if choice < 0.5:
                return low - 5
            if choice < 0.8:
                return str(rng.uniform(low, high))
            return rng.uniform(low, high) + 0.123
        if isinstance(dist, IntDistribution):
            return rng.randrange(low, high + 1, dist.step)
        return rng.uniform(low, high)

    def reply(prompt: str, index: int) -> str:
        configs = []
        for _ in range(prompt_n(prompt)):
            params = {name: value(name, dist) for name, dist in SPACE.items()}
            if messy:
                params.pop(rng.choice(list(params)))
                params["not_a_knob"] = 1
            configs.append({"params": params, "rationale": f"call {index}"})
        text = json.dumps({"configurations": configs})
        if messy:
            return f"Here are my suggestions:\n```json\n{text}\n```\nGood luck!"
        return text

    return reply


def fixed_replier(*replies: str) -> Replier:
    """Replies with ``replies`` in turn, repeating the last."""

    def reply(prompt: str, index: int) -> str:
        return replies[min(index, len(replies) - 1)]

    return reply


class ScriptedChatModel(BaseChatModel):
    """A chat model whose replies come from a function; it records every call.

    ``call_log`` (a file path) gets one JSON line per call, appended atomically, so calls from
    several processes can be counted.
    """

    replier: Any
    sleep: float = 0.0
    error: str | None = None
    call_log: str | None = None
    model_name: str = "scripted-model"

    _prompts: list[str] = PrivateAttr(default_factory=list)
    _kwargs: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def prompts(self) -> list[str]:
        return list(self._prompts)

    @property
    def call_kwargs(self) -> list[dict[str, Any]]:
        return list(self._kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages)
        with self._lock:
            index = len(self._prompts)
            self._prompts.append(prompt)
            self._kwargs.append(kwargs)
        if self.call_log:
            line = json.dumps({"pid": os.getpid(), "n": prompt_n(prompt), "t": time.time()})
            fd = os.open(self.call_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
        if self.sleep:
            time.sleep(self.sleep)
        if self.error is not None:
            raise RuntimeError(self.error)
        text = self.replier(prompt, index)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def read_call_log(path: str) -> list[dict[str, Any]]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def rounds_with_an_owner(study: optuna.Study, schedule: AlternatingSchedule) -> set[int]:
    """The rounds whose model call was made: those with an LLM trial not popped from the queue."""
    rounds = set()
    for t in study.get_trials(deepcopy=False):
        if schedule.role(t.number) is TrialRole.LLM and "fixed_params" not in t.system_attrs:
            rounds.add(schedule.round_of(t.number).start)
    return rounds


def round_records(study: optuna.Study) -> dict[int, Any]:
    """The round records the sampler keeps in the study's system attributes, by round start."""
    attrs = study._storage.get_study_system_attrs(study._study_id)
    return {
        int(k[len(ROUND_RECORD_PREFIX):]): v for k, v in attrs.items()
        if k.startswith(ROUND_RECORD_PREFIX)
    }


def _worker(storage_url: str, study_name: str, n_trials: int, call_log: str, sleep: float) -> None:
    from optuna_llm_sampler import LLMSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage_url.startswith("postgresql"):
        # PostgreSQL locks the waiting trial it pops (SELECT ... FOR UPDATE): plain RDBStorage.
        storage = optuna.storages.RDBStorage(storage_url)
    elif storage_url.startswith("plain+"):
        storage = optuna.storages.RDBStorage(
            storage_url[len("plain+"):], engine_kwargs={"connect_args": {"timeout": 60}}
        )
    else:
        from optuna_llm_sampler import sqlite_storage

        storage = sqlite_storage(storage_url)
    model = ScriptedChatModel(
        replier=random_replier(seed=os.getpid()), sleep=sleep, call_log=call_log
    )
    sampler = LLMSampler(
        model,
        base_sampler=optuna.samplers.RandomSampler(seed=os.getpid()),
        search_space=SPACE,
        schedule=AlternatingSchedule(),
        choose=unvetted(),  # one model call per round: the workers' tests count them
        baseline={"workers": 8, "backlog": 512, "buffer_kb": 64, "ratio": 0.5,
                  "timeout_s": 5.0, "learning_rate": 1e-3, "mode": "safe"},
    )
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler)
    study.optimize(objective, n_trials=n_trials)


if __name__ == "__main__" and len(sys.argv) == 7 and sys.argv[1] == "worker":
    _worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
