"""Evidence: per-knob summaries of the history, most important knob first, within budget."""

from __future__ import annotations

import importlib.util
import random

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.samplers import RandomSampler
from optuna.trial import create_trial
import pytest

from llm_fakes import objective
from llm_fakes import random_replier
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE as FAKE_SPACE
from optuna_llm_sampler.attrs import ATTR_EVIDENCE_CHARS
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import Evidence
from optuna_llm_sampler import ConfigError
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import PromptConfig


SPACE = {
    "gzip": CategoricalDistribution(["on", "off", "auto"]),
    "workers": IntDistribution(1, 64),
    "noise": FloatDistribution(0.0, 1.0),
}


def study_of(direction: str, rows: list[tuple[str, int, float, float]]) -> optuna.Study:
    study = optuna.create_study(direction=direction)
    for gzip, workers, noise, value in rows:
        study.add_trial(create_trial(value=value, params={"gzip": gzip, "workers": workers,
                                                          "noise": noise}, distributions=SPACE))
    return study


# gzip off is better; more workers is better; noise does nothing.
ROWS = [("on", 2, 0.1, 10.0), ("off", 4, 0.9, 30.0), ("on", 8, 0.5, 20.0), ("off", 16, 0.3, 50.0),
        ("on", 32, 0.7, 40.0), ("off", 64, 0.2, 70.0), ("on", 48, 0.6, 45.0), ("off", 40, 0.4, 60.0)]


def render(direction: str = "maximize", rows=ROWS, **kwargs) -> str:
    study = study_of(direction, rows)
    return Evidence(**kwargs).render(study, study.trials, SPACE)


def test_each_choice_shows_its_count_best_and_mean_best_first_and_the_untried_ones() -> None:
    line = next(x for x in render().splitlines() if x.startswith("- gzip"))
    assert line == ("- gzip: off n=4 best=70 mean=52.5; on n=4 best=45 mean=28.75; "
                    "untried: auto")


def test_numbers_show_where_the_good_trials_lie_and_the_trend() -> None:
    line = next(x for x in render().splitlines() if x.startswith("- workers"))
    assert line.startswith("- workers: good trials 40..64 (median 52); tried 2..64")
    assert "higher values did better" in line
    noise = next(x for x in render().splitlines() if x.startswith("- noise"))
    assert "did better" not in noise


def test_when_minimising_the_best_are_the_lowest() -> None:
    text = render("minimize")
    assert "(lower is better); good = the best 2." in text
    assert "- gzip: on n=4 best=10" in text
    assert "lower values did better" in text


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="fANOVA needs scikit-learn")
def test_importances_come_once_there_are_enough_trials_most_important_knob_first() -> None:
    rng = random.Random(0)
    rows = []
    for _ in range(20):
        gzip, workers, noise = rng.choice(["on", "off"]), rng.randint(1, 64), rng.random()
        rows.append((gzip, workers, noise, workers + (30.0 if gzip == "off" else 0.0)))
    assert "Importance" not in render(rows=rows, importance_trials=21)
    text = render(rows=rows, importance_trials=20)
    lines = text.splitlines()
    assert lines[1].startswith("Importance")
    knobs = [x.split(":")[0][2:] for x in lines if x.startswith("- ")]
    assert knobs == ["workers", "gzip", "noise"]


def test_nothing_is_shown_before_min_trials() -> None:
    assert render(rows=ROWS[:3], min_trials=4) == ""


def test_the_sampler_shows_it_within_its_budget_and_records_its_length() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=3))
    config = PromptConfig(evidence_chars=300)
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=FAKE_SPACE,
                         schedule=AlternatingSchedule(),
                         evidence=Evidence(), prompt=config)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=14)
    llm = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    shown = [t.user_attrs[ATTR_EVIDENCE_CHARS] for t in llm]
    assert shown[0] == 0 and 0 < max(shown) <= 300
    last = model.prompts[-1]
    assert "## What the trials so far show" in last and len(last) <= config.max_chars
    section = last.split("## What the trials so far show\n")[1].split("\n\n## ")[0]
    assert section.startswith("From 1") and "truncated" not in section  # cut at a line end


def test_without_the_option_there_is_no_evidence() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=3))
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=FAKE_SPACE,
                         schedule=AlternatingSchedule())
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=14)
    assert not any("What the trials so far show" in p for p in model.prompts)
    assert all(ATTR_EVIDENCE_CHARS not in t.user_attrs for t in study.trials)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"good_fraction": 0}, "good_fraction"), ({"min_trials": 1}, "min_trials"),
     ({"importance_trials": "ten"}, "importance_trials"), ({"trend_threshold": 2}, "trend_threshold")],
)
def test_invalid_fields_raise_naming_them(kwargs: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Evidence(**kwargs)
