"""LLMSampler honours the BaseSampler contract whatever the schedule, base sampler and replies.

In the spirit of Optuna's tests/samplers_tests/test_samplers.py: every combination keeps values
inside their distributions, finishes every trial, and records who proposed each one.
"""

from __future__ import annotations

import importlib.util
from typing import Any
from typing import Callable

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
import optuna
from optuna.samplers import BaseSampler
from optuna.samplers import RandomSampler
from optuna.samplers import TPESampler
from optuna.trial import TrialState
import pytest

from llm_fakes import model_first
from llm_fakes import objective
from llm_fakes import random_replier
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from llm_fakes import suggest_all
from llm_fakes import unvetted
from optuna_llm_sampler import AdaptiveSchedule
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler.attrs import ATTR_ERROR
from optuna_llm_sampler.attrs import ATTR_FAIL_REASON
from optuna_llm_sampler.attrs import ATTR_NOTE
from optuna_llm_sampler.attrs import ATTR_PROPOSED_BY
from optuna_llm_sampler.attrs import ATTR_REPAIRS
from optuna_llm_sampler.attrs import ATTR_ROUND
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler.attrs import source_of
from optuna_llm_sampler.attrs import ATTR_VET
from optuna_llm_sampler import CallableSchedule
from optuna_llm_sampler import EveryKthSchedule
from optuna_llm_sampler import FirstNSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import SearchSpaceError
from optuna_llm_sampler import TrialRole
from optuna_llm_sampler._records._attrs import ROUND_RECORD_PREFIX


HAS_TORCH = importlib.util.find_spec("torch") is not None
BASELINE = {"workers": 8, "backlog": 512, "buffer_kb": 64, "ratio": 0.5,
            "timeout_s": 5.0, "learning_rate": 1e-3, "mode": "safe"}


def _gp() -> BaseSampler:
    return optuna.samplers.GPSampler(seed=0, n_startup_trials=3)


BASES: dict[str, Any] = {
    "tpe": lambda: TPESampler(seed=0, n_startup_trials=3),
    "tpe-multivariate": lambda: TPESampler(seed=0, n_startup_trials=3, multivariate=True),
    "random": lambda: RandomSampler(seed=0),
    "gp": pytest.param(
        _gp,
        marks=pytest.mark.skipif(
            not HAS_TORCH, reason="GPSampler needs torch, which is not installed (not installing it)"
        ),
    ),
}
SCHEDULES = {
    "alternating": AlternatingSchedule,
    "every-3rd": lambda: EveryKthSchedule(3),
    "first-4": lambda: FirstNSchedule(4),
    "callable": lambda: CallableSchedule(lambda n: n % 3 == 0),
    "adaptive": lambda: model_first(early_trials=4),
    "adaptive-default": AdaptiveSchedule,
}
REPLIES: dict[str, Callable[[], Any]] = {
    "valid": lambda: ScriptedChatModel(replier=random_replier(seed=1)),
    "messy": lambda: ScriptedChatModel(replier=random_replier(seed=2, messy=True)),
    "garbage": lambda: FakeListChatModel(responses=["I would rather not say.", "}{"]),
    "raises": lambda: ScriptedChatModel(replier=random_replier(), error="connection reset"),
}
USABLE = {"valid", "messy"}


def make_sampler(base: str, schedule: str, reply: str, **kwargs: Any) -> LLMSampler:
    factory = BASES[base]
    factory = factory.values[0] if hasattr(factory, "values") else factory
    return LLMSampler(
        REPLIES[reply](), base_sampler=factory(), schedule=SCHEDULES[schedule](),
        search_space=SPACE, **kwargs
    )


def assert_inside_distributions(study: optuna.Study) -> None:
    for trial in study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)):
        assert set(trial.params) == set(SPACE), trial.number
        for name, value in trial.params.items():
            dist = trial.distributions[name]
            assert dist == SPACE[name]
            assert dist._contains(dist.to_internal_repr(value)), (trial.number, name, value)


def llm_rounds_with_an_owner(study: optuna.Study, sampler: LLMSampler) -> set[int]:
    """Rounds in which some LLM-scheduled trial was not popped from the queue."""
    rounds = set()
    for t in study.get_trials(deepcopy=False):
        if sampler.role(t.number, study) is TrialRole.LLM and "fixed_params" not in t.system_attrs:
            rounds.add(sampler.schedule.bind(study).round_of(t.number).start)
    return rounds


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("reply", list(REPLIES))
@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize(
    "base", [b if not hasattr(v, "values") else v for b, v in BASES.items()]
)
def test_contract(base: Any, schedule: str, reply: str, n_jobs: int) -> None:
    base_name = base if isinstance(base, str) else "gp"
    sampler = make_sampler(base_name, schedule, reply, choose=unvetted())  # one call per round
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(objective, n_trials=12, n_jobs=n_jobs)

    finished = [t.state for t in study.trials if t.state is not TrialState.WAITING]
    assert finished == [TrialState.COMPLETE] * 12
    assert_inside_distributions(study)
    base_class = type(sampler.base_sampler).__name__
    sources = [source_of(t, base_class) for t in study.trials]
    assert set(sources) <= {"llm", base_class}
    for t in study.trials:
        if sampler.role(t.number, study) is TrialRole.BASE and "fixed_params" not in t.system_attrs:
            assert ATTR_SOURCE not in t.user_attrs, t.number  # the base sampler's own slot
    if reply in USABLE:
        assert "llm" in sources
    else:
        assert "llm" not in sources
        owners = [t for t in study.trials if ATTR_ERROR in t.user_attrs]
        assert owners and all(source_of(t, "?") == base_class for t in owners)
    # One model call per round, never more.
    calls = len(sampler.llm.prompts) if isinstance(sampler.llm, ScriptedChatModel) else None
    if calls is not None:
        assert calls == len(llm_rounds_with_an_owner(study, sampler))


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("reply", list(REPLIES))
def test_contract_with_the_default_choose_asks_once_more_on_each_vetted_round(
    reply: str, n_jobs: int
) -> None:
    # Rounds 1-2, 5-6 and 9-10 start in TPE's start-up: written, so the default vets them.
    sampler = make_sampler("random", "alternating", reply)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(objective, n_trials=12, n_jobs=n_jobs)

    finished = [t.state for t in study.trials if t.state is not TrialState.WAITING]
    assert finished == [TrialState.COMPLETE] * 12
    assert_inside_distributions(study)
    assert {source_of(t, "RandomSampler") for t in study.trials} <= {"llm", "RandomSampler"}
    vetted = {t.user_attrs[ATTR_ROUND] for t in study.trials if ATTR_VET in t.user_attrs}
    # A round whose written call gave configurations asks a second time; a failed one does not.
    assert bool(vetted) is (reply in USABLE)
    calls = len(sampler.llm.prompts) if isinstance(sampler.llm, ScriptedChatModel) else None
    if calls is not None:
        assert calls == len(llm_rounds_with_an_owner(study, sampler)) + len(vetted)


def test_the_default_schedule_is_the_adaptive_share() -> None:
    sampler = LLMSampler(ScriptedChatModel(replier=random_replier()), search_space=SPACE)
    assert isinstance(sampler.schedule, AdaptiveSchedule)
    assert (sampler.schedule.floor, sampler.schedule.ceiling) == (0.1, 0.5)
    # As measured (docs/evidence.md): one configuration per start-up round, the second only
    # while the first is level or ahead, scored against the whole field.
    s = sampler.schedule
    assert (s.early_round_trials, s.early_on_evidence, s.score) == (1, True, "pooled")
    # That configuration is trial 7, written after six of TPE's draws.
    assert (s.model_first, s.early_share) == (False, 0.25)


def test_serial_run_follows_the_schedule_exactly() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=3))
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         baseline=BASELINE, schedule=AlternatingSchedule(), choose=unvetted())
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=11)
    assert [source_of(t, "RandomSampler") for t in study.trials] == [
        "baseline", "llm", "llm", "RandomSampler", "RandomSampler",
        "llm", "llm", "RandomSampler", "RandomSampler", "llm", "llm",
    ]
    assert study.trials[0].params == BASELINE
    assert len(model.prompts) == 3
    # The round's second trial was enqueued by the first and popped from the queue.
    second = study.trials[2]
    assert second.system_attrs["fixed_params"] == second.params
    assert second.user_attrs[ATTR_PROPOSED_BY] == 1
    assert "fixed_params" not in study.trials[1].system_attrs


def test_a_round_asks_for_as_many_configurations_as_it_has_trials() -> None:
    model = ScriptedChatModel(replier=random_replier())
    sampler = LLMSampler(model, schedule=AlternatingSchedule(llm=3, base=1), search_space=SPACE,
                         choose=unvetted())
    optuna.create_study(sampler=sampler).optimize(objective, n_trials=9)
    assert ["Propose 3 new configurations" in p for p in model.prompts] == [True, True]


def test_fewer_usable_configurations_than_trials_leaves_the_rest_to_the_base_sampler() -> None:
    reply = '{"configurations": [{"params": {"workers": 3}, "rationale": "only one"}]}'
    sampler = LLMSampler(GenericFakeChatModel(messages=iter([AIMessage(content=reply)] * 5)),
                         base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=AlternatingSchedule())  # one round of two: trials 1-2
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=3)
    first, second = study.trials[1], study.trials[2]
    assert source_of(first, "RandomSampler") == "llm" and first.params["workers"] == 3
    # The other parameters the model left out were filled by the base sampler.
    missing = {r["param"] for r in first.user_attrs[ATTR_REPAIRS] if r["kind"] == "missing"}
    assert missing == set(SPACE) - {"workers"}
    assert source_of(second, "RandomSampler") == "RandomSampler"
    assert second.user_attrs[ATTR_NOTE] == (
        "round 1-2 is asked by trial 1; the model's reply gave 1 usable configuration(s) for 2 "
        "LLM slot(s), so none was left for this trial"
    )


def test_failed_and_pruned_trials_do_not_stop_it_and_reach_the_prompt() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=4))
    sampler = LLMSampler(model, base_sampler=TPESampler(seed=0, n_startup_trials=2),
                         search_space=SPACE, baseline=BASELINE)

    def flaky(trial: optuna.Trial) -> float:
        params = suggest_all(trial)
        if trial.number % 4 == 3:
            trial.set_user_attr(ATTR_FAIL_REASON, "nginx did not start")
            raise RuntimeError("nginx did not start")
        if trial.number % 4 == 0 and trial.number:
            trial.report(0.0, step=0)
            raise optuna.TrialPruned()
        return float(params["workers"])

    study = optuna.create_study(sampler=sampler)
    study.optimize(flaky, n_trials=14, catch=(RuntimeError,))
    states = [t.state for t in study.trials if t.state.is_finished()]
    assert TrialState.FAIL in states and TrialState.PRUNED in states and len(states) == 14
    assert_inside_distributions(study)
    assert "FAILED (nginx did not start)" in model.prompts[-1]
    assert "PRUNED" in model.prompts[-1]


def test_search_space_is_read_from_finished_trials_when_not_given() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=5))
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0),
                         schedule=FirstNSchedule(4, baseline_first=False))
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=6)
    first = study.trials[0]
    assert source_of(first, "RandomSampler") == "RandomSampler"
    assert "no search space yet" in first.user_attrs[ATTR_NOTE]
    assert [source_of(t, "RandomSampler") for t in study.trials[2:4]] == ["llm", "llm"]
    assert "- backlog: int in [128, 4096], step 128" in model.prompts[0]
    assert_inside_distributions(study)


def test_reseed_rng_and_trial_hooks_are_delegated_to_the_base_sampler() -> None:
    calls: list[str] = []

    class Spy(RandomSampler):
        def reseed_rng(self) -> None:
            calls.append("reseed")
            super().reseed_rng()

        def before_trial(self, study, trial) -> None:
            calls.append(f"before {trial.number}")

        def after_trial(self, study, trial, state, values) -> None:
            calls.append(f"after {trial.number} {state.name}")

        def sample_independent(self, study, trial, name, dist):
            calls.append(f"sample {trial.number} {name}")
            return super().sample_independent(study, trial, name, dist)

    model = ScriptedChatModel(replier=random_replier(seed=6))
    sampler = LLMSampler(model, base_sampler=Spy(seed=0), search_space=SPACE, schedule=model_first(),
                         choose=unvetted())
    sampler.reseed_rng()
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=4)
    assert calls[0] == "reseed"
    for n in range(4):
        assert f"before {n}" in calls and f"after {n} COMPLETE" in calls
    # Trial 1 took every value from the model, trial 3 every value from the base sampler.
    assert not any(c.startswith("sample 1 ") for c in calls)
    assert sum(c.startswith("sample 3 ") for c in calls) == len(SPACE)


def test_reseeding_gives_a_different_base_sequence() -> None:
    def base_params(reseed: bool) -> list[dict[str, Any]]:
        model = FakeListChatModel(responses=["no"])
        sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                             schedule=lambda n: False)
        if reseed:
            sampler.reseed_rng()
        study = optuna.create_study(sampler=sampler)
        study.optimize(objective, n_trials=3)
        return [t.params for t in study.trials]

    assert base_params(False) == base_params(False)
    assert base_params(True) != base_params(False)


def test_relative_sampling_base_gets_only_the_parameters_the_model_left_out() -> None:
    reply = '{"configurations": [{"params": {"workers": 7, "mode": "fast"}}]}'
    base = TPESampler(seed=0, n_startup_trials=1, multivariate=True)
    sampler = LLMSampler(FakeListChatModel(responses=[reply]), base_sampler=base,
                         search_space=SPACE, schedule=lambda n: n == 4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=5)
    assert study.trials[4].params["workers"] == 7 and study.trials[4].params["mode"] == "fast"
    assert_inside_distributions(study)


def test_baseline_is_not_duplicated_when_trial_0_is_already_enqueued() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=7))
    sampler = LLMSampler(model, search_space=SPACE, baseline=BASELINE)
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial(BASELINE)
    study.optimize(objective, n_trials=9)
    assert source_of(study.trials[0], "TPESampler") == "baseline"
    assert [t.params for t in study.trials].count(BASELINE) == 1
    # The default schedule gives the model trial 7 alone of the start-up, after TPE's six.
    sources = [source_of(t, "TPESampler") for t in study.trials[1:9]]
    assert sources == [*["TPESampler"] * 6, "llm", "TPESampler"]


def test_a_user_enqueued_trial_is_marked_enqueued_and_takes_no_model_call() -> None:
    model = ScriptedChatModel(replier=random_replier(seed=8))
    sampler = LLMSampler(model, search_space=SPACE, schedule=EveryKthSchedule(1, baseline_first=False),
                         choose=unvetted())
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial(BASELINE)
    study.optimize(objective, n_trials=2)
    assert source_of(study.trials[0], "TPESampler") == "enqueued"
    assert source_of(study.trials[1], "TPESampler") == "llm"
    assert len(model.prompts) == 1


def test_no_baseline_leaves_the_baseline_slot_to_the_base_sampler() -> None:
    sampler = LLMSampler(FakeListChatModel(responses=["x"]), search_space=SPACE)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=1)
    assert source_of(study.trials[0], "TPESampler") == "TPESampler"
    assert "no baseline" in study.trials[0].user_attrs[ATTR_NOTE]


def test_round_records_are_kept_in_the_study_system_attrs() -> None:
    sampler = LLMSampler(ScriptedChatModel(replier=random_replier()), search_space=SPACE,
                         schedule=AlternatingSchedule(), choose=unvetted())  # rounds 1-2 and 5-6
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=7)
    records = {
        k: v for k, v in study._storage.get_study_system_attrs(study._study_id).items()
        if k.startswith(ROUND_RECORD_PREFIX)
    }
    # Each record also says how long the model call took: the budget adds these up.
    seconds = {k: v.pop("seconds") for k, v in records.items()}
    assert records == {
        ROUND_RECORD_PREFIX + "1": {"owner": 1, "status": "done", "proposals": 2},
        ROUND_RECORD_PREFIX + "5": {"owner": 5, "status": "done", "proposals": 2},
    }
    assert all(isinstance(s, float) and s >= 0 for s in seconds.values())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"search_space": {"x": "int"}}, r"search_space\['x'\]"),
        ({"search_space": {}}, "empty"),
        ({"search_space": SPACE, "baseline": {"workers": 1000}}, r"baseline\['workers'\]"),
        ({"search_space": SPACE, "baseline": {"nope": 1}}, r"baseline\['nope'\]"),
        ({"descriptions": {"x": 3}}, r"descriptions\['x'\]"),
    ],
)
def test_bad_arguments_raise_naming_the_input(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(SearchSpaceError, match=match):
        LLMSampler(FakeListChatModel(responses=["x"]), **kwargs)


def test_a_non_model_is_rejected() -> None:
    with pytest.raises(TypeError, match="invoke"):
        LLMSampler("gpt-4")  # type: ignore[arg-type]


def test_works_with_hyperband_whose_samplers_see_a_bracket_study() -> None:
    def reporting(trial: optuna.Trial) -> float:
        value = objective(trial)
        for step in range(3):
            trial.report(value - step, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    model = ScriptedChatModel(replier=random_replier(seed=9))
    sampler = LLMSampler(model, base_sampler=TPESampler(seed=0), search_space=SPACE, baseline=BASELINE)
    study = optuna.create_study(sampler=sampler, pruner=optuna.pruners.HyperbandPruner(max_resource=3),
                                direction="maximize")
    study.optimize(reporting, n_trials=8)
    assert [source_of(t, "TPESampler") for t in study.trials] == ["baseline", *["TPESampler"] * 6, "llm"]
    assert not any(ATTR_ERROR in t.user_attrs for t in study.trials)
    assert_inside_distributions(study)
