"""Warm start: an earlier study's best trials enqueued in a new one, marked, filtered to its space."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from atune_bridge import WarmStartError
from atune_bridge._runner import STUDY_WARM_START

from toy_project import Toy, copy_toy, rps

GOOD = [{"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.3},
        {"workers": 5, "cache": 448, "mode": "fast", "ratio": 0.4},
        {"workers": 4, "cache": 384, "mode": "safe", "ratio": 0.2},
        {"workers": 3, "cache": 64, "mode": "safe", "ratio": 0.9}]


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    toy = copy_toy(tmp_path)
    toy.runner(n_trials=1, study_name="old").run()
    toy.enqueue(*GOOD, name="old")
    toy.runner(n_trials=5, study_name="old").run()
    return toy


def test_the_best_trials_of_the_earlier_study_are_enqueued_after_the_baseline_and_measured(toy: Toy) -> None:
    result = toy.runner(n_trials=4, study_name="new", warm_start=("old",)).run()
    new = toy.study("new")
    trials = new.trials
    assert trials[0].user_attrs["source"] == "baseline"
    assert [t.params for t in trials[1:4]] == GOOD[:3]  # best first: 1060, 1000-10-5+40-1, ...
    assert [t.user_attrs["warm_start_from"] for t in trials[1:4]] == [
        f"old@{toy.storage} trial {n}" for n in (1, 2, 3)]
    assert all(t.user_attrs["source"] == "enqueued" and t.state is TrialState.COMPLETE for t in trials[1:4])
    assert trials[1].user_attrs["metrics"] == {"rps": rps(6, 512, "very fast", 0.3)}  # measured here
    record = new.user_attrs[STUDY_WARM_START]
    assert record["sources"] == ["old"] and len(record["seeded"]) == 3 and record["notes"] == []
    assert result.study.best_trial.number == 1


def test_parameters_outside_the_new_space_are_dropped_with_a_reason(toy: Toy) -> None:
    text = toy.server_path.read_text()
    text = text.replace("scope: [64, 1024]", "scope: [64, 448]")  # cache 512 no longer allowed
    ratio_at = text.index('  -\n    name: "ratio"')
    (toy.root / "narrow_server.yaml").write_text(text[:ratio_at])  # and no ratio at all
    toy.runner(server=toy.root / "narrow_server.yaml", n_trials=2, study_name="narrow", warm_start=("old",)).run()
    study = toy.study("narrow")
    seeded = study.trials[1]
    assert set(seeded.params) == {"workers", "cache", "mode"}  # cache sampled, ratio gone
    assert (seeded.params["workers"], seeded.params["mode"]) == (6, "very fast")
    assert seeded.user_attrs["warm_start_from"] == f"old@{toy.storage} trial 1"
    notes = study.user_attrs[STUDY_WARM_START]["notes"]
    origin = f"old@{toy.storage} trial 1"
    assert f"{origin}: cache=512 dropped: outside this study's domain" in notes
    assert f"{origin}: ratio dropped: not a parameter of this study" in notes
    assert f"{origin}: cache not set by it (left to the sampler)" in notes


def test_a_second_run_does_not_enqueue_again(toy: Toy) -> None:
    toy.runner(n_trials=2, study_name="new", warm_start=("old",)).run()
    toy.runner(n_trials=5, study_name="new", warm_start=("old",)).run()
    froms = [t.user_attrs.get("warm_start_from") for t in toy.study("new").trials]
    assert sum(f is not None for f in froms) == 3


def test_an_unknown_study_stops_the_run_before_anything_runs(toy: Toy) -> None:
    with pytest.raises(WarmStartError, match="warm start 'nope': no study named 'nope'"):
        toy.runner(n_trials=3, study_name="new", warm_start=("nope",)).run()
    assert "new" not in [s.study_name for s in optuna.get_all_study_summaries(toy.storage)]


def test_the_mark_is_the_one_the_prompt_reads() -> None:
    from optuna_llm_sampler._records._attrs import ATTR_WARM_START_FROM

    from atune_bridge._format import WARM_START_FROM

    assert WARM_START_FROM == ATTR_WARM_START_FROM
