"""How much time LLMSampler adds per trial, model call excluded.

Runs the same study with plain TPE and with LLMSampler wrapping the same TPE and an instant
scripted model (so only the sampler's own work is measured: schedule, storage reads, prompt,
parse, repair, enqueue), in memory and on SQLite, and prints the times side by side. A third
study wraps TPE in an LLMSampler whose schedule never gives the model a trial: what the wrapper
costs a trial the base sampler proposes (the default's model trials skip TPE's own sampling,
which makes them cheaper). The studies advance in turns of ``--chunk`` trials, so the
machine's load changes all alike.

On SQLite it also counts, per trial, the storage transactions that write and the SQL
statements each arm runs (SQLAlchemy's events on the storage's engine), so a change that adds
a read or a write per trial shows here as a number, whatever the machine's load.

    python benchmarks/sampler_overhead.py [--trials 200] [--chunk 20]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import tempfile
import time
from pathlib import Path

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution

from optuna_llm_sampler import AdaptiveSchedule
from optuna_llm_sampler import LLMSampler


SPACE = {
    "worker_processes": IntDistribution(1, 64),
    "worker_connections": IntDistribution(512, 65536, step=512),
    "keepalive_timeout": FloatDistribution(1.0, 120.0),
    "buffer_kb": IntDistribution(4, 4096, log=True),
    "sendfile": CategoricalDistribution(["on", "off"]),
    "tcp_nopush": CategoricalDistribution(["on", "off"]),
}


class InstantModel:
    """Replies at once with as many random configurations as the prompt asks for."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self.calls = 0

    def invoke(self, messages: list[tuple[str, str]]) -> str:
        self.calls += 1
        match = re.search(r"Propose (\d+) new", messages[-1][1])
        n = int(match.group(1)) if match else 1
        configs = []
        for _ in range(n):
            params = {}
            for name, d in SPACE.items():
                if isinstance(d, CategoricalDistribution):
                    params[name] = self._rng.choice(d.choices)
                else:
                    params[name] = self._rng.uniform(d.low, d.high)  # off-step: repaired
            configs.append({"params": params, "rationale": "benchmark"})
        return json.dumps({"configurations": configs})


def objective(trial: optuna.Trial) -> float:
    total = 0.0
    for name, d in SPACE.items():
        if isinstance(d, IntDistribution):
            total += trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
        elif isinstance(d, FloatDistribution):
            total += trial.suggest_float(name, d.low, d.high)
        else:
            total += len(trial.suggest_categorical(name, d.choices))
    return total


class StorageCalls:
    """Counts what an RDBStorage sends to its database: SQL statements, and the transactions
    that wrote (an INSERT, UPDATE or DELETE before the commit), each a disk sync on SQLite."""

    def __init__(self, storage: optuna.storages.RDBStorage) -> None:
        from sqlalchemy import event

        self.statements = 0
        self.writes = 0
        self._writing = False

        def statement(conn: object, cursor: object, sql: str, *args: object) -> None:
            self.statements += 1
            self._writing |= sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))

        def commit(conn: object) -> None:
            self.writes += self._writing
            self._writing = False

        event.listen(storage.engine, "before_cursor_execute", statement)
        event.listen(storage.engine, "commit", commit)


def run(arms: dict[str, tuple[optuna.samplers.BaseSampler, str | None]], trials: int,
        chunk: int) -> tuple[dict[str, float], dict[str, StorageCalls]]:
    """Milliseconds per trial of each arm, the arms' studies run in turn ``chunk`` trials at a
    time, so a change in the machine's load (other processes, disk syncs) falls on every arm;
    and, for arms on an RDB storage, what each sent to its database."""
    storages = {name: optuna.storages.RDBStorage(url) for name, (_, url) in arms.items() if url}
    calls = {name: StorageCalls(storage) for name, storage in storages.items()}
    studies = {name: optuna.create_study(sampler=s, storage=storages.get(name))
               for name, (s, _) in arms.items()}
    for counter in calls.values():  # the study's creation is not a trial's
        counter.statements = counter.writes = 0
    seconds = dict.fromkeys(arms, 0.0)
    done = 0
    while done < trials:
        n = min(chunk, trials - done)
        for name, study in studies.items():
            start = time.perf_counter()
            study.optimize(objective, n_trials=n)
            seconds[name] += time.perf_counter() - start
        done += n
    return {name: s / trials * 1000 for name, s in seconds.items()}, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=20,
                        help="trials run in one arm before switching to the other")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna_llm_sampler").setLevel(logging.WARNING)

    print(f"{'storage':<10}{'TPE ms/trial':>14}{'LLMSampler ms/trial':>22}{'ratio':>8}{'calls':>7}"
          f"{'no model rounds ms/trial':>27}{'ratio':>8}")
    counted: dict[str, StorageCalls] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("memory", "sqlite"):
            def storage(name: str) -> str | None:
                return None if label == "memory" else f"sqlite:///{Path(tmp) / name}.db"

            model = InstantModel()
            wrapped = LLMSampler(model, base_sampler=optuna.samplers.TPESampler(seed=0),
                                 search_space=SPACE)
            # The default schedule gives the model some trials, which skip TPE's own sampling;
            # this arm never asks it, so every trial pays TPE plus the wrapper.
            never = AdaptiveSchedule(floor=0.0, ceiling=0.0, early_share=0.0)
            idle = LLMSampler(InstantModel(), base_sampler=optuna.samplers.TPESampler(seed=0),
                              search_space=SPACE, schedule=never)
            ms, calls = run(
                {"plain": (optuna.samplers.TPESampler(seed=0), storage("plain")),
                 "llm": (wrapped, storage("llm")),
                 "idle": (idle, storage("idle"))},
                args.trials,
                args.chunk,
            )
            plain, llm, bare = ms["plain"], ms["llm"], ms["idle"]
            print(f"{label:<10}{plain:>14.2f}{llm:>22.2f}{llm / plain:>8.2f}{model.calls:>7}"
                  f"{bare:>27.2f}{bare / plain:>8.2f}")
            counted.update(calls)
    if counted:
        print("\nSQLite, per trial:" + "".join(f"{name:>12}" for name in counted))
        print(f"{'write transactions':<18}"
              + "".join(f"{c.writes / args.trials:>12.2f}" for c in counted.values()))
        print(f"{'SQL statements':<18}"
              + "".join(f"{c.statements / args.trials:>12.2f}" for c in counted.values()))


if __name__ == "__main__":
    main()
