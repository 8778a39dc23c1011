"""Each trial records who proposed it and how; no secret ever reaches storage or logs."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import optuna
from optuna.samplers import RandomSampler
from pydantic import SecretStr
import pytest

import optuna_llm_sampler
from llm_fakes import fixed_replier
from llm_fakes import model_first
from llm_fakes import objective
from llm_fakes import random_replier
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from optuna_llm_sampler.attrs import source_of
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import make_chat_model


ENV_SECRET = "sk-env-SECRET-1a2b3c4d5e"
FIELD_SECRET = "sk-field-SECRET-9z8y7x6w"


class KeyedModel(ScriptedChatModel):
    api_key: SecretStr = SecretStr(FIELD_SECRET)


def test_attribute_names_are_stable_public_constants() -> None:
    assert optuna_llm_sampler.attrs.ATTR_SOURCE == "source"
    assert (optuna_llm_sampler.attrs.SOURCE_LLM, optuna_llm_sampler.attrs.SOURCE_BASELINE) == ("llm", "baseline")
    names = [getattr(optuna_llm_sampler, n) for n in optuna_llm_sampler.__all__ if n.startswith("ATTR_")]
    assert len(names) == len(set(names))


def test_every_llm_trial_carries_source_model_rationale_repairs_raw_reply_latency() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=1, messy=True), model_name="qwen-test")
    sampler = LLMSampler(model, search_space=SPACE, schedule=AlternatingSchedule())  # rounds 1-2, 5-6
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=7)
    llm_trials = [t for t in study.trials if source_of(t, "TPESampler") == "llm"]
    assert [t.number for t in llm_trials] == [1, 2, 5, 6]
    for t in llm_trials:
        a = t.user_attrs
        assert a["llm_model"] == "qwen-test"
        assert a["llm_rationale"].startswith("call ")
        assert a["llm_raw_reply"].startswith("Here are my suggestions")
        assert isinstance(a["llm_latency_s"], float)
        assert a["llm_round"] in (1, 5) and a["llm_proposed_by"] == a["llm_round"]
        assert a["llm_prompt_chars"] > 500
        assert {"extracted", "unknown_key", "missing"} <= {r["kind"] for r in a["llm_repairs"]}
    assert {source_of(t, "TPESampler") for t in study.trials} == {"llm", "TPESampler"}


def test_raw_reply_is_truncated() -> None:
    reply = json.dumps({"configurations": [{"params": {"workers": 3}, "rationale": "x" * 5000}]})
    sampler = LLMSampler(ScriptedChatModel(replier=fixed_replier(reply)), search_space=SPACE,
                         prompt=optuna_llm_sampler.PromptConfig(raw_reply_chars=300),
                         schedule=model_first())
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=2)
    assert len(study.trials[1].user_attrs["llm_raw_reply"]) <= 300


def test_objective_sees_the_attributes_during_the_trial() -> None:
    seen = []

    def watching(trial: optuna.Trial) -> float:
        seen.append(source_of(trial, "TPESampler"))
        return objective(trial)

    sampler = LLMSampler(ScriptedChatModel(replier=random_replier()), search_space=SPACE,
                         schedule=AlternatingSchedule())
    optuna.create_study(sampler=sampler).optimize(watching, n_trials=3)
    assert seen == ["TPESampler", "llm", "llm"]


def _everything_stored(storage_file: Path) -> bytes:
    return storage_file.read_bytes()


@pytest.mark.parametrize(
    "make_model",
    [
        # The model echoes the keys in its reply and rationale.
        lambda: KeyedModel(
            replier=fixed_replier(json.dumps({"configurations": [{
                "params": {"workers": 3}, "rationale": f"key {ENV_SECRET} and {FIELD_SECRET}"}]})),
            model_name=f"model-{ENV_SECRET}",
        ),
        # The model's exception message contains the keys.
        lambda: KeyedModel(replier=random_replier(), error=f"401: bad key {FIELD_SECRET} / {ENV_SECRET}"),
        # A real OpenAI client with a key, against a server that is not there.
        pytest.param(
            lambda: make_chat_model("openai:qwen2.5@http://127.0.0.1:9/v1", max_retries=0, timeout=2),
            marks=pytest.mark.skipif(
                importlib.util.find_spec("langchain_openai") is None, reason="needs the [openai] extra"
            ),
        ),
    ],
    ids=["echoing-reply", "raising", "openai-unreachable"],
)
def test_no_secret_reaches_storage_or_logs(make_model, tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    monkeypatch.setenv("DASHSCOPE_API_KEY", ENV_SECRET)
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "s.db"
    sampler = LLMSampler(make_model(), base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         timeout=10, schedule=model_first())
    study = optuna.create_study(storage=f"sqlite:///{db}", sampler=sampler)
    study.optimize(objective, n_trials=3)

    owner = study.trials[1].user_attrs
    assert "llm_raw_reply" in owner or "llm_error" in owner  # the round did produce records
    stored = json.dumps([t.user_attrs for t in study.trials]) + json.dumps(
        study._storage.get_study_system_attrs(study._study_id)
    )
    for secret in (ENV_SECRET, FIELD_SECRET):
        assert secret not in stored
        assert secret.encode() not in _everything_stored(db)
        assert secret not in caplog.text
        assert secret not in repr(sampler)
    if "llm_raw_reply" in owner and "key" in owner["llm_raw_reply"]:
        assert "***" in owner["llm_raw_reply"]
