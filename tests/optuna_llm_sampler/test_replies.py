"""Whatever shape the model's reply takes, the trial gets the configuration it contains.

End to end through a LangChain fake chat model: reply text -> parse -> repair -> trial params.
"""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.samplers import RandomSampler
import pytest

from optuna_llm_sampler.attrs import ATTR_REPAIRS
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import EveryKthSchedule
from optuna_llm_sampler import LLMSampler


SPACE = {
    "workers": IntDistribution(1, 64),
    "backlog": IntDistribution(128, 4096, step=128),
    "ratio": FloatDistribution(0.0, 1.0, step=0.1),
    "mode": CategoricalDistribution(["fast", "safe", None]),
}


def objective(trial: optuna.Trial) -> float:
    trial.suggest_int("workers", 1, 64)
    trial.suggest_int("backlog", 128, 4096, step=128)
    trial.suggest_float("ratio", 0.0, 1.0, step=0.1)
    trial.suggest_categorical("mode", ["fast", "safe", None])
    return 0.0


def first_llm_trial(reply: str) -> optuna.trial.FrozenTrial:
    sampler = LLMSampler(FakeListChatModel(responses=[reply]), base_sampler=RandomSampler(seed=0),
                         search_space=SPACE, schedule=EveryKthSchedule(1, baseline_first=False))
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=1)
    return study.trials[0]


FULL = {"workers": 8, "backlog": 512, "ratio": 0.3, "mode": "fast"}


@pytest.mark.parametrize(
    "reply, kinds",
    [
        ('{"configurations": [{"params": {"workers": 8, "backlog": 512, "ratio": 0.3, "mode": "fast"}, '
         '"rationale": "r"}]}', set()),
        ('```json\n{"workers": 8, "backlog": 512, "ratio": 0.3, "mode": "fast"}\n```', {"extracted"}),
        ('Based on the history I suggest {"workers": 8, "backlog": 512, "ratio": 0.3, "mode": "fast"}.',
         {"extracted"}),
        ('[{"workers": 8, "backlog": 512, "ratio": 0.3, "mode": "fast"}]', set()),
        ('{"workers": "8", "backlog": "512", "ratio": "0.3", "mode": "fast"}', {"coerced"}),
        ("{'workers': 8, 'backlog': 512, 'ratio': 0.3, 'mode': 'fast'}", {"syntax"}),
        ('{"workers": 8, "backlog": 500, "ratio": 0.33, "mode": "Fast"}', {"snapped", "coerced"}),
        ('{"workers": 8, "backlog": 512, "ratio": 0.3, "mode": "fast", "gzip": "on"}', {"unknown_key"}),
        ('{"values": [8, 512, 0.3, "fast"]}', {"positional"}),
        ('{"configurations": [{"params": {"workers": 8, "backlog": 512, "ratio": 0.3, "mode": "fast"}, '
         '"rationale": "r"}, {"params": {"workers": 9, "back', {"truncated", "extra"}),
    ],
    ids=["plain", "fenced", "prose", "list", "strings", "python", "off-step", "extra-key",
         "values-list", "truncated"],
)
def test_reply_shapes(reply: str, kinds: set[str]) -> None:
    trial = first_llm_trial(reply)
    assert trial.user_attrs[ATTR_SOURCE] == "llm"
    assert trial.params == FULL
    assert {r["kind"] for r in trial.user_attrs[ATTR_REPAIRS]} == kinds


def test_out_of_range_and_unknown_category_are_clipped_and_matched() -> None:
    trial = first_llm_trial('{"workers": 1000, "backlog": -5, "ratio": 7, "mode": "nul"}')
    assert trial.params == {"workers": 64, "backlog": 128, "ratio": 1.0, "mode": None}


def test_missing_keys_are_filled_by_the_base_sampler() -> None:
    trial = first_llm_trial('{"workers": 8}')
    assert trial.user_attrs[ATTR_SOURCE] == "llm"
    assert trial.params["workers"] == 8 and set(trial.params) == set(SPACE)
