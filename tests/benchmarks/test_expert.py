"""The expert stand-in: published nginx advice applied to the study's best, answered like a model."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution

from optbench.expert import EXPERT_MODEL_NAME, NGINX_ADVICE, ExpertChatModel, ExpertUnavailableError, check_expert
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
BASELINE = {"gzip": "on", "access_log": "on", "sendfile": "off", "tcp_nopush": "off", "tcp_nodelay": "off",
            "keepalive_requests": 100, "keepalive_timeout": 0, "worker_processes": "1",
            "worker_connections": 64, "multi_accept": "off"}


def test_it_is_unavailable_where_it_has_no_advice() -> None:
    check_expert(SPACE)
    with pytest.raises(ExpertUnavailableError, match="advice only for the nginx study's knobs"):
        check_expert({"x1": IntDistribution(0, 1), "x2": IntDistribution(0, 1)})


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
    from optuna_llm_sampler._model._invoke import bind_schema, reply_schema

    expert = ExpertChatModel(seed=1)
    reply = json.loads(bind_schema(expert, reply_schema(SPACE, 4)).invoke([("human", "go")]).content)
    configurations = [c["params"] for c in reply["configurations"]]
    assert len(configurations) == 4
    assert configurations[0]["gzip"] == "off" and configurations[0]["access_log"] == "off"
    assert len({json.dumps(c, sort_keys=True) for c in configurations[1:]}) > 1
    assert all(c["rationale"] for c in reply["configurations"])
