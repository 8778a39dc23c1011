"""Does ``LLMSampler(prefetch=True)`` hide the model's latency behind the objective?

Three arms on the same 40-trial study, in one run, printed side by side: TPE alone,
LLMSampler without prefetch, LLMSampler with prefetch. The model is a stand-in, not a language
model: it sleeps 2 s (a remote model's answer time) and then answers with random
configurations; the objective sleeps 2 s (a short benchmark of the tuned service). Without
prefetch each LLM round adds the model's 2 s to the wall time; with it only the first round
does. Takes about 5 minutes, nearly all of it sleeping.

    python benchmarks/prefetch.py [--trials 40] [--model-seconds 2] [--objective-seconds 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution

from optuna_llm_sampler import LLMSampler


SPACE = {
    "worker_processes": IntDistribution(1, 64),
    "worker_connections": IntDistribution(512, 65536, step=512),
    "keepalive_timeout": FloatDistribution(1.0, 120.0),
    "sendfile": CategoricalDistribution(["on", "off"]),
}


class SleepingStandIn:
    """Not a model: sleeps ``seconds``, then answers with as many random configurations as the
    prompt asks for."""

    def __init__(self, seconds: float, seed: int = 0) -> None:
        self.seconds = seconds
        self.calls = 0
        self.model_name = f"stand-in sleeping {seconds:g} s"
        self._rng = random.Random(seed)

    def invoke(self, messages: list[tuple[str, str]]) -> str:
        self.calls += 1
        time.sleep(self.seconds)
        match = re.search(r"Propose (\d+) new", messages[-1][1])
        configs = []
        for _ in range(int(match.group(1)) if match else 1):
            params = {
                name: self._rng.choice(d.choices)
                if isinstance(d, CategoricalDistribution)
                else self._rng.uniform(d.low, d.high)
                for name, d in SPACE.items()
            }
            configs.append({"params": params, "rationale": "stand-in"})
        return json.dumps({"configurations": configs})


def make_objective(seconds: float):
    def objective(trial: optuna.Trial) -> float:
        w = trial.suggest_int("worker_processes", 1, 64)
        c = trial.suggest_int("worker_connections", 512, 65536, step=512)
        k = trial.suggest_float("keepalive_timeout", 1.0, 120.0)
        s = trial.suggest_categorical("sendfile", ["on", "off"])
        time.sleep(seconds)
        return -((w - 24) ** 2) + c / 1000 - abs(k - 15) / 10 + (5 if s == "on" else 0)

    return objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--model-seconds", type=float, default=2.0)
    parser.add_argument("--objective-seconds", type=float, default=2.0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna_llm_sampler").setLevel(logging.WARNING)
    objective = make_objective(args.objective_seconds)

    arms: dict[str, tuple[optuna.samplers.BaseSampler, SleepingStandIn | None]] = {}
    arms["TPE alone"] = (optuna.samplers.TPESampler(seed=0), None)
    for label, prefetch in (("LLMSampler", False), ("LLMSampler prefetch", True)):
        model = SleepingStandIn(args.model_seconds)
        sampler = LLMSampler(model, base_sampler=optuna.samplers.TPESampler(seed=0),
                             search_space=SPACE, schedule="alternating", prefetch=prefetch)
        arms[label] = (sampler, model)

    print(f"{args.trials} trials, model {args.model_seconds:g} s, "
          f"objective {args.objective_seconds:g} s")
    print(f"{'arm':<22}{'wall s':>9}{'x TPE':>8}{'calls':>7}{'LLM trials':>12}{'prefetched':>12}")
    tpe = None
    for label, (sampler, model) in arms.items():
        study = optuna.create_study(direction="maximize", sampler=sampler)
        start = time.perf_counter()
        study.optimize(objective, n_trials=args.trials)
        wall = time.perf_counter() - start
        if isinstance(sampler, LLMSampler):
            sampler.join_prefetch()
        tpe = tpe or wall
        llm = sum(t.user_attrs.get("source") == "llm" for t in study.trials)
        ahead = sum("llm_prefetch" in t.user_attrs for t in study.trials)
        calls = model.calls if model is not None else 0
        print(f"{label:<22}{wall:>9.1f}{wall / tpe:>8.3f}{calls:>7}{llm:>12}{ahead:>12}",
              flush=True)


if __name__ == "__main__":
    main()
