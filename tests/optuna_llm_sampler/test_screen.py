"""Screen: the model is asked for more candidates than slots; a surrogate keeps the best."""

from __future__ import annotations

import importlib.util
import json

import optuna
from optuna.samplers import RandomSampler
import pytest

from llm_fakes import objective
from llm_fakes import prompt_n
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from optuna_llm_sampler.attrs import ATTR_SCREEN
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import EveryKthSchedule
from optuna_llm_sampler import FirstNSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import Screen
from optuna_llm_sampler import ConfigError
from optuna_llm_sampler._policy._screen import encode


GOOD = {"workers": 24, "backlog": 1024, "buffer_kb": 64, "ratio": 0.99, "timeout_s": 0.5,
        "learning_rate": 1e-3, "mode": "fast"}


def bad(k: int) -> dict:
    return {**GOOD, "workers": 60 - k, "backlog": 4096 - 128 * k, "ratio": 0.01 * k,
            "timeout_s": 10.0, "mode": None}


def good_last(prompt: str, index: int) -> str:
    """As many candidates as asked; the only good one is the last, with a fresh ratio."""
    n = prompt_n(prompt)
    configs = [{"params": bad(k + 10 * index), "rationale": f"bad {k}"} for k in range(n - 1)]
    configs.append({"params": {**GOOD, "ratio": 0.99 - 0.01 * index}, "rationale": "good"})
    return json.dumps({"configurations": configs})


def run(schedule, screen: Screen | None, n: int) -> tuple[optuna.Study, ScriptedChatModel]:
    model = ScriptedChatModel(replier=good_last)
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=schedule, screen=screen, choose=None, structured_output=True)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study, model


def test_the_model_is_asked_for_factor_times_the_rounds_slots() -> None:
    study, model = run(FirstNSchedule(2, round_size=2), Screen(factor=3), n=3)
    assert prompt_n(model.prompts[0]) == 6
    schema = model.call_kwargs[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["configurations"]["minItems"] == 6


def test_while_history_is_short_the_models_order_is_kept() -> None:
    study, _ = run(FirstNSchedule(2, round_size=2), Screen(factor=3, min_trials=8), n=3)
    kept = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    assert [t.user_attrs[ATTR_SCREEN] for t in kept] == [
        {"rank": 1, "of": 6, "by": "model_order"},
        {"rank": 2, "of": 6, "by": "model_order"},
    ]
    assert all(t.user_attrs["llm_rationale"].startswith("bad") for t in kept)


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="needs scikit-learn")
def test_with_enough_history_the_surrogate_keeps_the_candidate_it_ranks_best() -> None:
    # Trials 1-19 random, then one LLM trial in five; the good candidate is always last.
    study, _ = run(lambda n: n >= 20 and n % 5 == 0, Screen(factor=4, min_trials=8), n=41)
    kept = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    assert len(kept) == 5
    for t in kept:
        record = t.user_attrs[ATTR_SCREEN]
        assert record["by"] == "random_forest" and record["rank"] == 1 and record["of"] == 4
        assert t.user_attrs["llm_rationale"] == "good"
        assert isinstance(record["predicted"], float)


def test_without_scikit_learn_the_models_order_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sklearn" else real(name, *a))
    study, _ = run(EveryKthSchedule(10), Screen(factor=2), n=21)
    kept = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    assert [t.user_attrs[ATTR_SCREEN]["by"] for t in kept] == ["model_order", "model_order"]


def test_encoding_scales_numbers_and_one_hots_choices() -> None:
    row = encode({"workers": 1, "buffer_kb": 4096, "mode": 3}, SPACE)
    assert row[0] == 0.0  # workers at its low end
    assert row[2] == pytest.approx(1.0)  # buffer_kb at its high end, log scale
    assert row[-5:] == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert all(x != x for x in row[1:2] + row[3:6])  # absent: NaN


@pytest.mark.parametrize(
    "kwargs, name",
    [({"factor": 0}, "factor"), ({"min_trials": 1}, "min_trials"), ({"n_estimators": 2.5}, "n_estimators")],
)
def test_invalid_fields_raise_naming_them(kwargs: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Screen(**kwargs)


def test_the_screen_must_be_a_screen() -> None:
    with pytest.raises(TypeError, match="screen"):
        LLMSampler(ScriptedChatModel(replier=good_last), screen=3)  # type: ignore[arg-type]
