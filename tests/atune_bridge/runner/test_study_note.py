"""What a run leaves in the study for optuna-dashboard: the study's note, the model's prompts and
replies as artifacts next to the SQLite file, trial notes, and no proposal left waiting."""

from __future__ import annotations

import types
from pathlib import Path

import optuna
import optuna_dashboard
import pytest
from optuna.trial import TrialState

import optuna_llm_sampler
from atune_bridge import RunnerConfig, summarize
from atune_bridge._runner._records import ATTR_DISCARDED, STUDY_CONFIRM

from toy_project import Toy, copy_toy


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return copy_toy(tmp_path)


def trial_note(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> str:
    ref = types.SimpleNamespace(storage=study._storage, study=study, _trial_id=trial._trial_id)
    return optuna_dashboard.get_note(ref)  # type: ignore[arg-type]


def test_a_run_stopping_inside_a_round_leaves_no_waiting_proposal(
    toy: Toy, two_trial_rounds: None, unvetted: None,
) -> None:
    # Trial 1 asks the model for round 1-2 and enqueues trial 2; the budget ends the run first.
    result = toy.runner(llm="random:0", n_trials=2).run()
    study = toy.study()
    assert study.get_trials(states=(TrialState.WAITING,)) == []
    baseline, owner, proposal = study.trials
    assert owner.user_attrs["source"] == "llm" and proposal.user_attrs["source"] == "llm"
    assert proposal.state is TrialState.FAIL and proposal.params == {}
    assert proposal.user_attrs[ATTR_DISCARDED] == (
        "the run stopped (budget reached) before this proposal of its round was run")
    assert optuna_llm_sampler.is_discarded(proposal) and not optuna_llm_sampler.is_discarded(owner)
    summary = summarize(result)
    assert (summary.n_complete, summary.n_failed, summary.n_discarded) == (2, 0, 1)
    assert summary.sources == {"baseline": 1, "llm": 1}
    assert [r.number for r in summary.rows] == [0, 1]
    # The baseline ran as a real trial: started before it was measured.
    assert baseline.datetime_complete > baseline.datetime_start

    # The budget counts trials that ran: a resumed run to 3 runs one more, not none.
    toy.runner(llm="random:0", n_trials=3).run()
    ran = [t for t in toy.study().trials if not optuna_llm_sampler.is_discarded(t)]
    assert [t.state for t in ran] == [TrialState.COMPLETE] * 3


def test_prompts_and_replies_are_kept_next_to_the_sqlite_file(
    toy: Toy, model_first: None, unvetted: None,
) -> None:
    toy.runner(llm="random:0", n_trials=2).run()
    owner = toy.study().trials[1]
    ids = owner.user_attrs[optuna_llm_sampler.attrs.ATTR_ARTIFACTS]
    folder = toy.root / "study.artifacts"
    assert sorted(p.name for p in folder.iterdir()) == sorted(ids.values())
    assert "=== human ===" in (folder / ids["prompt"]).read_text()
    assert (folder / ids["reply"]).read_text().startswith("{")
    assert "**Model:** `random" in trial_note(toy.study(), owner)


def test_no_artifacts_when_asked_for_none(toy: Toy, model_first: None) -> None:
    toy.runner(llm="random:0", n_trials=2, artifact_dir="none").run()
    assert not (toy.root / "study.artifacts").exists()
    assert optuna_llm_sampler.attrs.ATTR_ARTIFACTS not in toy.study().trials[1].user_attrs


def test_the_artifact_folder_follows_the_storage() -> None:
    assert RunnerConfig(storage="sqlite:///runs/nginx.db").artifact_folder() == "runs/nginx.artifacts"
    assert RunnerConfig(storage="sqlite:////tmp/a.db").artifact_folder() == "/tmp/a.artifacts"
    assert RunnerConfig(storage="postgresql://h/db").artifact_folder() is None
    assert RunnerConfig(storage="postgresql://h/db", artifact_dir="art").artifact_folder() == "art"


def test_the_study_note_has_the_project_baseline_best_and_says_the_gain_is_not_verified(toy: Toy) -> None:
    toy.runner(n_trials=3).run()
    study = toy.study()
    note = optuna_dashboard.get_note(study)
    assert note.startswith("## A-Tune project toy\n\n**Verified gain:** not verified: the best and the "
                           "baseline were each measured once")
    assert "3 completed, 0 failed trials (1 baseline, 2 TPESampler); objective rps (maximize)." in note
    assert "**Baseline:** trial 0: rps=656.00  \n`workers=2,cache=128,mode=safe,ratio=0.5`" in note
    assert "**Best:** trial " in note and "**Gain over the baseline (single measurements):** rps +" in note
    assert f"--artifact-dir {toy.root / 'study'}.artifacts" not in note  # TPE alone keeps none


def test_the_study_note_shows_the_verified_gain_when_the_run_was_confirmed(toy: Toy) -> None:
    toy.runner(n_trials=2).run()
    toy.study().set_user_attr(STUDY_CONFIRM, {"n": 5, "gain_pct": 12.5, "gain_interval_pct": [3.1, 21.9],
                                                 "verdict": "improved"})
    toy.runner(n_trials=2).run()  # nothing left to run: the note is written again
    note = optuna_dashboard.get_note(toy.study())
    assert ("**Verified gain:** +12.50% (95% interval +3.10% to +21.90%); improved; from 5 "
            "re-measurements of each") in note


def test_the_end_of_a_run_and_the_study_note_say_how_many_trials_the_model_proposed_and_why(
    toy: Toy,
) -> None:
    from atune_bridge import format_summary

    result = toy.runner(llm="random:0", n_trials=9).run()
    line = summarize(result).model_share
    assert line is not None and line.startswith("The model proposed 1 of 9 trials (7)")
    assert "its share of blocks was" in line
    assert line in format_summary(summarize(result))
    assert f"**The model:** {line.split(';')[0]}" in optuna_dashboard.get_note(toy.study())
    # TPE alone: nothing to explain.
    assert summarize(toy.runner(n_trials=3, study_name="plain").run()).model_share is None
