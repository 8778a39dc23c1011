"""The expert stand-in: published nginx or MariaDB advice applied to the study's best, answered like a model."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution

from optbench.expert import (
    EXPERT_MODEL_NAME,
    MARIADB_ADVICE,
    NGINX_ADVICE,
    ExpertChatModel,
    ExpertUnavailableError,
    check_expert,
    expert_model_name,
)
from optuna_llm_sampler._model._invoke import bind_schema, reply_schema
from atune_bridge import load_server, search_space
from optuna_llm_sampler import AdaptiveSchedule, LLMSampler
from optuna_llm_sampler.attrs import ATTR_MODEL, ATTR_SOURCE

SPACE = {
    "gzip": CategoricalDistribution(["on", "static", "off"]),
    "access_log": CategoricalDistribution(["on", "buffered", "off"]),
    "sendfile": CategoricalDistribution(["on", "off"]),
    "tcp_nopush": CategoricalDistribution(["on", "off"]),
    "tcp_nodelay": CategoricalDistribution(["on", "off"]),
    "keepalive_requests": IntDistribution(10, 10000, step=10),
    "keepalive_timeout": IntDistribution(0, 120, step=5),
    "worker_processes": CategoricalDistribution(["1", "2", "auto"]),
    "worker_connections": IntDistribution(64, 4096, step=64),
    "multi_accept": CategoricalDistribution(["on", "off"]),
}
MARIADB_SPACE = search_space(load_server(Path(__file__).parents[2] / "studies/mariadb/mariadb_server.yaml").knobs)
BASELINE = {"gzip": "on", "access_log": "on", "sendfile": "off", "tcp_nopush": "off", "tcp_nodelay": "off",
            "keepalive_requests": 100, "keepalive_timeout": 0, "worker_processes": "1",
            "worker_connections": 64, "multi_accept": "off"}


def test_it_names_the_service_whose_advice_covers_the_space_and_is_unavailable_elsewhere() -> None:
    assert check_expert(SPACE) == "nginx"
    assert check_expert(MARIADB_SPACE) == "mariadb"
    with pytest.raises(ExpertUnavailableError, match="advice only for the knobs of the studies nginx and mariadb"):
        check_expert({"x1": IntDistribution(0, 1), "x2": IntDistribution(0, 1)})
    with pytest.raises(ValueError, match="no scripted advice for .redis."):
        ExpertChatModel(service="redis")


def test_its_mariadb_advice_fits_the_mariadb_study_and_says_it_is_not_a_model() -> None:
    expert = ExpertChatModel(seed=0, service="mariadb")
    assert expert.model_name == expert_model_name("mariadb") and "not a model" in expert.model_name
    reply = json.loads(bind_schema(expert, reply_schema(MARIADB_SPACE, 2)).invoke([("human", "go")]).content)
    first = reply["configurations"][0]["params"]
    for knob, (value, _) in MARIADB_ADVICE.items():
        assert MARIADB_SPACE[knob]._contains(MARIADB_SPACE[knob].to_internal_repr(value)), knob
        assert first[knob] == value, knob


def test_its_first_proposal_is_the_best_so_far_with_all_advice_applied() -> None:
    expert = ExpertChatModel(seed=0)
    # The model proposes trial 1, as under +one-shot (the default's first is trial 7).
    study = optuna.create_study(direction="maximize",
                                sampler=LLMSampler(expert, search_space=SPACE, baseline=BASELINE, seed=0,
                                                   schedule=AdaptiveSchedule(model_first=True, early_share=0.5)))
    expert.attach(study)
    trial = study.ask(SPACE)  # trial 0: the baseline LLMSampler enqueues
    assert trial.params == BASELINE
    study.tell(trial, 1.0)
    trial = study.ask(SPACE)
    assert trial.user_attrs[ATTR_SOURCE] == "llm"
    assert trial.user_attrs[ATTR_MODEL] == EXPERT_MODEL_NAME and "not a model" in EXPERT_MODEL_NAME
    for knob, (value, _) in NGINX_ADVICE.items():
        if knob in SPACE:
            assert trial.params[knob] == value, knob


def test_further_proposals_explore_around_the_advice() -> None:
    expert = ExpertChatModel(seed=1)
    reply = json.loads(bind_schema(expert, reply_schema(SPACE, 4)).invoke([("human", "go")]).content)
    configurations = [c["params"] for c in reply["configurations"]]
    assert len(configurations) == 4
    assert configurations[0]["gzip"] == "off" and configurations[0]["access_log"] == "off"
    assert len({json.dumps(c, sort_keys=True) for c in configurations[1:]}) > 1
    assert all(c["rationale"] for c in reply["configurations"])
