"""The 'random' model spec: a stand-in, not a model, that replies with uniform random configurations."""

from __future__ import annotations

import json

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
import pytest

from optuna_llm_sampler.attrs import ATTR_MODEL
from optuna_llm_sampler.attrs import ATTR_RAW_REPLY
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import make_chat_model
from optuna_llm_sampler import ModelSpecError
from optuna_llm_sampler.attrs import SOURCE_LLM
from optuna_llm_sampler._model._invoke import bind_schema
from optuna_llm_sampler._model._invoke import reply_schema


pytest.importorskip("langchain_core")

SPACE = {
    "workers": IntDistribution(1, 8),
    "connections": IntDistribution(64, 4096, step=64),
    "ratio": FloatDistribution(0.0, 1.0),
    "gzip": CategoricalDistribution(["on", "off", "static"]),
}


def _reply(model, n: int = 3) -> dict:
    return json.loads(bind_schema(model, reply_schema(SPACE, n)).invoke([("human", "propose")]).content)


def test_the_spec_builds_a_stand_in_named_as_not_a_model() -> None:
    model = make_chat_model("random")
    assert "not a model" in model.model_name
    assert make_chat_model("random:7").seed == 7


def test_a_malformed_seed_is_refused_with_the_form_expected() -> None:
    with pytest.raises(ModelSpecError, match=r"'random:<integer seed>'"):
        make_chat_model("random:abc")


def test_replies_fill_the_schema_with_values_inside_each_domain() -> None:
    reply = _reply(make_chat_model("random:0"), n=4)
    configurations = reply["configurations"]
    assert len(configurations) == 4
    for c in configurations:
        p = c["params"]
        assert set(p) == set(SPACE)
        assert 1 <= p["workers"] <= 8 and 64 <= p["connections"] <= 4096
        assert 0.0 <= p["ratio"] <= 1.0 and p["gzip"] in ("on", "off", "static")


def test_the_same_seed_gives_the_same_replies_and_draws_are_spread() -> None:
    a, b = make_chat_model("random:3"), make_chat_model("random:3")
    assert [_reply(a) for _ in range(3)] == [_reply(b) for _ in range(3)]
    gz = {c["params"]["gzip"] for _ in range(20) for c in _reply(a)["configurations"]}
    assert gz == {"on", "off", "static"}


def test_without_a_schema_it_says_what_it_needs() -> None:
    text = make_chat_model("random").invoke([("human", "hi")]).content
    assert "needs the reply's JSON schema" in text


def test_its_proposals_go_through_the_whole_pipeline_of_llm_sampler() -> None:
    sampler = LLMSampler(make_chat_model("random:1"), search_space=SPACE, seed=0,
                         baseline={"workers": 1, "connections": 64, "ratio": 0.5, "gzip": "on"},
                         schedule=AlternatingSchedule())
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: t.suggest_int("workers", 1, 8) + t.suggest_float("ratio", 0.0, 1.0)
                   + t.suggest_int("connections", 64, 4096, step=64) / 4096
                   + (t.suggest_categorical("gzip", ["on", "off", "static"]) == "off"), n_trials=9)
    llm = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == SOURCE_LLM]
    assert len(llm) >= 4
    for t in llm:
        assert "not a model" in t.user_attrs[ATTR_MODEL]
        assert json.loads(t.user_attrs[ATTR_RAW_REPLY])["configurations"]
        assert t.params["connections"] % 64 == 0  # repaired onto the step grid
        for name, dist in SPACE.items():
            assert dist._contains(dist.to_internal_repr(t.params[name]))


def test_the_samplers_seed_seeds_a_stand_in_built_without_one() -> None:
    def sources(seed: int) -> list[object]:
        space = {"workers": SPACE["workers"]}
        sampler = LLMSampler(make_chat_model("random"), search_space=space, seed=seed,
                             schedule="alternating")
        study = optuna.create_study(sampler=sampler)
        study.optimize(lambda t: float(t.suggest_int("workers", 1, 8)), n_trials=6)
        return [t.params for t in study.trials]

    assert sources(3) == sources(3)
    assert sources(3) != sources(4)
    seeded = make_chat_model("random", seed=9)
    assert LLMSampler(seeded, search_space=SPACE, seed=3).llm is seeded  # its own seed stands
