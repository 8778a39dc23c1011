"""Hostile replies cost a bounded time and leave bounded records: a long reply is cut before
it is read and read in time linear in what is kept, its rationale and repairs are capped, the
JSON schema sent stays within its budget, and the evidence reads a bounded history."""

from __future__ import annotations

import json
import time

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.distributions import IntDistribution
from optuna.samplers import RandomSampler

from llm_fakes import ScriptedChatModel
from optuna_llm_sampler import Evidence
from optuna_llm_sampler import FirstNSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import PromptConfig
from optuna_llm_sampler._proposal._parse import parse_reply
from optuna_llm_sampler.attrs import ATTR_RATIONALE
from optuna_llm_sampler.attrs import ATTR_REPAIRS
from optuna_llm_sampler.attrs import ATTR_SCHEMA_CHARS
from optuna_llm_sampler.attrs import ATTR_SOURCE


SPACE = {"x": IntDistribution(1, 1000), "y": IntDistribution(1, 1000)}
HANG = 60.0
"""Seconds that only a search without bounds takes: a check against a hang, not a timing."""


def one_model_trial(reply: str, space=SPACE, **options) -> optuna.trial.FrozenTrial:
    model = ScriptedChatModel(replier=lambda prompt, i: reply)
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=space,
                         schedule=FirstNSchedule(1, round_size=1, baseline_first=False),
                         choose=None, **options)
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        return float(sum(len(str(trial._suggest(name, dist))) for name, dist in space.items()))

    study.optimize(objective, n_trials=1)
    return study.trials[0]


def cut_off_configurations(count: int) -> str:
    configs = [{"params": {"x": 1 + i % 1000, "y": 2}, "rationale": "r"} for i in range(count)]
    return json.dumps({"configurations": configs})[:-7]  # cut at the token limit


def test_a_megabyte_reply_cut_at_the_token_limit_is_cut_before_reading() -> None:
    reply = cut_off_configurations(40_000)
    assert len(reply) > 1_000_000
    started = time.monotonic()
    trial = one_model_trial(reply, timeout=5.0)
    assert time.monotonic() - started < HANG
    assert trial.user_attrs[ATTR_SOURCE] == "llm"
    cut = [r for r in trial.user_attrs[ATTR_REPAIRS] if r["kind"] == "cut"]
    assert cut and "reply_chars (32000)" in cut[0]["detail"]


def test_reading_is_linear_in_the_reply_and_stops_at_the_deadline() -> None:
    hostile = "{[" * 16_000  # every bracket a place a value might begin, none closing
    started = time.monotonic()
    assert parse_reply(hostile, ["x"]).candidates == []
    assert time.monotonic() - started < HANG
    late = parse_reply("text " + hostile, ["x"], deadline=time.monotonic() - 1.0)
    assert late.candidates == [] and [n.kind for n in late.notes] == ["deadline"]


def test_the_rationale_and_the_repairs_are_capped_and_say_so() -> None:
    long_reason = {"configurations": [{"params": {"x": 5, "y": 6}, "rationale": "why " * 50_000}]}
    trial = one_model_trial(json.dumps(long_reason))
    assert len(trial.user_attrs[ATTR_RATIONALE]) <= 600
    many = [{"params": {"x": 5, "y": 6}, "rationale": ""}] * 5_000  # duplicates: one repair each
    trial = one_model_trial(json.dumps({"configurations": many}),
                            prompt=PromptConfig(reply_chars=1_000_000))
    repairs = trial.user_attrs[ATTR_REPAIRS]
    assert len(repairs) == 51 and repairs[-1]["kind"] == "cut"
    assert "more repair(s) not kept" in repairs[-1]["detail"]


def test_a_schema_over_its_budget_is_sent_without_enumerations_or_not_at_all() -> None:
    space = {"c": CategoricalDistribution([f"choice-{i}" for i in range(20_000)])}
    reply = json.dumps({"configurations": [{"params": {"c": "choice-7"}, "rationale": "r"}]})
    trial = one_model_trial(reply, space=space)
    assert trial.params == {"c": "choice-7"}
    assert 0 < trial.user_attrs[ATTR_SCHEMA_CHARS] <= 20_000
    assert any(r["kind"] == "schema" and "without its enumerations" in r["detail"]
               for r in trial.user_attrs[ATTR_REPAIRS])
    trial = one_model_trial(reply, space=space, prompt=PromptConfig(schema_chars=100))
    assert trial.user_attrs[ATTR_SCHEMA_CHARS] == 0
    assert any(r["kind"] == "schema" and "not sent" in r["detail"]
               for r in trial.user_attrs[ATTR_REPAIRS])


@pytest.mark.parametrize("max_trials", [50, 500])
def test_the_evidence_reads_the_most_recent_trials_only(max_trials: int) -> None:
    study = optuna.create_study()
    study.add_trials([
        optuna.trial.create_trial(params={"x": 1 + i % 1000, "y": 5}, distributions=SPACE,
                                  value=float(i))
        for i in range(600)
    ])
    text = Evidence(max_trials=max_trials).render(study, study.trials, SPACE)
    assert text.startswith(f"From {min(max_trials, 600)} complete trials")
