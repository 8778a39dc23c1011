"""``llm:SPEC+option`` arms: each option switches on one LLMSampler mechanism, recorded on the trials."""

from __future__ import annotations

import importlib.util

import pytest

from optbench.arms import ArmError, check_arm, make_arm, split_arm
from optbench.problems import make_problem
from optbench.protocol import run_once
from optbench.summary import label


def test_options_are_split_from_the_spec_and_labelled_after_it() -> None:
    assert split_arm("llm:random+adaptive+screen") == ("llm:random", ["adaptive", "screen"])
    assert split_arm("tpe") == ("tpe", [])
    assert label("llm:random+adaptive") == "llm:random+adaptive (stand-in, not a model)"
    assert label("llm:local+screen") == "llm:local+screen"


@pytest.mark.parametrize(
    ("arm", "message"),
    [
        ("llm:random+adaptve", "unknown option 'adaptve'; choose from alternating, adaptive, adaptive-early, no-floor, early-evidence, base-first, one-early-block, pooled-evidence, early-singles, one-shot, one-shot-base-first, late-shot, start-only, starts20, window, screen, choose, hybrid, write-when-ahead, choose-first, late-pick, vet, unvetted, write, evidence"),
        ("llm:random+screen+screen", "names an option twice"),
        ("llm:expert+screen", "'llm:expert' is unavailable on ackley-mixed"),
    ],
)
def test_bad_options_are_refused_naming_them(arm: str, message: str) -> None:
    with pytest.raises(ArmError, match=message.replace("(", r"\(").replace("+", r"\+")):
        check_arm(arm, make_problem("ackley-mixed"))


def test_each_option_reaches_the_sampler() -> None:
    problem = make_problem("ackley-mixed")
    sampler = make_arm("llm:random+adaptive+screen+evidence", problem, 0).sampler
    assert type(sampler.schedule).__name__ == "AdaptiveSchedule"
    assert type(sampler._rounds.settings.screen).__name__ == "Screen"
    assert type(sampler._rounds.settings.evidence).__name__ == "Evidence"


@pytest.mark.parametrize(("option", "attr", "value"),
                         [("early-evidence", "early_on_evidence", True), ("base-first", "model_first", False),
                          ("pooled-evidence", "score", "pooled"), ("early-singles", "early_round_trials", 1),
                          ("one-shot", "early_round_trials", 1), ("one-shot", "score", "pooled"),
                          ("one-shot", "early_on_evidence", True), ("one-shot-base-first", "model_first", False),
                          ("late-shot", "early_share", 0.25), ("late-shot", "model_first", False)])
def test_the_schedule_options_set_the_adaptive_schedule(option: str, attr: str, value: object) -> None:
    sampler = make_arm(f"llm:random+{option}", make_problem("ackley-mixed"), 0).sampler
    assert getattr(sampler.schedule, attr) == value
    # Each changes what +adaptive pins: whole start-up rounds from trial 1, earlier-trial scores.
    whole_rounds = make_arm("llm:random+adaptive", make_problem("ackley-mixed"), 0).sampler.schedule
    assert getattr(whole_rounds, attr) != value


def test_adaptive_one_shot_and_late_shot_pin_their_schedules_whatever_the_defaults() -> None:
    from optuna_llm_sampler import AdaptiveSchedule

    def schedule(arm: str) -> str:
        return repr(make_arm(arm, make_problem("ackley-mixed"), 0).sampler.schedule)

    # Spelled out, so that a change of AdaptiveSchedule's defaults cannot move them.
    assert schedule("llm:random+adaptive") == (
        "AdaptiveSchedule(floor=0.1, ceiling=0.5, early_trials=10, early_share=0.5, early_on_evidence=False, "
        "model_first=True, early_round_trials=None, score='earlier', base_startup=None, round_size=2, prior=1.0, baseline_first=True)")
    assert schedule("llm:random+one-shot") == (
        "AdaptiveSchedule(floor=0.1, ceiling=0.5, early_trials=10, early_share=0.5, early_on_evidence=True, "
        "model_first=True, early_round_trials=1, score='pooled', base_startup=None, round_size=2, prior=1.0, baseline_first=True)")
    assert schedule("llm:random+one-shot-base-first") == schedule("llm:random+one-shot").replace(
        "model_first=True", "model_first=False")
    # The default is +late-shot's schedule that also takes TPE's start-up as its base_startup.
    assert schedule("llm:random+late-shot") == repr(AdaptiveSchedule(base_startup=None))
    assert schedule("llm:random") == repr(AdaptiveSchedule())  # base_startup: TPE's, at bind
    # The options built on +adaptive change only what they name.
    assert schedule("llm:random+early-evidence") == schedule("llm:random+adaptive").replace(
        "early_on_evidence=False", "early_on_evidence=True")


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="the screen needs scikit-learn")
def test_an_adaptive_screened_run_records_its_decisions_on_the_trials() -> None:
    record = run_once(make_problem("styblinski-tang-mixed"), "llm:random+adaptive+screen", 0, 30)
    assert record.sources[0] == "baseline"
    assert record.sources[1:3] == ["llm", "llm"]  # the first block goes to the model
    assert 2 <= record.sources.count("llm") <= 10


def test_a_run_records_which_model_trials_were_chosen_rather_than_written() -> None:
    chooses = run_once(make_problem("ackley-mixed"), "llm:random+choose", 0, 20)
    model = [i for i, s in enumerate(chooses.sources) if s == "llm"]
    assert model and chooses.chosen == model  # Choose(): every model round chooses
    assert run_once(make_problem("ackley-mixed"), "llm:random+write", 0, 20).chosen == []


def test_choose_first_picks_trial_1_among_the_base_samplers_draws_and_writes_later_rounds() -> None:
    # On +one-shot's schedule, whose first model trial is trial 1.
    record = run_once(make_problem("ackley-mixed"), "llm:random+one-shot+choose-first", 1, 12)
    model = [i for i, s in enumerate(record.sources) if s == "llm"]
    assert model[0] == 1 and record.chosen == [1]  # trial 1 saw the baseline alone
    # Written (+unvetted: the default's vetting could run a draw instead, as a picked trial).
    assert run_once(make_problem("ackley-mixed"), "llm:random+one-shot+unvetted", 1, 12).chosen == []
    # The default schedule's first model trial, 7, follows seven complete trials: it is written.
    late = run_once(make_problem("ackley-mixed"), "llm:random+choose-first", 1, 12)
    assert [i for i, s in enumerate(late.sources) if s == "llm"][:1] == [7] and late.chosen == []


def test_late_shot_gives_the_model_trial_7_alone_of_the_start_up() -> None:
    record = run_once(make_problem("ackley-mixed"), "llm:random+late-shot", 0, 10)
    assert [i for i, s in enumerate(record.sources) if s == "llm"] == [7]


def test_late_pick_picks_trial_7_among_the_base_samplers_draws() -> None:
    record = run_once(make_problem("ackley-mixed"), "llm:random+late-pick", 0, 10)
    assert [i for i, s in enumerate(record.sources) if s == "llm"] == [7] and record.chosen == [7]


def test_vet_asks_twice_for_trial_7_and_runs_a_draw_as_a_picked_trial() -> None:
    # Seeds where the random stand-in keeps its own configuration and where it prefers a draw.
    kept = {seed: run_once(make_problem("ackley-mixed"), "llm:random+vet", seed, 10) for seed in range(6)}
    for record in kept.values():
        assert [i for i, s in enumerate(record.sources) if s == "llm"] == [7]
        assert record.model_calls == 2  # the written round and its vetting
    assert {tuple(r.chosen) for r in kept.values()} == {(), (7,)}


def test_unvetted_pins_the_default_choose_without_vetting_and_the_default_vets() -> None:
    def choose(arm: str):
        return make_arm(arm, make_problem("ackley-mixed"), 0).sampler.choose

    assert choose("llm:random+unvetted").vet_writes is False
    assert choose("llm:random").vet_writes is True
    assert choose("llm:random+vet") == choose("llm:random")
    assert choose("llm:random+unvetted") == choose("llm:random+write-when-ahead")


def test_start_only_gives_the_model_trial_7_and_nothing_after() -> None:
    record = run_once(make_problem("ackley-mixed"), "llm:random+start-only", 0, 40)
    assert [i for i, s in enumerate(record.sources) if s == "llm"] == [7]


def test_starts20_gives_the_base_tpe_a_start_up_of_20_as_atune_bridge_tune_does() -> None:
    problem = make_problem("ackley-mixed")
    assert make_arm("llm:random+starts20", problem, 0).sampler.base_sampler._n_startup_trials == 20
    assert make_arm("llm:random", problem, 0).sampler.base_sampler._n_startup_trials == 10
    assert make_arm("tpe-starts20", problem, 0).sampler._n_startup_trials == 20
    # LLMSampler's default schedule follows it; +late-shot pins a schedule without base_startup.
    assert make_arm("llm:random+starts20", problem, 0).sampler.schedule.base_startup == "auto"
    assert make_arm("llm:random+starts20+late-shot", problem, 0).sampler.schedule.base_startup is None
