"""Choose: the base sampler draws candidates, the model picks by number and writes no values."""

from __future__ import annotations

import json
import logging
import re

import optuna
from optuna.samplers import RandomSampler
from optuna.samplers import TPESampler
import pytest

from llm_fakes import choosing
from llm_fakes import objective
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from optuna_llm_sampler.attrs import ATTR_CHOICE
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import Choose
from optuna_llm_sampler import ConfigError
from optuna_llm_sampler import FirstNSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler._policy._choose import DEFAULT_CHOOSE
from optuna_llm_sampler import Screen
from optuna_llm_sampler._proposal._candidates import draw_candidates
from optuna_llm_sampler._proposal._candidates import read_choices


_LINE = re.compile(r"^(\d+)\. (\{.*\})$", re.MULTILINE)


def candidates_in(prompt: str) -> dict[int, dict]:
    return {int(m.group(1)): json.loads(m.group(2)) for m in _LINE.finditer(prompt)}


def pick_best_workers(prompt: str, index: int) -> str:
    """Chooses, for each slot, the listed candidate whose workers is closest to 24."""
    listed = candidates_in(prompt)
    n = int(re.search(r"Choose (?:the candidate|(\d+) different)", prompt).group(1) or 1)
    ranked = sorted(listed, key=lambda k: abs(listed[k]["workers"] - 24))
    return json.dumps({"choices": [{"candidate": k, "rationale": f"workers {listed[k]['workers']}"}
                                   for k in ranked[:n]]})


def run(replier, n_trials: int, *, base=None, choose=choosing(), schedule=None):
    model = ScriptedChatModel(replier=replier)
    sampler = LLMSampler(
        model,
        base_sampler=base if base is not None else RandomSampler(seed=0),
        search_space=SPACE,
        schedule=schedule if schedule is not None else FirstNSchedule(2, round_size=2),
        choose=choose,
        structured_output=True,
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    return study, model


def test_the_prompt_lists_candidates_times_slots_configurations_and_asks_for_numbers() -> None:
    _, model = run(pick_best_workers, 3)
    prompt = model.prompts[0]
    assert sorted(candidates_in(prompt)) == list(range(1, 9))
    assert "## Candidates" in prompt and "Choose 2 different candidates" in prompt
    assert "Propose" not in prompt
    schema = model.call_kwargs[0]["response_format"]["json_schema"]["schema"]
    items = schema["properties"]["choices"]
    assert items["minItems"] == items["maxItems"] == 2
    assert items["items"]["properties"]["candidate"]["enum"] == list(range(1, 9))


def test_each_slot_runs_the_candidate_the_model_picked_and_records_the_pick() -> None:
    study, model = run(pick_best_workers, 3)
    listed = candidates_in(model.prompts[0])
    picked = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    assert len(picked) == 2
    best_two = sorted(listed, key=lambda k: abs(listed[k]["workers"] - 24))[:2]
    for trial, number in zip(picked, best_two):
        assert trial.params == listed[number]
        assert trial.user_attrs[ATTR_CHOICE] == {"picked": number, "of": 8, "drawn_by": "RandomSampler"}
        assert trial.user_attrs["llm_rationale"] == f"workers {listed[number]['workers']}"


def test_candidates_are_the_base_samplers_own_draws() -> None:
    # With TPE past its start-up, every candidate comes from TPE's model of the history.
    base = TPESampler(seed=3, n_startup_trials=5)
    study, model = run(pick_best_workers, 12, base=base,
                       schedule=lambda n: n == 10 or n == 11)
    listed = candidates_in(model.prompts[0])
    assert len(listed) == 8
    assert "The optimiser (TPESampler) drew these 8 configurations" in model.prompts[0]
    for params in listed.values():
        assert set(params) == set(SPACE)
        for name, value in params.items():
            assert SPACE[name]._contains(SPACE[name].to_internal_repr(value))


def test_draws_skip_configurations_already_evaluated() -> None:
    space = {"mode": SPACE["mode"]}
    study = optuna.create_study(sampler=RandomSampler(seed=0))
    study.enqueue_trial({"mode": "fast"})
    study.optimize(lambda t: 0.0 if t.suggest_categorical("mode", SPACE["mode"].choices) else 0.0,
                   n_trials=1)
    trial = study.ask()
    drawn = draw_candidates(RandomSampler(seed=1), study, study._storage.get_trial(trial._trial_id),
                            space, 10, [{"mode": "fast"}])
    assert {"mode": "fast"} not in drawn
    assert len(drawn) == len({json.dumps(d, default=str) for d in drawn}) <= 4


@pytest.mark.parametrize(
    ("reply", "numbers", "kinds"),
    [
        ('{"choices": [{"candidate": 3, "rationale": "r"}, {"candidate": 1, "rationale": "s"}]}',
         [3, 1], []),
        ('{"choice": 2}', [2], []),
        ("[4, 4, 1]", [4, 1], ["duplicate"]),
        ('{"choices": [{"candidate": 9}, {"candidate": 0}]}', [], ["unusable", "unusable"]),
        ("I would pick number 3 because it is balanced.", [3], ["extracted"]),
        ('```json\n{"choices": [{"candidate": "2"}]}\n```', [2], ["extracted"]),
        ("[1, 2, 3]", [1, 2], ["extra"]),
        # JSON that names no candidate (a configuration written again) picks nothing: its
        # values are not candidate numbers.
        ('{"x": 3, "rationale": "more x"}', [], []),
    ],
)
def test_replies_are_read_into_valid_distinct_candidate_numbers(reply, numbers, kinds) -> None:
    candidates = [{"x": k} for k in range(1, 5)]
    picks = read_choices(reply, candidates, 2)
    assert picks.numbers == numbers
    assert [p.params for p in picks.proposals] == [candidates[k - 1] for k in numbers]
    assert [r.kind for r in picks.notes] == kinds


def test_a_reply_choosing_nothing_falls_back_to_the_base_samplers_first_candidate_with_the_reason() -> None:
    study, model = run(lambda prompt, i: '{"choices": [{"candidate": 99}]}', 3)
    trial = study.trials[1]
    assert trial.user_attrs[ATTR_SOURCE] == "RandomSampler"
    assert "chose no candidate" in trial.user_attrs["llm_error"]
    assert "99" in trial.user_attrs["llm_error"]
    # the candidates were the base sampler's draws for this trial: it runs the first, not one more draw
    assert trial.params == candidates_in(model.prompts[0])[1]
    assert trial.user_attrs["llm_note"] == "runs the first of RandomSampler's candidates for the round"


@pytest.mark.parametrize("choose", [DEFAULT_CHOOSE, Choose(candidates=6)])
def test_a_screen_with_rounds_that_choose_is_refused_saying_what_to_pass(choose) -> None:
    with pytest.raises(ConfigError, match="pass choose=None with screen="):
        LLMSampler(ScriptedChatModel(replier=pick_best_workers), search_space=SPACE,
                   choose=choose, screen=Screen())


@pytest.mark.parametrize("bad", [1, 21, 2.0, True])
def test_choose_refuses_counts_that_leave_nothing_to_choose_or_too_much_to_read(bad) -> None:
    with pytest.raises(ConfigError, match="candidates"):
        Choose(candidates=bad)


def write_or_pick(prompt: str, index: int) -> str:
    """Picks when the prompt lists candidates; otherwise writes one configuration per slot."""
    if "## Candidates" in prompt:
        return pick_best_workers(prompt, index)
    n = int(re.search(r"Propose (\d+) new", prompt).group(1))
    configs = [{"params": {"workers": 10 + k + 3 * index, "backlog": 1024, "buffer_kb": 64,
                           "ratio": 0.5, "timeout_s": 1.0, "learning_rate": 0.001,
                           "mode": "fast"}, "rationale": "written"} for k in range(n)]
    return json.dumps({"configurations": configs})


def test_with_from_trial_rounds_before_it_are_written_and_rounds_after_chosen() -> None:
    from optuna_llm_sampler import AlternatingSchedule

    study, model = run(write_or_pick, 13, choose=Choose(from_trial=9, write_when_ahead=False, vet_writes=False),
                       schedule=AlternatingSchedule())
    llm = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    # Rounds 1-2 and 5-6 start before trial 9: written; round 9-10 starts there: chosen.
    assert [t.number for t in llm] == [1, 2, 5, 6, 9, 10]
    assert [ATTR_CHOICE in t.user_attrs for t in llm] == [False] * 4 + [True] * 2
    assert all(t.user_attrs["llm_rationale"] == "written" for t in llm[:4])
    assert ["## Candidates" in p for p in model.prompts] == [False, False, True]


def test_with_write_after_a_round_reached_with_too_few_complete_trials_chooses() -> None:
    from optuna_llm_sampler import AlternatingSchedule

    study, model = run(write_or_pick, 13, choose=Choose(from_trial=9, write_when_ahead=False, write_after=2, vet_writes=False),
                       schedule=AlternatingSchedule())
    llm = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    assert [t.number for t in llm] == [1, 2, 5, 6, 9, 10]
    # Round 1-2 starts with trial 0 alone complete: it picks, although it starts before 9.
    # Round 5-6 has five complete trials behind it: written. Round 9-10: chosen, as before.
    assert [ATTR_CHOICE in t.user_attrs for t in llm] == [True, True, False, False, True, True]
    assert ["## Candidates" in p for p in model.prompts] == [True, False, True]


def test_write_after_counts_complete_trials_and_is_not_applied_without_a_count() -> None:
    choose = Choose(write_when_ahead=False, write_after=2, vet_writes=False)
    assert choose.applies_to(1, None, complete=1)
    assert not choose.applies_to(1, None, complete=2)
    assert not choose.applies_to(1, None)
    # Past from_trial it changes nothing: those rounds choose unless the model is ahead.
    assert choose.applies_to(12, None, complete=12)


@pytest.mark.parametrize("bad", [-1, 2.5, True, "10"])
def test_choose_refuses_a_from_trial_that_is_not_a_trial_number(bad) -> None:
    with pytest.raises(ConfigError, match="from_trial"):
        Choose(from_trial=bad)


@pytest.mark.parametrize("bad", [-1, 1.5, False, "2"])
def test_choose_refuses_a_write_after_that_is_not_a_count(bad) -> None:
    with pytest.raises(ConfigError, match="write_after"):
        Choose(write_after=bad)


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_choose_refuses_a_write_when_ahead_that_is_not_a_bool(bad) -> None:
    with pytest.raises(ConfigError, match="write_when_ahead"):
        Choose(write_when_ahead=bad)


def test_with_a_fixed_schedule_write_when_ahead_has_no_evidence_and_rounds_choose() -> None:
    model = ScriptedChatModel(replier=write_or_pick)
    sampler = default_sampler(model, choose=Choose(vet_writes=False))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=15)
    llm = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    assert [ATTR_CHOICE in t.user_attrs for t in llm] == [False] * 6 + [True] * 2


def default_sampler(model: ScriptedChatModel, **options) -> LLMSampler:
    from optuna_llm_sampler import AlternatingSchedule

    options = {"schedule": AlternatingSchedule(), **options}
    return LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                      structured_output=True, **options)


def test_by_default_rounds_of_the_random_start_up_are_written_and_later_rounds_chosen() -> None:
    model = ScriptedChatModel(replier=vetting(keeps_its_own))
    study = optuna.create_study(direction="maximize", sampler=default_sampler(model))
    study.optimize(objective, n_trials=15)
    llm = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    # Rounds 1-2, 5-6 and 9-10 start before trial 10: written; round 13-14 is chosen.
    assert [t.number for t in llm] == [1, 2, 5, 6, 9, 10, 13, 14]
    assert [ATTR_CHOICE in t.user_attrs for t in llm] == [False] * 6 + [True] * 2
    # The default vets each written round: a second call, its own among the draws, which this
    # model keeps. So seven calls for four rounds: write and vet three times, then choose.
    assert ["llm_vet" in t.user_attrs for t in llm] == [True] * 6 + [False] * 2
    assert all(t.user_attrs["llm_vet"]["kept"] == "written" for t in llm[:6])
    assert ["## Candidates" in p for p in model.prompts] == [False, True] * 3 + [True]
    assert ["your own proposal" in p for p in model.prompts] == [False, True] * 3 + [False]


def test_choose_none_has_the_model_write_every_round() -> None:
    model = ScriptedChatModel(replier=write_or_pick)
    study = optuna.create_study(direction="maximize",
                                sampler=default_sampler(model, choose=None))
    study.optimize(objective, n_trials=15)
    llm = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    assert [t.number for t in llm] == [1, 2, 5, 6, 9, 10, 13, 14]
    assert not any(ATTR_CHOICE in t.user_attrs for t in llm)
    assert not any("## Candidates" in p for p in model.prompts)


@pytest.mark.parametrize("option", [{"screen": Screen(), "choose": None},
                                    {"prefetch": True, "choose": None}])
def test_options_that_need_written_rounds_run_with_rounds_that_write(option) -> None:
    model = ScriptedChatModel(replier=write_or_pick)
    sampler = default_sampler(model, **option)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=15)
    sampler.join_prefetch()
    llm = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    assert [t.number for t in llm][-2:] == [13, 14]
    assert not any(ATTR_CHOICE in t.user_attrs for t in llm)


def test_an_explicit_choose_with_prefetch_is_refused_saying_what_to_pass() -> None:
    with pytest.raises(ConfigError, match="pass schedule='alternating'"):
        LLMSampler(ScriptedChatModel(replier=pick_best_workers), search_space=SPACE,
                   choose=Choose(write_when_ahead=False, vet_writes=False), prefetch=True)


def test_the_sampler_says_how_its_rounds_choose() -> None:
    from optuna_llm_sampler._policy._choose import DEFAULT_CHOOSE

    model = ScriptedChatModel(replier=pick_best_workers)
    assert LLMSampler(model, search_space=SPACE).choose == Choose() == DEFAULT_CHOOSE
    assert LLMSampler(model, search_space=SPACE, choose=choosing(candidates=6)).choose == choosing(candidates=6)
    assert LLMSampler(model, search_space=SPACE, choose=None).choose is None
    # A preset brings its own, unless one is given.
    assert LLMSampler(model, search_space=SPACE, schedule="alternating").choose is None
    assert LLMSampler(model, search_space=SPACE, schedule="alternating",
                      choose=Choose(candidates=6)).choose == Choose(candidates=6)


def test_one_field_changed_keeps_the_other_defaults() -> None:
    changed = Choose(candidates=6)
    assert (changed.from_trial, changed.write_when_ahead, changed.vet_writes) == (10, True, True)


# --- vet_writes: what the model wrote competes with the base sampler's draws --------------------

_OWN_LINE = re.compile(r"the optimiser \((\w+)\) drew (\d+), (\d+|1) (?:is|are) your own proposal")


def vetting(pick, write=write_or_pick):
    """Writes like ``write``; asked to vet, answers ``pick(listed, own_numbers)``."""
    written: list[dict] = []

    def replier(prompt: str, index: int) -> str:
        if "## Candidates" not in prompt:
            reply = write(prompt, index)
            written.extend(c["params"] for c in json.loads(reply)["configurations"])
            return reply
        listed = candidates_in(prompt)
        own = [k for k, params in listed.items() if params in written]
        return pick(listed, own)

    return replier


def picks_own(listed: dict[int, dict], own: list[int]) -> str:
    return json.dumps({"choices": [{"candidate": own[0], "rationale": "mine"}]})


def keeps_its_own(listed: dict[int, dict], own: list[int]) -> str:
    """Keeps every configuration it wrote; shown the base sampler's draws alone, the first two."""
    return json.dumps({"choices": [{"candidate": k} for k in own or [1, 2]]})


def picks_a_draw(listed: dict[int, dict], own: list[int]) -> str:
    draw = next(k for k in listed if k not in own)
    return json.dumps({"choices": [{"candidate": draw, "rationale": "theirs"}]})


def vetted_run(pick, n_trials: int = 3, **kwargs):
    return run(vetting(pick), n_trials, choose=Choose(from_trial=9, write_when_ahead=False),
               schedule=lambda n: n == 1, **kwargs)


def test_with_vet_writes_a_written_round_asks_again_with_its_own_among_the_draws() -> None:
    study, model = vetted_run(picks_own)
    write, vet = model.prompts
    assert "## Candidates" not in write and "Propose 1 new" in write
    listed = candidates_in(vet)
    assert len(listed) == 4  # candidates=4 per trial: three draws and its own
    assert _OWN_LINE.search(vet).groups() == ("RandomSampler", "3", "1")
    # The prompt does not say which one is the model's.
    record = study.trials[1].user_attrs["llm_vet"]
    assert listed[record["own"][0]] == study.trials[1].params
    assert "Choose the candidate" in vet


def test_a_vetted_round_that_keeps_its_own_runs_what_the_model_wrote() -> None:
    study, _ = vetted_run(picks_own)
    trial = study.trials[1]
    assert trial.user_attrs[ATTR_SOURCE] == "llm"
    assert trial.params["workers"] == 10 and trial.user_attrs["llm_rationale"] == "written"
    assert ATTR_CHOICE not in trial.user_attrs  # a written trial, as the adaptive share scores it
    vet = trial.user_attrs["llm_vet"]
    assert vet["kept"] == "written" and vet["picked"] == vet["own"][0] and vet["of"] == 4
    assert "mine" in vet["raw_reply"]


def test_a_vetted_round_that_prefers_a_draw_runs_the_draw_as_a_picked_trial() -> None:
    from optuna_llm_sampler._policy._scoring import rewards

    study, model = vetted_run(picks_a_draw)
    trial = study.trials[1]
    listed = candidates_in(model.prompts[1])
    vet = trial.user_attrs["llm_vet"]
    assert vet["kept"] == "draw" and vet["picked"] not in vet["own"]
    assert trial.params == listed[vet["picked"]] and trial.params["workers"] != 10
    assert trial.user_attrs[ATTR_CHOICE] == {"picked": vet["picked"], "of": 4,
                                             "drawn_by": "RandomSampler"}
    assert trial.user_attrs["llm_rationale"] == "theirs"
    # The adaptive share counts it among the model's trials, not among those it wrote.
    llm, _ = rewards(study.trials, study.directions, before=3, pooled=True)
    written, _ = rewards(study.trials, study.directions, before=3, pooled=True, written_only=True)
    assert len(llm) == 1 and written == []


def test_when_vetting_fails_the_written_configuration_stands_and_the_failure_is_recorded() -> None:
    study, model = vetted_run(lambda listed, own: "no idea, sorry")
    trial = study.trials[1]
    assert len(model.prompts) == 2
    assert trial.user_attrs[ATTR_SOURCE] == "llm" and trial.params["workers"] == 10
    assert "llm_error" not in trial.user_attrs
    vet = trial.user_attrs["llm_vet"]
    assert vet["kept"] == "written" and "chose no candidate" in vet["error"]


def test_a_vetted_round_of_two_keeps_each_pick_in_the_reply_order() -> None:
    def own_second_then_a_draw(listed: dict[int, dict], own: list[int]) -> str:
        second = next(k for k in own if listed[k]["workers"] == 11)  # the second it wrote
        draw = next(k for k in listed if k not in own)
        return json.dumps({"choices": [{"candidate": second}, {"candidate": draw}]})

    study, model = run(vetting(own_second_then_a_draw), 4,
                       choose=Choose(from_trial=9, write_when_ahead=False),
                       schedule=lambda n: n in (1, 2))
    listed = candidates_in(model.prompts[1])
    assert len(listed) == 8 and _OWN_LINE.search(model.prompts[1]).groups()[1:] == ("6", "2")
    first, second = study.trials[1], study.trials[2]
    assert first.params["workers"] == 11  # the second configuration it wrote
    assert ATTR_CHOICE not in first.user_attrs and first.user_attrs["llm_vet"]["kept"] == "written"
    assert ATTR_CHOICE in second.user_attrs and second.user_attrs["llm_vet"]["kept"] == "draw"


@pytest.mark.parametrize(("pick", "says"), [
    (picks_own, "s: kept 1 of its own, preferred 0 of RandomSampler's draws."),
    (picks_a_draw, "s: kept 0 of its own, preferred 1 of RandomSampler's draws."),
    (lambda listed, own: "no idea", "vetting failed, its own configuration(s) stand."),
])
def test_the_rounds_log_line_says_what_vetting_kept(pick, says, caplog) -> None:
    caplog.set_level(logging.INFO, logger="optuna_llm_sampler")
    vetted_run(pick)
    (line,) = [r.getMessage() for r in caplog.records
               if r.levelno == logging.INFO and r.getMessage().startswith("LLM round 1")]
    assert line.endswith(says)
    assert ("; vetted in 0.0 s: kept" in line) is ("failed" not in says)  # the second call's time


def test_a_round_of_two_that_wrote_one_configuration_is_vetted_as_a_round_of_one() -> None:
    def writes_one(prompt: str, index: int) -> str:
        reply = json.loads(write_or_pick(prompt, index))
        if "## Candidates" not in prompt:
            reply["configurations"] = reply["configurations"][:1]
        return json.dumps(reply)

    study, model = run(vetting(picks_own, write=writes_one), 4, choose=Choose(from_trial=9, write_when_ahead=False),
                       schedule=lambda n: n in (1, 2))
    write, vet = model.prompts
    assert "Propose 2 new" in write
    # One configuration to vet: four candidates (three draws and it), one pick asked for.
    assert len(candidates_in(vet)) == 4 and "Choose the candidate" in vet
    assert study.trials[1].user_attrs["llm_vet"]["kept"] == "written"
    assert study.trials[2].user_attrs[ATTR_SOURCE] == "RandomSampler"  # the slot it left


def test_places_of_its_own_follow_the_configurations_and_are_returned_in_its_order() -> None:
    from optuna_llm_sampler._proposal._candidates import place_own

    drawn = [{"x": k} for k in range(6)]
    own = [{"x": 100}, {"x": 200}]
    listed, places = place_own(drawn, own)
    assert [listed[p] for p in places] == own
    assert [c for c in listed if c not in own] == drawn  # the draws keep their order
    assert place_own(drawn, own) == (listed, places)  # the same study, the same places
    seen = {tuple(place_own([{"x": k + s} for k in range(6)], own)[1]) for s in range(10, 40)}
    assert len(seen) > 3  # other draws, other places


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_choose_refuses_a_vet_writes_that_is_not_a_bool(bad) -> None:
    with pytest.raises(ConfigError, match="vet_writes"):
        Choose(vet_writes=bad)


def test_a_vetted_round_counts_two_calls_against_the_budget() -> None:
    from optuna_llm_sampler import ModelBudget

    model = ScriptedChatModel(replier=vetting(picks_own))
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=lambda n: n in (1, 3), structured_output=True,
                         choose=Choose(from_trial=9, write_when_ahead=False),
                         budget=ModelBudget(max_calls=2))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=5)
    assert len(model.prompts) == 2
    assert "max_calls=2" in study.trials[3].user_attrs["llm_note"]


def test_a_vetting_reply_that_writes_a_configuration_again_leaves_the_written_one_standing() -> None:
    def writes_again(listed: dict[int, dict], own: list[int]) -> str:
        return json.dumps({"configurations": [{"params": {"workers": 3}, "rationale": "again"}]})

    study, _ = vetted_run(writes_again)
    trial = study.trials[1]
    assert trial.params["workers"] == 10 and ATTR_CHOICE not in trial.user_attrs
    vet = trial.user_attrs["llm_vet"]
    assert vet["kept"] == "written" and "chose no candidate" in vet["error"]


# --- the default choose vets what the model writes ----------------------------------------------


@pytest.mark.parametrize(("pick", "kept"), [(picks_own, "written"), (picks_a_draw, "draw")])
def test_by_default_the_models_written_start_up_trial_is_vetted_among_three_draws(pick, kept) -> None:
    from optuna_llm_sampler.attrs import ATTR_VET
    from optuna_llm_sampler._records._attrs import ROUND_RECORD_PREFIX

    model = ScriptedChatModel(replier=vetting(pick))
    study = optuna.create_study(direction="maximize",
                                sampler=LLMSampler(model, search_space=SPACE))
    study.optimize(objective, n_trials=8)
    # The default schedule's one start-up trial for the model (trial 0 is the baseline's slot,
    # TPE's without a baseline).
    (trial,) = [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]
    assert trial.number == 7
    write, vet = model.prompts  # asked twice: it writes, then picks
    assert "Propose 1 new" in write and "## Candidates" not in write
    assert len(candidates_in(vet)) == 4
    assert _OWN_LINE.search(vet).groups() == ("TPESampler", "3", "1")
    record = trial.user_attrs[ATTR_VET]
    assert record["of"] == 4 and record["kept"] == kept and len(record["own"]) == 1
    assert trial.params == candidates_in(vet)[record["picked"]]
    # A kept draw is a picked trial; a kept configuration of its own is a written one.
    assert (ATTR_CHOICE in trial.user_attrs) is (kept == "draw")
    attrs = study._storage.get_study_system_attrs(study._study_id)
    assert attrs[ROUND_RECORD_PREFIX + str(trial.number)]["calls"] == 2
