"""The dashboard tells the story: trial notes, exact fallback reasons, prompt/reply artifacts,
and the model's proposals a stopped study leaves waiting."""

from __future__ import annotations

import json
import logging
from pathlib import Path
import sys
import types

import optuna
from optuna.samplers import RandomSampler
from optuna.trial import TrialState
import optuna_dashboard
import pytest

from llm_fakes import choosing
from llm_fakes import fixed_replier
from llm_fakes import objective
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from optuna_llm_sampler.attrs import ATTR_ARTIFACTS
from optuna_llm_sampler.attrs import ATTR_DISCARDED
from optuna_llm_sampler.attrs import ATTR_NOTE
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import discard_waiting_proposals
from optuna_llm_sampler import is_discarded
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler._proposal._history import read_history
from optuna_llm_sampler._records._notes import save_trial_note
from optuna_llm_sampler._records._notes import trial_note


CONFIG = {"workers": 24, "backlog": 1024, "buffer_kb": 64, "ratio": 0.9, "timeout_s": 1.0,
          "learning_rate": 0.001, "mode": "fast"}
RATIONALE = "24 cores: one **worker** each <script>x</script>"
# The model's second configuration repeats the first: the repair step drops it.
REPEATED = json.dumps({"configurations": [
    {"params": CONFIG, "rationale": RATIONALE},
    {"params": CONFIG, "rationale": "the same again"},
]})


def note_of(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> str:
    ref = types.SimpleNamespace(storage=study._storage, study=study, _trial_id=trial._trial_id)
    return optuna_dashboard.get_note(ref)  # type: ignore[arg-type]


def run(reply: str, n_trials: int, **kwargs: object) -> optuna.Study:
    model = ScriptedChatModel(replier=fixed_replier(reply), model_name="qwen-test")
    kwargs.setdefault("schedule", AlternatingSchedule())  # rounds of two: 1-2, 5-6, ...
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE, **kwargs)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    return study


def test_a_model_trial_has_a_note_with_model_rationale_repairs_and_latency() -> None:
    study = run(REPEATED, 2)
    trial = study.trials[1]
    assert trial.user_attrs[ATTR_SOURCE] == "llm"
    note = note_of(study, trial)
    assert note.startswith("### Trial 1: proposed by the model")
    assert "**Model:** `qwen-test`; round from trial 1; asked by trial 1; latency " in note
    # Markdown and HTML in the model's text are shown, never rendered.
    assert r"**Rationale:** 24 cores: one \*\*worker\*\* each &lt;script&gt;x&lt;/script&gt;" in note
    assert "**Repairs (1):**\n- duplicate: configuration 2 repeats an evaluated" in note


def test_a_slot_left_without_a_proposal_says_the_reply_repeated_itself() -> None:
    study = run(REPEATED, 3)
    second = study.trials[2]
    expected = (
        "round 1-2 is asked by trial 1; the model's reply gave 1 usable configuration(s) for 2 "
        "LLM slot(s), so none was left for this trial (dropped: configuration 2 repeats an "
        "evaluated or earlier configuration "
    )
    assert second.user_attrs[ATTR_SOURCE] == "RandomSampler"
    assert second.user_attrs[ATTR_NOTE].startswith(expected)
    note = note_of(study, second)
    assert note.startswith("### Trial 2: proposed by RandomSampler\n\n**Why not the model:** round 1-2")
    assert "gave 1 usable configuration(s) for 2 LLM slot(s)" in note


def test_a_failed_round_leaves_a_note_with_the_error_on_its_slot() -> None:
    study = run("I cannot help with that.", 2)
    note = note_of(study, study.trials[1])
    assert note.startswith("### Trial 1: proposed by RandomSampler")
    assert ("**Why not the model:** the model's round gave no proposal: the reply has no usable "
            "configuration: no JSON object or list found") in note
    assert "**Model:** `qwen-test`" in note and "latency " in note


def test_trials_of_the_base_sampler_have_no_note() -> None:
    study = run(REPEATED, 4)
    assert note_of(study, study.trials[3]) == ""


def test_without_optuna_dashboard_the_study_runs_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)
    with caplog.at_level(logging.DEBUG, logger="optuna_llm_sampler._records._notes"):
        study = run(REPEATED, 6)
    assert len(study.trials) == 6
    missing = [r for r in caplog.records if "optuna-dashboard is not installed" in r.message]
    assert len(missing) == 1 and missing[0].levelno == logging.DEBUG
    system_attrs = study._storage.get_study_system_attrs(study._study_id)
    assert not [k for k in system_attrs if k.startswith("dashboard:")]


def test_a_note_that_cannot_be_written_does_not_stop_the_study(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("optuna_llm_sampler._records._notes.write_attrs", broken)
    with caplog.at_level(logging.WARNING, logger="optuna_llm_sampler._records._notes"):
        study = run(REPEATED, 3)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert "Trial 1: could not write its optuna-dashboard note: OSError: disk full" in caplog.text


def test_the_prompt_and_the_raw_reply_are_kept_as_artifacts_of_the_asking_trial(tmp_path: Path) -> None:
    store = optuna.artifacts.FileSystemArtifactStore(str(tmp_path))
    study = run(REPEATED, 2, artifact_store=store)
    owner = study.trials[1]
    ids = owner.user_attrs[ATTR_ARTIFACTS]
    assert set(ids) == {"prompt", "reply"}
    metas = {m.artifact_id: m for m in optuna.artifacts.get_all_artifact_meta(owner, storage=study._storage)}
    assert metas[ids["prompt"]].filename == "llm-prompt-round-1-2.txt"
    prompt = (tmp_path / ids["prompt"]).read_text()
    assert prompt.startswith("=== system ===\n") and "=== human ===\n" in prompt
    assert "Propose 2 new configurations" in prompt
    assert (tmp_path / ids["reply"]).read_text() == REPEATED  # whole, not truncated
    assert f"prompt `{ids['prompt']}`" in note_of(study, owner)
    # The vetting call that follows the round's keeps its exchange under names of its own.
    vet_ids = owner.user_attrs["llm_vet"]["artifacts"]
    assert metas[vet_ids["prompt"]].filename == "llm-prompt-vet-1-2.txt"
    assert metas[vet_ids["reply"]].filename == "llm-reply-vet-1-2.txt"


def test_a_failing_artifact_store_does_not_stop_the_study(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BrokenStore:
        def write(self, artifact_id: str, content_body: object) -> None:
            raise OSError("read-only file system")

    with caplog.at_level(logging.WARNING, logger="optuna_llm_sampler._records._artifacts"):
        study = run(REPEATED, 2, artifact_store=BrokenStore())
    assert study.trials[1].user_attrs[ATTR_SOURCE] == "llm"
    assert ATTR_ARTIFACTS not in study.trials[1].user_attrs
    assert "could not keep the model exchange of round 1-2 as artifacts" in caplog.text


def test_an_artifact_store_must_have_write() -> None:
    with pytest.raises(TypeError, match="artifact_store must be an Optuna artifact store"):
        LLMSampler(ScriptedChatModel(replier=fixed_replier(REPEATED)), artifact_store="out/")


def test_a_stopped_round_leaves_no_waiting_proposal_once_discarded() -> None:
    two = json.dumps({"configurations": [
        {"params": CONFIG, "rationale": "first"},
        {"params": {**CONFIG, "workers": 8}, "rationale": "second"},
    ]})
    study = run(two, 2)  # trial 1 asks for round 1-2 and enqueues trial 2, which never runs
    study.enqueue_trial({"workers": 3})  # a user's trial: not the sampler's to discard
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.number for t in waiting] == [2, 3]

    assert discard_waiting_proposals(study) == [2]
    proposal, users = study.trials[2], study.trials[3]
    assert proposal.state is TrialState.FAIL and is_discarded(proposal)
    assert proposal.user_attrs[ATTR_DISCARDED] == "the study stopped before this proposal of its round was run"
    assert users.state is TrialState.WAITING and not is_discarded(users)
    assert "**Discarded, never run:** the study stopped" in note_of(study, proposal)
    # The model's next prompt does not count it as a failure.
    history = read_history(study)
    assert history.n_failed == 0 and all(v.number != 2 for v in history.recent)
    assert discard_waiting_proposals(study) == []


def test_a_proposal_popped_from_the_queue_gets_its_own_note() -> None:
    two = json.dumps({"configurations": [
        {"params": CONFIG, "rationale": "first"},
        {"params": {**CONFIG, "workers": 8}, "rationale": "eight workers for the second"},
    ]})
    study = run(two, 3)
    popped = study.trials[2]
    assert "fixed_params" in popped.system_attrs and popped.params["workers"] == 8
    note = note_of(study, popped)
    assert note.startswith("### Trial 2: proposed by the model")
    assert "asked by trial 1" in note and "**Rationale:** eight workers for the second" in note


def test_importing_the_package_does_not_import_optuna_dashboard() -> None:
    import subprocess

    code = ("import sys, optuna_llm_sampler\n"
            "from optuna_llm_sampler import LLMSampler, discard_waiting_proposals\n"
            "assert 'optuna_dashboard' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("sqlite", [True, False], ids=["sqlite", "memory"])
def test_a_note_is_stored_in_the_rows_save_note_writes(tmp_path: Path, sqlite: bool) -> None:
    storage = (optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'notes.db'}") if sqlite
               else optuna.storages.InMemoryStorage())
    study = optuna.create_study(storage=storage)
    ours, theirs = study.ask(), study.ask()
    # Long, then short: the second note leaves fewer chunks than the first had.
    for body in ("x" * 5000, "**short**"):
        save_trial_note(study, ours._trial_id, body)
        optuna_dashboard.save_note(theirs, body)
        assert note_of(study, study.trials[ours.number]) == body

    def rows(trial_id: int) -> dict[str, object]:
        attrs = storage.get_study_system_attrs(study._study_id)
        return {k.replace(f":{trial_id}:", ":ID:"): v for k, v in attrs.items()
                if k.startswith(f"dashboard:{trial_id}:")}

    assert rows(ours._trial_id) == rows(theirs._trial_id)
    assert rows(ours._trial_id)["dashboard:ID:note_ver"] == 2


def test_on_sqlite_a_note_is_one_write(tmp_path: Path) -> None:
    from sqlalchemy import event

    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'notes.db'}")
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    commits: list[int] = []
    event.listen(storage.engine, "commit", lambda connection: commits.append(1))
    save_trial_note(study, trial._trial_id, "y" * 7000)  # four chunks and a version
    assert len(commits) == 2  # one read, one write
    assert note_of(study, trial) == "y" * 7000


def test_a_picked_candidate_says_it_was_chosen_not_written() -> None:
    from optuna_llm_sampler import FirstNSchedule

    def pick_first(prompt: str, index: int) -> str:
        return json.dumps({"choices": [{"candidate": 1, "rationale": "the first"}]})

    model = ScriptedChatModel(replier=pick_first)
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=FirstNSchedule(1, round_size=1), choose=choosing())
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=2)
    note = note_of(study, study.trials[1])
    assert "**Chosen, not written:** the model picked candidate 1 of 4 drawn by RandomSampler" in note
    assert "as the model wrote it" not in note


@pytest.mark.parametrize(("vet_reply", "says"), [
    ("own", "so the trial runs what it wrote"),
    ("draw", "so the trial runs a draw of the base sampler"),
    ("garbage", "**Vetting failed:** the reply chose no candidate"),
])
def test_a_vetted_trial_says_where_its_configuration_was_listed_and_what_it_runs(
    vet_reply: str, says: str
) -> None:
    from optuna_llm_sampler import Choose

    def write_then_vet(prompt: str, index: int) -> str:
        if "## Candidates" not in prompt:
            return json.dumps({"configurations": [{"params": CONFIG, "rationale": "r"}]})
        numbered = [line for line in prompt.splitlines() if line[:1].isdigit() and ". {" in line]
        mine = next(int(line.split(".")[0]) for line in numbered if '"ratio": 0.9' in line)
        other = next(int(line.split(".")[0]) for line in numbered if '"ratio": 0.9' not in line)
        pick = {"own": mine, "draw": other}.get(vet_reply)
        return json.dumps({"choices": [{"candidate": pick}]}) if pick else "no idea"

    model = ScriptedChatModel(replier=write_then_vet)
    sampler = LLMSampler(model, base_sampler=RandomSampler(seed=0), search_space=SPACE,
                         schedule=lambda n: n == 1, choose=Choose(from_trial=5, write_when_ahead=False))
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=2)
    note = note_of(study, study.trials[1])
    assert says in note
    if vet_reply != "garbage":
        vet = study.trials[1].user_attrs["llm_vet"]
        assert f"listed as candidate {vet['own'][0]} of 4; it picked {vet['picked']}" in note


def test_the_baseline_slot_without_a_baseline_gets_no_note() -> None:
    # Trial 0 of a study without a baseline was never the model's: nothing to explain.
    attrs = {"source": "TPESampler", "llm_note": "baseline slot, but no baseline was given"}
    assert trial_note(0, attrs) is None
    assert trial_note(3, {**attrs, "llm_round": 3}) is not None  # a model slot is explained
