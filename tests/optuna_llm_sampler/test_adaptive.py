"""AdaptiveSchedule: the model's share follows its results, and every worker reads one decision."""

from __future__ import annotations

import copy

from collections.abc import Callable
import json
import re

import optuna
from optuna.samplers import RandomSampler
import pytest

from llm_fakes import objective
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from optuna_llm_sampler.attrs import source_of
from optuna_llm_sampler import AdaptiveSchedule
from optuna_llm_sampler.attrs import ATTR_CHOICE
from optuna_llm_sampler.attrs import ATTR_SHARE
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import Choose
from optuna_llm_sampler import ConfigError
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import TrialRole
from optuna_llm_sampler._policy._adaptive import decisions as stored_decisions
from optuna_llm_sampler._policy._adaptive import startup_trials
from optuna_llm_sampler._policy._schedule import BindContext
from optuna_llm_sampler._policy._adaptive import probability_better
from optuna_llm_sampler._policy._scoring import rewards
from optuna_llm_sampler._round._parts import writing_evidence as evidence_of_decision


def constant_replier(params: dict) -> ScriptedChatModel:
    """A model that always proposes ``params`` (repeats are dropped, so each round differs)."""

    def reply(prompt: str, index: int) -> str:
        configs = [{"params": {**params, "ratio": (index * 7 + k) % 97 / 97}, "rationale": "same"}
                   for k in range(4)]
        return json.dumps({"configurations": configs})

    return ScriptedChatModel(replier=reply)


WHOLE_ROUNDS = {"early_round_trials": None, "early_on_evidence": False, "score": "earlier"}
"""Whole start-up rounds from trial 1 whatever they deliver, earlier-trial scores (``+adaptive``)."""

GOOD = {"workers": 24, "backlog": 1024, "buffer_kb": 64, "timeout_s": 0.5,
        "learning_rate": 1e-3, "mode": "fast"}
BAD = {"workers": 64, "backlog": 4096, "buffer_kb": 64, "timeout_s": 10.0,
       "learning_rate": 1e-3, "mode": None}


def run(model: ScriptedChatModel, schedule: AdaptiveSchedule, n: int = 60,
        choose: Choose | None = None) -> optuna.Study:
    # choose=None by default: the model writes every round, so what its trials deliver is its own.
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=schedule, choose=choose)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study


def decisions(study: optuna.Study) -> dict[int, dict]:
    """Every block's decision as the study's sampler sees it: recorded in storage, or (a block
    of the base sampler's after the sampler's last write) decided again from the same trials."""
    sampler = study.sampler
    bound = sampler.schedule.bind(
        study, BindContext(base_startup=startup_trials(sampler.base_sampler))
    )
    blocks = {r["block"] for t in study.trials if (r := bound.explain(t.number)) is not None}
    return {b: bound.explain(b) for b in sorted(blocks)}


def llm_share_after(study: optuna.Study, start: int) -> float:
    later = [t for t in study.trials if t.number >= start]
    return sum(source_of(t, "RandomSampler") == "llm" for t in later) / len(later)


def test_a_model_whose_trials_keep_losing_falls_to_the_floor() -> None:
    study = run(constant_replier(BAD), AdaptiveSchedule(floor=0.1, ceiling=0.6))
    last = decisions(study)[max(decisions(study))]
    assert last["p_better"] < 0.05 and last["share"] == pytest.approx(0.1, abs=0.03)
    assert llm_share_after(study, 20) < 0.2


def writes_or_picks_first(params: dict) -> ScriptedChatModel:
    """Writes ``params`` (varied, as :func:`constant_replier`), or picks the first candidates;
    asked to vet what it wrote (``Choose(vet_writes=True)``), it keeps its own."""
    write = constant_replier(params).replier

    def reply(prompt: str, index: int) -> str:
        if "## Candidates" not in prompt:
            return write(prompt, index)
        if "your own proposal" in prompt:
            listed = {int(m.group(1)): json.loads(m.group(2))
                      for m in re.finditer(r"^(\d+)\. (\{.*\})$", prompt, re.MULTILINE)}
            own = [k for k, p in listed.items() if all(p[n] == v for n, v in params.items())]
            return json.dumps({"choices": [{"candidate": k} for k in own]})
        return json.dumps({"choices": [{"candidate": k} for k in (1, 2)]})

    return ScriptedChatModel(replier=reply)


def model_trials_from(study: optuna.Study, start: int) -> list[optuna.trial.FrozenTrial]:
    """The model's run trials from ``start`` on (the round's last proposal may still wait)."""
    return [t for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
            if t.number >= start and source_of(t, "RandomSampler") == "llm"]


def chosen_and_written_after(study: optuna.Study, start: int) -> tuple[int, int]:
    llm = model_trials_from(study, start)
    chosen = sum(ATTR_CHOICE in t.user_attrs for t in llm)
    return chosen, len(llm) - chosen


@pytest.mark.parametrize(("params", "writes_late"), [(GOOD, True), (BAD, False)])
def test_with_write_when_ahead_a_model_ahead_keeps_writing_one_behind_chooses(params, writes_late) -> None:
    study = run(writes_or_picks_first(params), AdaptiveSchedule(floor=0.1, ceiling=0.6),
                n=40, choose=Choose(vet_writes=False))
    chosen, written = chosen_and_written_after(study, 10)
    for trial in model_trials_from(study, 10):
        ahead = (writing_evidence(trial) or 0.0) > 0.5
        assert (ATTR_CHOICE not in trial.user_attrs) == ahead
    assert (written > 0, chosen > 0) == (writes_late, not writes_late)


@pytest.mark.parametrize(("params", "writes_late"), [(GOOD, True), (BAD, False)])
def test_by_default_a_model_ahead_keeps_writing_after_the_start_up_one_behind_chooses(params, writes_late) -> None:
    sampler = LLMSampler(writes_or_picks_first(params), base_sampler=RandomSampler(seed=0),
                         search_space=SPACE)  # the default schedule and choose
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=40)
    chosen, written = chosen_and_written_after(study, 10)
    assert (written > 0, chosen > 0) == (writes_late, not writes_late)
    # The default vets every round the model writes; this model keeps what it wrote.
    wrote = [t for t in model_trials_from(study, 0) if ATTR_CHOICE not in t.user_attrs]
    assert wrote and all(t.user_attrs["llm_vet"]["kept"] == "written" for t in wrote)


def writing_evidence(trial: optuna.trial.FrozenTrial) -> float | None:
    """What ``write_when_ahead`` judges, read from the decision the trial records."""
    return evidence_of_decision(trial.user_attrs[ATTR_SHARE])


def writes_or_picks_by(params: dict, rank: Callable[[dict], float]) -> ScriptedChatModel:
    """Writes ``params`` (varied), or picks the listed candidate that ``rank`` puts highest."""
    write = constant_replier(params).replier

    def reply(prompt: str, index: int) -> str:
        if "## Candidates" not in prompt:
            return write(prompt, index)
        listed = {int(m.group(1)): json.loads(m.group(2))
                  for m in re.finditer(r"^(\d+)\. (\{.*\})$", prompt, re.MULTILINE)}
        return json.dumps({"choices": [{"candidate": max(listed, key=lambda k: rank(listed[k]))}]})

    return ScriptedChatModel(replier=reply)


def writes_bad_or_picks_the_best() -> ScriptedChatModel:
    """Writes BAD, or picks the candidate the objective rates highest."""
    return writes_or_picks_by(BAD, lambda p: objective(optuna.trial.FixedTrial(p)))


def test_with_write_when_ahead_trials_the_model_picked_do_not_earn_it_rounds_to_write() -> None:
    # It picks well, so its trials overall get ahead; it writes badly, so it keeps picking.
    study = run(writes_bad_or_picks_the_best(), AdaptiveSchedule(floor=0.1, ceiling=0.6),
                n=60, choose=Choose(vet_writes=False))
    late = model_trials_from(study, 10)
    assert any(t.user_attrs[ATTR_SHARE]["p_better"] > 0.5 for t in late)
    assert all(writing_evidence(t) < 0.5 for t in late)
    assert late and all(ATTR_CHOICE in t.user_attrs for t in late)


def test_without_write_when_ahead_a_model_ahead_chooses_all_the_same() -> None:
    study = run(writes_or_picks_first(GOOD), AdaptiveSchedule(floor=0.1, ceiling=0.6),
                n=40, choose=Choose(write_when_ahead=False, vet_writes=False))
    chosen, written = chosen_and_written_after(study, 10)
    assert chosen > 0 and written == 0


def test_a_model_whose_trials_keep_winning_rises_to_the_ceiling() -> None:
    study = run(constant_replier(GOOD), AdaptiveSchedule(floor=0.1, ceiling=0.6))
    last = decisions(study)[max(decisions(study))]
    assert last["p_better"] > 0.95 and last["share"] == pytest.approx(0.6, abs=0.03)
    assert llm_share_after(study, 20) > 0.5


def test_blocks_that_end_before_early_trials_get_the_early_share_the_first_to_the_model() -> None:
    study = run(constant_replier(BAD),
                AdaptiveSchedule(early_trials=10, early_share=0.5, model_first=True, **WHOLE_ROUNDS), n=30)
    made = decisions(study)
    assert [made[b]["role"] for b in (1, 3, 5, 7)] == ["llm", "base", "llm", "base"]
    assert all(made[b]["share"] >= 0.5 for b in (1, 3, 5, 7))
    # Block 9-10 would take TPE's first model-based trial: it is decided on the evidence.
    assert made[9]["share"] < 0.5


def test_with_early_on_evidence_a_model_behind_loses_its_early_share() -> None:
    study = run(constant_replier(BAD),
                AdaptiveSchedule(early_share=0.5, early_on_evidence=True, model_first=True), n=12)
    made = decisions(study)
    # The first block has no evidence and goes to the model; its trials lose, so the early
    # blocks after it get what the evidence gives, the floor, and go to the base sampler.
    assert made[1]["role"] == "llm" and made[1]["p_better"] == pytest.approx(0.5)
    assert [made[b]["role"] for b in (3, 5, 7)] == ["base", "base", "base"]
    assert all(made[b]["p_better"] < 0.5 and made[b]["share"] == pytest.approx(0.1)
               for b in (3, 5, 7))


def test_with_early_on_evidence_a_model_without_scored_trials_keeps_its_early_share() -> None:
    s = AdaptiveSchedule(early_on_evidence=True, early_share=0.5)
    # The base sampler's draws beat the baseline; the model has not proposed yet.
    record = s.decide(3, 0.5, [], [1.0, 1.0])
    assert record["p_better"] < 0.5 and record["share"] == 0.5 and record["role"] == "llm"
    # One lost trial is evidence: the share falls to the floor.
    assert s.decide(3, 0.5, [0.0], [1.0, 1.0])["share"] == pytest.approx(0.1)
    # So with model_first=False the model proposes trial 3, after TPE's trials 1-2.
    study = run(constant_replier(BAD), AdaptiveSchedule(model_first=False, early_share=0.5), n=5)
    assert [source_of(t, "RandomSampler") == "llm" for t in study.trials[1:]] == [False, False, True, False]


def writes_good_or_picks_the_worst() -> ScriptedChatModel:
    """Writes GOOD, or picks the candidate whose workers is farthest from 24."""
    return writes_or_picks_by(GOOD, lambda p: abs(p["workers"] - 24))


def test_with_early_on_evidence_only_the_trials_the_model_wrote_judge_its_early_share() -> None:
    # Trial 1 sees the baseline alone, so it picks among the base sampler's draws (write_after),
    # and picks badly; what it writes is good. Its pick says nothing about its writing.
    study = run(writes_good_or_picks_the_worst(), AdaptiveSchedule(model_first=True, early_share=0.5),
                n=10, choose=Choose(write_after=2, vet_writes=False))
    made = decisions(study)
    assert ATTR_CHOICE in study.trials[1].user_attrs
    assert made[5]["p_better"] < 0.5 and made[5]["written"] == [0, 0]
    assert made[5]["p_written"] is None  # nothing written yet: no evidence on its writing
    assert made[5]["role"] == "llm" and ATTR_CHOICE not in study.trials[5].user_attrs
    # A model that writes no better than it picked loses the block as before.
    s = AdaptiveSchedule(model_first=True, early_share=0.5)
    assert s.decide(5, 0.5, [0.0], [1.0, 1.0], written_rewards=[0.0])["role"] == "base"
    assert s.decide(5, 0.5, [0.0], [1.0, 1.0], written_rewards=[])["role"] == "llm"


def test_written_only_rewards_leave_the_picked_trials_unscored_but_in_the_field() -> None:
    study = optuna.create_study(direction="maximize")
    for value, source, picked in [(1.0, "baseline", False), (5.0, "llm", True),
                                  (3.0, "TPESampler", False), (2.0, "llm", False)]:
        t = study.ask()
        t.set_user_attr(ATTR_SOURCE, source)
        if picked:
            t.set_user_attr(ATTR_CHOICE, {"picked": 1, "of": 4, "drawn_by": "TPESampler"})
        study.tell(t, value)
    llm, base = rewards(study.trials, study.directions, before=4, pooled=True, written_only=True)
    # The picked trial (5.0) is not scored; it still beats the base sampler's 3.0.
    assert llm == [pytest.approx(1 / 3)] and base == [pytest.approx(2 / 3)]


def test_with_early_on_evidence_a_model_ahead_keeps_its_early_share() -> None:
    study = run(constant_replier(GOOD),
                AdaptiveSchedule(early_share=0.5, early_on_evidence=True, model_first=True), n=12)
    made = decisions(study)
    assert [made[b]["role"] for b in (1, 3, 5, 7)] == ["llm", "base", "llm", "base"]
    assert all(made[b]["share"] >= 0.5 for b in (1, 3, 5, 7))


def test_with_early_round_trials_the_model_proposes_only_the_first_trials_of_an_early_block() -> None:
    study = run(constant_replier(GOOD),
                AdaptiveSchedule(early_round_trials=1, model_first=True, early_share=0.5), n=14)
    sources = ["L" if source_of(t, "RandomSampler") == "llm" else "B" for t in study.trials]
    made = decisions(study)
    # Blocks 1-2 and 5-6 are the model's; it proposes trials 1 and 5, the base sampler 2 and 6.
    assert made[1]["role"] == made[5]["role"] == "llm"
    assert "".join(sources[1:9]) == "LBBBLBBB"
    # The model's slot records its role beside its block's decision; the base sampler's, nothing.
    assert study.trials[1].user_attrs[ATTR_SHARE]["role"] == "llm"
    assert ATTR_SHARE not in study.trials[2].user_attrs
    # Later blocks go whole to the model when they are its.
    later = [b for b in made if b >= 10 and made[b]["role"] == "llm"]
    assert later and all(sources[b] == sources[b + 1] == "L" for b in later if b + 1 < 14)


@pytest.mark.parametrize("advice", [GOOD, BAD], ids=["good", "bad"])
def test_by_default_the_models_one_start_up_configuration_comes_after_six_random_draws(
    advice: dict,
) -> None:
    sampler = LLMSampler(constant_replier(advice), base_sampler=RandomSampler(seed=0),
                         search_space=SPACE, baseline=TERRIBLE)  # the default schedule and choose
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=12)
    sources = [source_of(t, "RandomSampler") for t in study.trials]
    assert sources[:9] == ["baseline", *["RandomSampler"] * 6, "llm", "RandomSampler"]
    made = decisions(study)
    # Trial 7 is the model's whatever the six draws delivered: they beat the baseline, so the
    # evidence is against a model that has not proposed yet, and it keeps its early share.
    assert made[7]["llm"] == [0, 0] and made[7]["p_better"] < 0.5 and made[7]["share"] == 0.25
    # After the start-up the model earns its blocks from zero: trial 7 alone earns none by 11.
    assert made[9]["role"] == made[11]["role"] == "base" and "llm" not in sources[9:]
    assert (made[9]["p_better"] > 0.5) is (advice is GOOD)


@pytest.mark.parametrize("advice, llm_trials", [(GOOD, [1, 5]), (BAD, [1])], ids=["good", "bad"])
def test_with_model_first_and_early_share_one_half_the_model_proposes_trial_1_and_trial_5_unless_behind(
    advice: dict, llm_trials: list[int]
) -> None:
    # The model's first trial is trial 1 (``+one-shot``).
    study = run(constant_replier(advice), AdaptiveSchedule(model_first=True, early_share=0.5), n=10)
    assert [t.number for t in study.trials if source_of(t, "RandomSampler") == "llm"] == llm_trials


def test_without_a_study_the_default_gives_the_model_trial_7_or_without_baseline_first_trial_6() -> None:
    def roles(s: AdaptiveSchedule) -> str:
        return "".join({TrialRole.BASELINE: "0", TrialRole.LLM: "L", TrialRole.BASE: "B"}[s.role(n)]
                       for n in range(12))

    assert roles(AdaptiveSchedule()) == "0BBBBBBLBBBB"
    assert roles(AdaptiveSchedule(baseline_first=False)) == "BBBBBBLBBBBB"
    assert roles(AdaptiveSchedule(model_first=True, early_share=0.5)) == "0LBBBLBBBBBB"


def test_without_a_study_early_round_trials_gives_the_model_one_trial_per_early_block() -> None:
    s = AdaptiveSchedule(early_round_trials=1, model_first=True, early_share=0.5)
    roles = "".join("L" if s.role(n) is TrialRole.LLM else "B" for n in range(1, 11))
    assert roles == "LBBBLBBBBB"
    assert s.round_of(1) == range(1, 3) and s.round_of(2) is None


MEDIOCRE = {"workers": 50, "backlog": 3072, "buffer_kb": 64, "timeout_s": 8.0,
            "learning_rate": 1e-3, "mode": None}
"""Better than TERRIBLE, the baseline below, and worse than almost any random draw."""
TERRIBLE = {"workers": 1, "backlog": 4096, "buffer_kb": 4, "ratio": 0.0, "timeout_s": 10.0,
            "learning_rate": 1e-5, "mode": None}


def study_of(direction: str, told: list[tuple[float | None, str]]) -> optuna.Study:
    """A study whose trials have these values (None: failed) and sources, in order."""
    study = optuna.create_study(direction=direction)
    for value, source in told:
        t = study.ask()
        t.set_user_attr(ATTR_SOURCE, source)
        if value is None:
            study.tell(t, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(t, value)
    return study


def test_pooled_scores_judge_a_model_that_only_beats_the_baseline_against_everyone() -> None:
    study = study_of("minimize", [(5.0, "baseline"), (4.0, "llm"), (1.0, "TPESampler"), (2.0, "TPESampler")])
    # Against the trials before it, the model's first trial beat all there was: the baseline.
    assert rewards(study.trials, study.directions, before=4) == ([1.0], [1.0, pytest.approx(2 / 3)])
    # Pooled, every trial meets the same field: the model's beat one of three others.
    llm, base = rewards(study.trials, study.directions, before=4, pooled=True)
    assert llm == [pytest.approx(1 / 3)]
    assert base == [1.0, pytest.approx(2 / 3)]


def test_pooled_scores_count_failures_as_zero_and_ties_as_half() -> None:
    study = study_of("maximize", [(1.0, "baseline"), (3.0, "llm"), (3.0, "TPESampler"), (None, "llm")])
    llm, base = rewards(study.trials, study.directions, before=10, pooled=True)
    assert sorted(llm) == [0.0, pytest.approx(0.75)] and base == [pytest.approx(0.75)]


def test_one_shot_takes_the_second_early_round_from_a_model_that_only_beat_the_baseline() -> None:
    def study_with(schedule: AdaptiveSchedule) -> optuna.Study:
        sampler = LLMSampler(constant_replier(MEDIOCRE), base_sampler=RandomSampler(seed=0),
                             search_space=SPACE, schedule=schedule, choose=None, baseline=TERRIBLE)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(objective, n_trials=10)
        return study

    one_shot = study_with(AdaptiveSchedule(early_round_trials=1, early_on_evidence=True,
                                           score="pooled", model_first=True, early_share=0.5))
    made = decisions(one_shot)
    assert made[1]["role"] == "llm" and made[5]["role"] == "base" and made[5]["p_better"] < 0.5
    assert [source_of(t, "RandomSampler") for t in one_shot.trials].count("llm") == 1
    # Scored against the trials before it, its first trial beat the baseline: a full score.
    earlier = study_with(AdaptiveSchedule(early_round_trials=1, early_on_evidence=True,
                                          score="earlier", model_first=True, early_share=0.5))
    assert decisions(earlier)[5]["llm"] == [1, 1.0]


def test_after_the_early_blocks_the_model_earns_its_blocks_from_zero() -> None:
    s = AdaptiveSchedule(floor=0.1, early_trials=10, early_share=1.0, **WHOLE_ROUNDS)
    roles = "".join("L" if s.role(n) is TrialRole.LLM else "B" for n in range(1, 31))
    # Trials 1-8 to the model; then, without evidence, the floor: one block in ten.
    assert roles == "L" * 8 + "BB" * 9 + "LL" + "BB"


def test_decisions_up_to_the_models_last_block_are_in_storage_and_on_its_slots() -> None:
    schedule = AdaptiveSchedule(round_size=2, floor=0.3)
    study = run(constant_replier(BAD), schedule, n=30)
    made = decisions(study)
    assert sorted(made) == list(range(1, 30, 2))
    stored = stored_decisions(study)
    last_model_block = max(b for b, r in made.items() if r["role"] == "llm")
    # Written with the model block's first trial: every decision up to it, none after.
    assert sorted(stored) == list(range(1, last_model_block + 1, 2))
    for block, record in stored.items():
        assert record["role"] == made[block]["role"] and record["share"] == made[block]["share"]
    for trial in study.trials[1:]:
        block = trial.number - (trial.number - 1) % 2
        # A trial's role is its block's, except the second trial of a start-up block.
        role = schedule.trial_role(trial.number, made[block]).value
        assert role == (made[block]["role"] if trial.number >= 10 or trial.number == block else "base")
        if role == "llm":
            assert trial.user_attrs[ATTR_SHARE] == {**made[block], "role": role}
        else:  # The base sampler's slot: nothing written on it.
            assert ATTR_SHARE not in trial.user_attrs and ATTR_SOURCE not in trial.user_attrs


def test_a_second_worker_reads_the_recorded_decisions_instead_of_deciding_again() -> None:
    schedule = AdaptiveSchedule()
    study = run(constant_replier(BAD), schedule, n=30)
    recorded = {t.number: schedule.trial_role(t.number, decisions(study)[t.number - (t.number - 1) % 2])
                for t in study.trials[1:]}
    # A fresh schedule, as in another process, on the same storage after more results came in.
    other = LLMSampler(constant_replier(GOOD), search_space=SPACE, schedule=AdaptiveSchedule())
    for t in study.trials[1:]:
        assert other.role(t.number, study) is recorded[t.number]


def test_without_a_study_the_schedule_is_its_prior() -> None:
    def roles(s: AdaptiveSchedule) -> str:
        return "".join("L" if s.role(n) is TrialRole.LLM else "B" if s.role(n) is TrialRole.BASE
                       else "0" for n in range(41))

    s = AdaptiveSchedule(floor=0.1, ceiling=0.5, early_trials=0, model_first=True)
    # Without evidence p_better is 1/2, which earns the floor: one block in ten.
    assert roles(s) == "0" + "BB" * 4 + "LL" + "BB" * 9 + "LL" + "BB" * 5
    assert s.round_of(10) == range(9, 11) and s.round_of(11) is None
    # Without model_first the credit starts at zero rather than one half: five blocks later.
    later = AdaptiveSchedule(floor=0.1, ceiling=0.5, early_trials=0, model_first=False)
    assert roles(later) == "0" + ("BB" * 9 + "LL") * 2


def test_without_model_first_the_base_sampler_takes_the_first_block() -> None:
    first = AdaptiveSchedule(early_trials=10, early_share=0.5, model_first=True, **WHOLE_ROUNDS)
    later = AdaptiveSchedule(early_trials=10, early_share=0.5, model_first=False, **WHOLE_ROUNDS)

    def roles(s: AdaptiveSchedule) -> str:
        return "".join("L" if s.role(n) is TrialRole.LLM else "B" for n in range(1, 11))

    assert roles(first) == "LLBBLLBBBB"
    assert roles(later) == "BBLLBBLLBB"


def test_without_model_first_the_models_first_round_sees_the_base_samplers_trials() -> None:
    prompts: list[str] = []

    def reply(prompt: str, index: int) -> str:
        prompts.append(prompt)
        return constant_replier(GOOD).replier(prompt, index)

    study = run(ScriptedChatModel(replier=reply),
                AdaptiveSchedule(early_share=0.5, model_first=False, **WHOLE_ROUNDS), n=6)
    sources = [source_of(t, "RandomSampler") for t in study.trials]
    assert sources[:5] == ["RandomSampler"] * 3 + ["llm"] * 2  # trial 0: no baseline given
    assert decisions(study)[1]["role"] == "base" and decisions(study)[3]["role"] == "llm"
    # The first prompt was built after trials 0-2 finished: it shows all three.
    assert prompts and "3 complete" in prompts[0]
    assert all(f"#{n} [RandomSampler]" in prompts[0] for n in (0, 1, 2))


def test_rewards_score_the_fraction_of_earlier_trials_beaten_and_failures_as_zero() -> None:
    study = study_of("minimize", [(5.0, "baseline"), (3.0, "llm"), (9.0, "TPESampler"), (4.0, "llm"),
                                  (None, "TPESampler")])
    llm, base = rewards(study.trials, study.directions, before=10)
    assert llm == [1.0, pytest.approx(2 / 3)]
    assert base == [0.0, 0.0]
    assert rewards(study.trials, study.directions, before=2) == ([1.0], [])


def test_probability_better_is_one_half_without_evidence_and_moves_with_it() -> None:
    assert probability_better([], []) == pytest.approx(0.5)
    assert probability_better([1.0] * 8, [0.0] * 8) > 0.99
    assert probability_better([0.2] * 8, [0.8] * 8) < 0.01


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"floor": -0.1}, "floor"),
        ({"ceiling": 1.5}, "ceiling"),
        ({"floor": 0.6, "ceiling": 0.5}, "floor must not exceed ceiling"),
        ({"early_share": "half"}, "early_share"),
        ({"early_trials": -1}, "early_trials"),
        ({"early_on_evidence": "yes"}, "early_on_evidence"),
        ({"model_first": 0}, "model_first"),
        ({"early_round_trials": 0}, "early_round_trials"),
        ({"early_round_trials": True}, "early_round_trials"),
        ({"score": "later"}, "score"),
        ({"round_size": 0}, "round_size"),
        ({"prior": 0}, "prior"),
    ],
)
def test_invalid_arguments_raise_naming_them(kwargs: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        AdaptiveSchedule(**kwargs)


def test_on_sqlite_a_base_trial_costs_no_write_beyond_its_base_samplers(tmp_path, monkeypatch) -> None:
    from sqlalchemy import event

    def commits_of_one_ask(name: str, sampler: optuna.samplers.BaseSampler) -> int:
        storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / name}")
        study = optuna.create_study(direction="maximize", sampler=sampler, storage=storage)
        study.optimize(objective, n_trials=3)
        writing, commits = [False], [0]

        def statement(conn, cursor, sql: str, *args: object) -> None:
            writing[0] |= sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))

        def commit(conn) -> None:
            commits[0] += writing[0]
            writing[0] = False

        event.listen(storage.engine, "before_cursor_execute", statement)
        event.listen(storage.engine, "commit", commit)
        writes.clear()
        trial = study.ask()  # Trial 3 starts block 3-4.
        assert trial.number == 3
        return commits[0]

    sampler = LLMSampler(constant_replier(BAD), base_sampler=RandomSampler(seed=0),
                         search_space=SPACE,
                         schedule=AdaptiveSchedule(early_trials=0, floor=0.0, ceiling=0.0))
    writes: list[list[str]] = []
    import optuna_llm_sampler._sampler as sampler_module

    original = sampler_module.write_trial_attrs
    monkeypatch.setattr(sampler_module, "write_trial_attrs",
                        lambda *a, **k: (writes.append(sorted(k.get("study_attrs") or {})),
                                         original(*a, **k))[1])
    with_llm = commits_of_one_ask("llm.db", sampler)
    # Trial 3 starts a block of the base sampler's: its decision waits for the next write.
    assert writes == [] and with_llm == commits_of_one_ask("plain.db", RandomSampler(seed=0))


def test_on_sqlite_another_process_reads_the_decisions_the_first_one_recorded(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = LLMSampler(constant_replier(BAD), base_sampler=RandomSampler(seed=0),
                       search_space=SPACE, schedule=AdaptiveSchedule())
    study = optuna.create_study(direction="maximize", sampler=first, storage=url,
                                study_name="s")
    study.optimize(objective, n_trials=30)
    roles = {n: first.role(n, study) for n in range(1, 30)}
    # Another process: its own storage object and schedule, a model that would decide otherwise.
    # It reads what the first one recorded and decides the blocks after that from the same
    # finished trials, the same way.
    other = LLMSampler(constant_replier(GOOD), search_space=SPACE, schedule=AdaptiveSchedule())
    again = optuna.load_study(study_name="s", storage=url, sampler=other)
    assert {n: other.role(n, again) for n in range(1, 30)} == roles
    assert stored_decisions(again)  # the first process's decisions, up to its last model block


def good_then_bad(good_rounds: int = 3) -> ScriptedChatModel:
    """Writes GOOD (varied) in its first ``good_rounds`` rounds, then BAD."""
    good, bad = constant_replier(GOOD).replier, constant_replier(BAD).replier
    return ScriptedChatModel(
        replier=lambda prompt, index: (good if index < good_rounds else bad)(prompt, index))


def test_with_a_window_a_block_is_decided_on_the_recent_trials_alone() -> None:
    schedule = AdaptiveSchedule(floor=0.1, ceiling=0.6, window=10)
    study = run(good_then_bad(), schedule, n=60)
    for block, record in decisions(study).items():
        assert record["llm"][0] + record["base"][0] <= 10  # scored: the ten trials before it
    # Its good start no longer vouches for it: once it writes badly the window's evidence
    # says so blocks before the whole history's does.
    whole = AdaptiveSchedule(floor=0.1, ceiling=0.6)
    turned = {name: min(b for b, r in decisions(s).items() if b > 9 and r["p_better"] < 0.5)
              for name, s in (("window", study), ("whole", run(good_then_bad(), whole, n=60)))}
    assert turned["window"] + 4 <= turned["whole"]
    assert "window=10" in repr(schedule) and "window" not in repr(AdaptiveSchedule())


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "20"])
def test_a_window_must_be_a_positive_int(bad) -> None:
    with pytest.raises(ConfigError, match="window must be an int >= 1 or None"):
        AdaptiveSchedule(window=bad)


def test_with_base_startup_later_blocks_are_earned_against_the_base_samplers_own_proposals() -> None:
    # The base sampler's first 20 trials are its random start-up: good advice beats those
    # whatever the base sampler's model would do, so they are not the bar.
    def blocks(base_startup: int | None) -> dict[int, dict]:
        study = run(writes_or_picks_first(GOOD), n=40, choose=Choose(vet_writes=False),
                    schedule=AdaptiveSchedule(floor=0.1, ceiling=0.6, base_startup=base_startup))
        by_base = {t.number for t in study.trials if source_of(t, "RandomSampler") == "RandomSampler"}
        for block, record in decisions(study).items():
            if base_startup and block >= 11:  # after the early blocks: the base's trials from 20 on
                assert record["base"][0] == len(by_base & set(range(20, block)))
        return decisions(study)

    judged = blocks(20)
    for block in range(11, 21, 2):  # no proposal of the base's model yet: the floor, and picks
        assert judged[block]["base"] == [0, 0] and judged[block]["bar_from"] == 20
        assert judged[block]["share"] == pytest.approx(0.1) and judged[block]["p_better"] == 0.5
    assert judged[21]["base"][0] >= 1 and judged[21]["bar_from"] == 20
    assert judged[7]["bar_from"] == 0  # the early block: the model's trial replaces a random draw
    # Against every trial of the base sampler, the good model looks far ahead from trial 11.
    whole = blocks(None)
    assert all(whole[block]["share"] > 0.3 for block in range(11, 21, 2))
    assert "bar_from" not in whole[11]


def test_with_base_startup_the_early_blocks_are_still_judged_against_the_random_draws() -> None:
    # model_first: the model writes trial 1, and trial 5 only if trial 1 is level or ahead of
    # the base sampler's draws, all of which are start-up draws here.
    schedule = AdaptiveSchedule(model_first=True, early_share=0.5, base_startup=20)
    study = run(constant_replier(BAD), schedule, n=12)
    assert source_of(study.trials[1], "RandomSampler") == "llm"
    assert decisions(study)[5]["role"] == "base" and decisions(study)[5]["p_better"] < 0.5


@pytest.mark.parametrize("schedule", [None, AdaptiveSchedule(ceiling=0.3)])
def test_the_schedule_takes_the_base_samplers_start_up_when_bound(schedule) -> None:
    def bar_from(**base) -> int | None:
        kind = base.pop("kind", optuna.samplers.TPESampler)
        sampler = LLMSampler(constant_replier(GOOD), base_sampler=kind(seed=0, **base),
                             search_space=SPACE,
                             **({} if schedule is None else {"schedule": copy.deepcopy(schedule)}))
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(objective, n_trials=12)
        return decisions(study)[11].get("bar_from")

    assert bar_from() == 10  # TPE's default
    assert bar_from(n_startup_trials=20) == 20  # A-Tune's random_starts
    assert bar_from(kind=RandomSampler) is None  # it declares no start-up: every trial is a bar
    assert "base_startup='auto'" in repr(AdaptiveSchedule())
    assert "base_startup=20" in repr(AdaptiveSchedule(base_startup=20))


@pytest.mark.parametrize("bad", [-1, 2.5, True, "20"])
def test_base_startup_must_be_an_int_of_zero_or_more(bad) -> None:
    with pytest.raises(ConfigError, match="base_startup must be 'auto', an int >= 0 or None"):
        AdaptiveSchedule(base_startup=bad)
