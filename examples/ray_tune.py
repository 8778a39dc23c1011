"""LLMSampler as Ray Tune's search algorithm: ``OptunaSearch(sampler=LLMSampler(...))``.

Ray runs the trials (here two at a time, on this machine or on a cluster); the searcher, and so
the model, runs in the driver: it reads the whole study's history from Optuna's storage and is
called once per LLM round. The objective is a stand-in for a service benchmark: three nginx-like
knobs and a score that peaks at 24 workers, 4096 connections and gzip on.

    python examples/ray_tune.py                           # SmolLM2 offline (extra local), 8 trials
    python examples/ray_tune.py --model random:0          # the random stand-in: mechanics only
    python examples/ray_tune.py --define-by-run           # the space as a define-by-run function
    python examples/ray_tune.py --address auto \\
        --storage postgresql+psycopg2://optuna:PASSWORD@db-host/optuna --study nginx-ray

Needs the ``ray`` extra (``pip install 'optuna-llm-sampler[ray,local]'``). ``--address auto``
joins a running Ray cluster (``ray start --head`` on one machine, ``ray start --address
HEAD:6379`` on the others); ``--storage`` keeps the study in that database (extra
``postgres``), where optuna-dashboard and later runs see it. See docs/ray.md.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import make_chat_model


SPACE = {
    "worker_processes": IntDistribution(1, 64),
    "worker_connections": IntDistribution(512, 16384, step=512),
    "gzip": CategoricalDistribution(["on", "off"]),
}
KNOWLEDGE = (
    "nginx serving small static files on a 24-core machine. worker_processes should match "
    "the cores; worker_connections near 4096 suits the load; gzip on saves bandwidth."
)
BASELINE = {"worker_processes": 1, "worker_connections": 512, "gzip": "off"}


def requests_per_second(config: dict[str, Any]) -> float:
    """A stand-in benchmark: what wrk against nginx would report for ``config``."""
    workers = config["worker_processes"]
    connections = config["worker_connections"]
    score = 10_000.0 - 12.0 * (workers - 24) ** 2 - abs(connections - 4096) / 8.0
    return score + (400.0 if config["gzip"] == "on" else 0.0)


def trainable(config: dict[str, Any]) -> dict[str, float]:
    time.sleep(0.2)  # a real benchmark runs for seconds to minutes
    return {"rps": requests_per_second(config)}


def define_by_run(trial: optuna.Trial) -> None:
    """The same space as ``SPACE``, written define-by-run."""
    trial.suggest_int("worker_processes", 1, 64)
    trial.suggest_int("worker_connections", 512, 16384, step=512)
    trial.suggest_categorical("gzip", ["on", "off"])


def main(argv: list[str] | None = None) -> optuna.Study:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help="make_chat_model spec (default local)")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--concurrent", type=int, default=2, help="trials running at once")
    parser.add_argument("--define-by-run", action="store_true")
    parser.add_argument("--address", default=None, help="Ray cluster address, e.g. auto")
    parser.add_argument("--storage", default=None, help="Optuna storage URL (default in memory)")
    parser.add_argument("--study", default="ray-tune-example", help="study name")
    parser.add_argument("--results", default=None, help="Ray Tune's results folder")
    args = parser.parse_args(argv)

    import ray
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    if not ray.is_initialized():
        ray.init(address=args.address)
    sampler = LLMSampler(
        make_chat_model(args.model),
        search_space=SPACE,
        knowledge=KNOWLEDGE,
        baseline=BASELINE,
        seed=0,
    )
    # OptunaSearch takes a storage object, not a URL.
    storage: optuna.storages.BaseStorage = (
        optuna.storages.RDBStorage(args.storage) if args.storage
        else optuna.storages.InMemoryStorage()
    )
    search = OptunaSearch(
        space=define_by_run if args.define_by_run else SPACE,
        sampler=sampler,
        metric="rps",
        mode="max",
        storage=storage,
        study_name=args.study,
    )
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=search, num_samples=args.trials, max_concurrent_trials=args.concurrent
        ),
        run_config=tune.RunConfig(storage_path=args.results, verbose=0),
    )
    tuner.fit()

    study = optuna.load_study(study_name=args.study, storage=storage)
    finished = study.get_trials(states=(TrialState.COMPLETE,))
    for t in finished:
        print(f"trial {t.number:2d}  {t.user_attrs.get(ATTR_SOURCE, '?'):10s}  "
              f"{t.value:8.0f} rps  {t.params}")
    waiting = study.get_trials(states=(TrialState.WAITING,))
    if waiting:  # --trials ended inside an LLM round: its other proposals stay queued
        print(f"{len(waiting)} proposal(s) of the last LLM round left in the study's queue")
    best = study.best_trial
    print(f"best: trial {best.number}, {best.value:.0f} rps, {best.params}")
    return study


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
