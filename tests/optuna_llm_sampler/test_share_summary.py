"""share_summary: one line on how many trials the model proposed and what decided that;
source_of: who proposed a trial, the base sampler for a trial without a source."""

from __future__ import annotations

import optuna
from optuna.samplers import RandomSampler

from llm_fakes import objective
from llm_fakes import random_replier
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler.attrs import share_summary
from optuna_llm_sampler.attrs import source_of


def study_of(n: int, **options) -> optuna.Study:
    sampler = LLMSampler(ScriptedChatModel(replier=random_replier(seed=1)),
                         base_sampler=RandomSampler(seed=0), search_space=SPACE, **options)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study


def test_the_default_gives_the_model_trial_7_and_says_why_it_got_no_more() -> None:
    study = study_of(12, baseline={"workers": 8, "backlog": 128, "buffer_kb": 64, "ratio": 0.5,
                                   "timeout_s": 1.0, "learning_rate": 1e-3, "mode": "safe"})
    line = share_summary(study)
    assert line is not None
    assert line.startswith("The model proposed 1 of 12 trials (7)")
    # The last decision, its share and the evidence behind it.
    assert "at trial 11 its share of blocks was" in line
    assert "the probability that its trials beat the base sampler's is" in line
    assert "floor" in line


def test_a_fixed_schedule_says_so() -> None:
    line = share_summary(study_of(6, schedule=AlternatingSchedule(), choose=None))
    assert line is not None and "of 6 trials" in line and "fixed" in line


def test_a_model_that_fails_has_its_slots_counted_as_fallbacks() -> None:
    sampler = LLMSampler(ScriptedChatModel(replier=lambda prompt, i: "no json here"),
                         base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=AlternatingSchedule(), choose=None)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=6)
    line = share_summary(study)
    assert line is not None and line.startswith("The model proposed 0 of 6 trials")
    assert "went to the base sampler" in line


def test_a_study_without_the_sampler_has_nothing_to_explain() -> None:
    study = optuna.create_study(sampler=RandomSampler(seed=0))
    study.optimize(objective, n_trials=3)
    assert share_summary(study) is None


def test_a_trial_without_a_source_is_the_base_samplers() -> None:
    study = study_of(9)
    sources = [source_of(t, "RandomSampler") for t in study.trials]
    assert sources.count("llm") == 1 and set(sources) == {"llm", "RandomSampler"}
    unmarked = [t for t in study.trials if ATTR_SOURCE not in t.user_attrs]
    assert unmarked and all(source_of(t, "RandomSampler") == "RandomSampler" for t in unmarked)
