"""The prompt has four parts, each within its budget, and never exceeds the total."""

from __future__ import annotations

import functools

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.trial import TrialState
from optuna.trial import create_trial
import pytest

from optuna_llm_sampler.attrs import ATTR_FAIL_REASON
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import PromptConfig
from optuna_llm_sampler import ConfigError
from optuna_llm_sampler._proposal._history import read_history
from optuna_llm_sampler._proposal._prompt import PromptBuilder
from optuna_llm_sampler._proposal._prompt import describe_distribution
from optuna_llm_sampler._proposal._prompt import load_knowledge


SPACE = {
    "worker_processes": IntDistribution(1, 64),
    "backlog": IntDistribution(128, 4096, step=128),
    "buffer": IntDistribution(4, 4096, log=True),
    "ratio": FloatDistribution(0.0, 1.0, step=0.05),
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "mode": CategoricalDistribution(["fast", 3, None]),
}
DESCRIPTIONS = {"worker_processes": "number of nginx worker processes", "mode": "cache mode"}


@functools.lru_cache(maxsize=None)
def study_with_history(n: int = 6, direction: str = "maximize") -> optuna.Study:
    study = optuna.create_study(direction=direction)
    dist = {"worker_processes": SPACE["worker_processes"]}
    study.add_trial(
        create_trial(value=100.0, params={"worker_processes": 8}, distributions=dist,
                     user_attrs={ATTR_SOURCE: "baseline"})
    )
    for i in range(n):
        study.add_trial(
            create_trial(value=100.0 + i, params={"worker_processes": 9 + i % 50}, distributions=dist,
                         user_attrs={ATTR_SOURCE: "llm" if i % 2 else "TPESampler"})
        )
    study.add_trial(
        create_trial(state=TrialState.FAIL, params={"worker_processes": 64}, distributions=dist,
                     user_attrs={ATTR_SOURCE: "llm", ATTR_FAIL_REASON: "out of memory"})
    )
    return study


def build(config=PromptConfig(), knowledge="Machine: 4 cores.", n=2, study=None, descriptions=DESCRIPTIONS):
    study = study or study_with_history()
    builder = PromptBuilder(config, knowledge, descriptions)
    history = read_history(
        study, best=config.best_trials, recent=config.recent_trials, failures=config.failed_trials
    )
    return builder.build(SPACE, history, n)


def test_the_four_parts_in_order() -> None:
    prompt = build()
    user = prompt.user
    positions = [user.index(h) for h in ("## Background", "## Parameters", "## History", "## Request")]
    assert positions == sorted(positions)
    assert "Machine: 4 cores." in prompt.parts["knowledge"]
    assert prompt.messages()[0][0] == "system" and prompt.messages()[1] == ("human", user)


def test_search_space_part_shows_names_types_ranges_steps_choices_descriptions() -> None:
    part = build().parts["search_space"]
    assert "- worker_processes: int in [1, 64] — number of nginx worker processes" in part
    assert "- backlog: int in [128, 4096], step 128" in part
    assert "- buffer: int in [4, 4096], log scale" in part
    assert "- ratio: float in [0, 1], step 0.05" in part
    assert "- lr: float in [1e-05, 0.1], log scale" in part
    assert '- mode: one of ["fast", 3, null] — cache mode' in part
    assert "Objective: maximize" in part


def test_history_part_shows_direction_baseline_best_recent_failures_and_sources() -> None:
    part = build().parts["history"]
    assert "Direction: maximize" in part
    assert "Baseline: #0 [baseline] value=100" in part
    best = part.split("Best trials")[1].split("Most recent")[0]
    assert best.index("#6 [llm] value=105") < best.index("#5 [TPESampler] value=104")
    assert "Most recent trials" in part
    assert "#7 [llm] FAILED (out of memory): worker_processes=64" in part
    assert "#6 [llm] value=105: worker_processes=14" in part
    # Each trial appears once, in the first section it belongs to.
    assert part.count("#6 ") == 1 and part.count("#0 ") == 1


def test_request_part_asks_for_n_configurations_as_json_with_rationale() -> None:
    part = build(n=3).parts["request"]
    assert "Propose 3 new configurations" in part
    assert '"configurations"' in part and '"rationale"' in part and '"worker_processes"' in part


def test_empty_study_asks_to_use_the_knowledge() -> None:
    part = build(study=optuna.create_study()).parts["history"]
    assert "No finished trials yet" in part and "Baseline: none recorded." in part


def test_knowledge_is_cut_to_its_cap() -> None:
    prompt = build(PromptConfig(knowledge_chars=500), knowledge="k" * 5000)
    assert len(prompt.parts["knowledge"]) == 500
    assert prompt.parts["knowledge"].endswith("[...truncated]")


def test_long_descriptions_are_shortened_before_parameters_are_dropped() -> None:
    descriptions = {name: "very long description " * 40 for name in SPACE}
    part = build(PromptConfig(search_space_chars=1200), descriptions=descriptions).parts["search_space"]
    assert len(part) <= 1200
    assert all(f"- {name}:" in part for name in SPACE)


def test_long_history_drops_trials_not_the_other_parts() -> None:
    study = study_with_history(n=200)
    prompt = build(PromptConfig(max_chars=3000, recent_trials=50, best_trials=50), study=study)
    assert len(prompt) <= 3000
    assert "Machine: 4 cores." in prompt.user and "Propose 2 new" in prompt.user
    assert "Best trials" in prompt.parts["history"]


def test_knowledge_from_a_file(tmp_path) -> None:
    path = tmp_path / "preknowledge.txt"
    path.write_text("nginx on openEuler, 8 cores", encoding="utf-8")
    assert load_knowledge(path) == "nginx on openEuler, 8 cores"
    assert load_knowledge("plain text") == "plain text"
    assert load_knowledge(None) == ""
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        load_knowledge(tmp_path / "missing.txt")


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ConfigError, match="max_chars"):
        PromptConfig(max_chars=10)
    with pytest.raises(ConfigError, match="best_trials"):
        PromptConfig(best_trials=-1)


@settings(max_examples=60, deadline=None)
@given(
    max_chars=st.integers(600, 12_000),
    knowledge=st.text(max_size=4000),
    caps=st.tuples(st.integers(0, 6000), st.integers(0, 6000), st.integers(0, 3000)),
    n_trials=st.sampled_from([0, 3, 60]),
    desc=st.text(max_size=600),
)
def test_the_whole_prompt_never_exceeds_max_chars(max_chars, knowledge, caps, n_trials, desc) -> None:
    config = PromptConfig(
        max_chars=max_chars, knowledge_chars=caps[0], search_space_chars=caps[1], request_chars=caps[2]
    )
    prompt = build(config, knowledge=knowledge, study=study_with_history(n_trials),
                   descriptions={name: desc for name in SPACE})
    assert len(prompt) <= max_chars


def test_default_budget_is_the_seed_experiments_10000_characters() -> None:
    prompt = build(knowledge="k" * 20_000, study=study_with_history(500),
                   descriptions={n: "d" * 2000 for n in SPACE})
    assert PromptConfig().max_chars == 10_000
    assert len(prompt) <= 10_000
    assert len(prompt.parts["knowledge"]) == PromptConfig().knowledge_chars
    many = build(PromptConfig(best_trials=100, recent_trials=100),
                 study=study_with_history(500, "minimize"))
    assert 9_000 < len(many) <= 10_000  # a long history fills what the other parts leave


def test_describe_distribution_handles_all_kinds() -> None:
    assert describe_distribution(IntDistribution(0, 10, step=2)) == "int in [0, 10], step 2"
    assert describe_distribution(FloatDistribution(0.5, 2.5)) == "float in [0.5, 2.5]"


def test_a_trial_from_another_study_is_marked_as_such_in_the_history() -> None:
    from optuna_llm_sampler._records._attrs import ATTR_WARM_START_FROM

    study = optuna.create_study(direction="maximize")
    dist = {"worker_processes": SPACE["worker_processes"]}
    study.add_trial(create_trial(value=100.0, params={"worker_processes": 8}, distributions=dist,
                                 user_attrs={ATTR_SOURCE: "baseline"}))
    study.add_trial(create_trial(value=130.0, params={"worker_processes": 16}, distributions=dist,
                                 user_attrs={ATTR_SOURCE: "enqueued",
                                             ATTR_WARM_START_FROM: "nginx@sqlite:///old.db trial 7"}))
    study.add_trial(create_trial(value=120.0, params={"worker_processes": 12}, distributions=dist,
                                 user_attrs={ATTR_SOURCE: "TPESampler"}))
    part = build(study=study).parts["history"]
    assert ("#1 [enqueued] (configuration from another study: nginx@sqlite:///old.db trial 7) "
            "value=130: worker_processes=16") in part
    assert "#2 [TPESampler] value=120: worker_processes=12" in part
    assert ATTR_WARM_START_FROM == "warm_start_from"
