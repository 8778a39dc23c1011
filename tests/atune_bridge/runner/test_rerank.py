"""The re-ranking: the top configurations measured again before the confirmation, the best mean
crowned, the report and ``apply_best`` following the crown, a resumed run measuring nothing again."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import optuna_dashboard
import pytest

from atune_bridge import (
    Evaluation,
    Runner,
    RunnerConfig,
    format_summary,
    load_client,
    load_server,
    summarize,
    write_report,
)
from atune_bridge._format import Scoring
from atune_bridge._runner import STUDY_CONFIRM, confirm_text
from atune_bridge._runner._rerank import Candidate, crown_sentence, rank_value, ranking, rerank
from atune_bridge._runner._study_note import study_note

from toy_project import ORIGINAL, Toy, copy_toy, noisy_client, rps

STEADY = {"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.3}  # the optimum, 1060 rps
LUCKY = {**STEADY, "mode": "safe", "cache": 192}  # 875 rps; measured x1.3 = 1137.5 once
RUNNER_UP = {**STEADY, "workers": 5}  # 1050 rps
STEADY_SETS = ["workers=6", "cache=512", "mode=very fast", "ratio=0.3"]


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return copy_toy(tmp_path)


def lucky_study(toy: Toy, *trials: dict[str, object], noise: list[float | str]) -> str:
    """The baseline measured as it is, then ``trials`` enqueued; ``noise`` scales every
    benchmark after the baseline in turn (then 1). Returns the noisy client's file name."""
    client = noisy_client(toy, [1.0, *noise])
    toy.runner(client, n_trials=1).run()
    toy.enqueue(*trials)
    return client


# --------------------------------------------------------------------------- the record


def test_the_best_mean_is_crowned_and_ties_go_to_the_better_ranked() -> None:
    first, second = Candidate(3, (3,), {"x": "1"}, (110.0,)), Candidate(5, (5,), {"x": "2"}, (100.0,))
    again = {"1": [90.0, 90.0], "2": [120.0, 100.0]}
    record = rerank([first, second], 2, lambda c: again[c.config["x"]].pop(0), best_single=3,
                    ranked_by="rps as measured", higher_is_better=True)
    assert [c["mean"] for c in record["candidates"]] == [pytest.approx(290 / 3), pytest.approx(320 / 3)]
    assert (record["crowned"], record["changed"]) == (5, True)
    lower = rerank([first, second], 1, lambda c: {"1": 95.0, "2": 105.0}[c.config["x"]], best_single=3,
                   ranked_by="latency as measured", higher_is_better=False)
    assert lower["crowned"] == 3  # means 102.5 and 102.5 when lower is better: the better-ranked keeps it
    assert json.loads(json.dumps(record)) == record


def test_a_candidate_that_could_not_be_measured_again_is_not_crowned() -> None:
    lucky, steady = Candidate(3, (3,), {"x": "1"}, (200.0,)), Candidate(5, (5,), {"x": "2"}, (100.0,))
    record = rerank([lucky, steady], 1, lambda c: "benchmark timed out" if c.trial == 3 else 101.0,
                    best_single=3, ranked_by="rps as measured", higher_is_better=True)
    assert record["failures"] == [{"trial": 3, "round": 1, "reason": "benchmark timed out"}]
    assert record["crowned"] == 5 and record["candidates"][0]["samples"] == []
    nothing = rerank([lucky, steady], 1, lambda c: "benchmark timed out", best_single=3,
                     ranked_by="rps as measured", higher_is_better=True)
    assert nothing["crowned"] == 3 and "failed for every candidate" in crown_sentence(nothing)


def test_a_stop_request_ends_the_re_ranking_and_the_best_single_keeps_the_crown() -> None:
    cancel = threading.Event()
    calls: list[int] = []

    def measure(candidate: Candidate) -> float:
        calls.append(candidate.trial)
        cancel.set()
        return 500.0 if candidate.trial == 5 else 1.0

    record = rerank([Candidate(3, (3,), {}, (200.0,)), Candidate(5, (5,), {}, (100.0,))], 2, measure,
                    best_single=3, ranked_by="rps as measured", higher_is_better=True, cancel=cancel)
    assert calls == [3] and record["interrupted"] is True and record["crowned"] == 3
    assert crown_sentence(record).endswith("was interrupted: trial 3 (the best single measurement) kept the crown")


@pytest.mark.parametrize(("multi_objective", "mode", "expected"), [(False, "weighted", 12.5), (True, "pareto", 7.25)])
def test_several_evaluations_are_ranked_by_the_weighted_improvement_rate(multi_objective: bool, mode: str,
                                                                         expected: float) -> None:
    evaluations = (Evaluation("rps", "echo 1", "negative", weight=70),
                   Evaluation("latency", "echo 1", "positive", weight=30))
    scoring = Scoring(evaluations, multi_objective)
    assert scoring.mode == mode
    # weighted: the study's value is the rate; --multi-objective: the values are the metrics and
    # the rate is minus A-Tune's objective
    values = (12.5,) if mode == "weighted" else (900.0, 20.0)
    assert rank_value(scoring, values, -7.25) == expected
    assert ranking(scoring) == ("weighted improvement over the baseline in % (A-Tune's rate)", True)
    single = Scoring(evaluations[1:])
    assert rank_value(single, (20.0,), 20.0) == 20.0 and ranking(single) == ("latency as measured", False)


# --------------------------------------------------------------------------- the runner


def test_a_lucky_trial_that_measures_worse_again_is_not_crowned(toy: Toy) -> None:
    client = lucky_study(toy, LUCKY, STEADY, RUNNER_UP, noise=[1.3])
    result = toy.runner(client, n_trials=4, confirm=2, rerank=2, apply_best=True).run()
    record = result.confirm
    assert record is not None and record == toy.study().user_attrs[STUDY_CONFIRM]
    ranking = record["rerank"]
    assert [c["trial"] for c in ranking["candidates"]] == [1, 2]  # the top 2: trial 3 is not measured
    assert ranking["candidates"][0]["earlier"] == [pytest.approx(1137.5)]
    assert ranking["candidates"][0]["samples"] == [rps(6, 192, "safe", 0.3)]
    assert ranking["candidates"][1]["samples"] == [rps(6, 512, "very fast", 0.3)]
    assert (ranking["best_single"], ranking["crowned"], ranking["changed"]) == (1, 2, True)
    assert record["best_trial"] == 2 and record["best"]["samples"] == [1060.0, 1060.0]
    # baseline, three trials; the top 2 again; the confirmation; nothing after (trial 2 stays applied)
    assert toy.log("bench.log") == ["bench"] * (1 + 3 + 2 + 4)
    assert toy.log("set.log")[-4:] == STEADY_SETS
    # after the three trials (trial 3 left workers=5): trial 1's configuration, then trial 2's, each
    # through the same checked path as a trial, setting what differs
    assert toy.log("set.log")[12:17] == ["workers=6", "cache=192", "mode=safe", "cache=512", "mode=very fast"]
    assert toy.conf() == {"workers": "6", "cache": "512", "mode": "very fast", "ratio": "0.3"}
    assert result.applied == "best configuration (trial 2, crowned over trial 1 by re-measuring the top trials)"
    sentence = "trial 2 crowned after re-measuring the top 2 (trial 1 had the best single measurement: a lucky draw)"
    summary = summarize(result)
    assert summary.best is not None and summary.best.number == 2
    assert summary.best_line == "workers=6,cache=512,mode=very fast,ratio=0.3"
    text = format_summary(summary)
    assert "Best: trial 2 (enqueued), crowned over trial 1 by re-measuring: rps=1060.00" in text
    assert f"from 2 re-measurements of each; {sentence}" in text
    page = write_report(summary, toy.root / "report").html.read_text()
    assert "<b>Best:</b> trial 2 (enqueued), crowned over trial 1 by re-measuring: rps=1060.00</p>" in page
    assert f"from 2 re-measurements of each; {sentence}</p>" in page
    assert "**Best:** trial 2 (enqueued), crowned over trial 1 by re-measuring: rps=1060.00" in study_note(summary)
    lines = confirm_text(record)
    assert lines[0] == f"Re-ranked (rps as measured, mean of each trial's measurement and the new ones): {sentence}."
    assert lines[1] == "  trial 1: mean 1006.25 (n=2; trials 1137.50; again 875.00)"
    assert lines[2] == "  trial 2: mean 1060.00 (n=2; trials 1060.00; again 1060.00)  <- crowned"
    assert lines[3].startswith("Confirmed (trial 2 against the baseline")


def test_without_re_ranking_the_best_single_measurement_is_confirmed_and_applied(toy: Toy) -> None:
    client = lucky_study(toy, LUCKY, STEADY, RUNNER_UP, noise=[1.3])
    result = toy.runner(client, n_trials=4, confirm=2, rerank=0, apply_best=True).run()
    assert result.confirm is not None and "rerank" not in result.confirm
    assert result.confirm["best_trial"] == 1
    assert toy.log("bench.log") == ["bench"] * (1 + 3 + 4)
    assert result.applied == "best configuration (trial 1)"
    assert toy.conf()["cache"] == "192"
    assert "crowned" not in format_summary(summarize(result))


def test_a_configuration_set_by_several_trials_is_measured_once_with_all_its_measurements(toy: Toy) -> None:
    client = lucky_study(toy, LUCKY, LUCKY, STEADY, noise=[1.3, 1.25])
    result = toy.runner(client, n_trials=4, confirm=2, rerank=2).run()
    assert result.confirm is not None
    ranking = result.confirm["rerank"]
    assert [(c["trial"], c["trials"]) for c in ranking["candidates"]] == [(1, [1, 2]), (3, [3])]
    assert ranking["candidates"][0]["earlier"] == [pytest.approx(1137.5), pytest.approx(1093.75)]
    assert ranking["candidates"][0]["mean"] == pytest.approx((1137.5 + 1093.75 + 875) / 3)
    assert ranking["crowned"] == 3
    assert toy.log("bench.log") == ["bench"] * (1 + 3 + 2 + 4)  # one re-measurement per configuration


def test_the_baseline_and_trials_that_set_its_configuration_are_not_candidates(toy: Toy) -> None:
    baseline = {"workers": 2, "cache": 128, "mode": "safe", "ratio": 0.5}
    client = lucky_study(toy, baseline, STEADY, RUNNER_UP, noise=[2.0])  # the baseline's values, 1312 once
    result = toy.runner(client, n_trials=4, confirm=2, rerank=3).run()
    assert result.confirm is not None
    ranking = result.confirm["rerank"]
    assert [c["trial"] for c in ranking["candidates"]] == [2, 3]
    assert (ranking["best_single"], ranking["crowned"]) == (1, 2)
    assert result.confirm["best_config"] == {"workers": "6", "cache": "512", "mode": "very fast", "ratio": "0.3"}


def test_a_failed_re_measurement_is_recorded_and_the_others_go_on(toy: Toy) -> None:
    client = lucky_study(toy, LUCKY, STEADY, RUNNER_UP, noise=[1.3, 1.0, 1.0, "fail"])
    result = toy.runner(client, n_trials=4, confirm=2, rerank=3).run()
    assert result.confirm is not None
    ranking = result.confirm["rerank"]
    assert [f["trial"] for f in ranking["failures"]] == [1]
    assert "benchmark exited with status 3" in ranking["failures"][0]["reason"]
    assert [c["samples"] for c in ranking["candidates"]] == [[], [1060.0], [1050.0]]
    assert ranking["crowned"] == 2 and result.confirm["best_trial"] == 2
    assert toy.log("bench.log") == ["bench"] * (1 + 3 + 3 + 4)


def test_a_resumed_run_reuses_the_stored_re_ranking_and_confirmation(toy: Toy) -> None:
    client = lucky_study(toy, LUCKY, STEADY, RUNNER_UP, noise=[1.3])
    first = toy.runner(client, n_trials=4, confirm=2, rerank=2).run().confirm
    benches = len(toy.log("bench.log"))
    again = toy.runner(client, n_trials=4, confirm=2, rerank=2).run().confirm
    assert again == first and len(toy.log("bench.log")) == benches  # measured once
    wider = toy.runner(client, n_trials=4, confirm=2, rerank=3).run().confirm  # other candidates: measured
    assert wider is not None and [c["trial"] for c in wider["rerank"]["candidates"]] == [1, 2, 3]
    assert len(toy.log("bench.log")) == benches + 3  # the confirmation of trial 2 is still current
    assert toy.conf() == ORIGINAL


def test_a_resumed_run_re_ranks_again_when_another_trial_has_the_best_single_measurement(toy: Toy) -> None:
    client = lucky_study(toy, LUCKY, STEADY, RUNNER_UP, noise=[1.3])
    toy.runner(client, n_trials=4, confirm=2, rerank=2).run()  # trial 2 crowned over trial 1
    benches = len(toy.log("bench.log"))
    toy.enqueue({"workers": 2, "cache": 128, "mode": "safe", "ratio": 0.5})  # the baseline's values
    (toy.root / "noise.txt").write_text("2.0\n")  # measured 1312 once: trial 4 the best single measurement
    result = toy.runner(client, n_trials=5, confirm=2, rerank=2, apply_best=True).run()
    assert result.confirm is not None
    ranking = result.confirm["rerank"]
    assert [c["trial"] for c in ranking["candidates"]] == [1, 2]  # the same candidates, measured again
    assert (ranking["best_single"], ranking["crowned"]) == (4, 2)
    assert len(toy.log("bench.log")) == benches + 1 + 2  # trial 4, the top 2; trial 2's confirmation is current
    summary = summarize(result)
    assert result.confirm["best_trial"] == 2 and summary.best is not None and summary.best.number == 2
    assert result.applied == "best configuration (trial 2, crowned over trial 4 by re-measuring the top trials)"


def test_a_run_stopped_before_confirming_a_new_best_leaves_no_older_crown_in_the_study_note(toy: Toy) -> None:
    client = lucky_study(toy, LUCKY, STEADY, RUNNER_UP, noise=[1.3])
    toy.runner(client, n_trials=4, confirm=2, rerank=2).run()  # trial 2 crowned over trial 1, confirmed
    toy.enqueue(RUNNER_UP)
    (toy.root / "noise.txt").write_text("1.2\n")  # measured 1260 once: trial 4 the best single measurement
    runner = Runner(load_server(toy.server_path), load_client(toy.client_path(client)),
                    toy.config(n_trials=6, confirm=2, rerank=2),
                    on_trial=lambda report: runner.stop("SIGTERM"))  # stopped after trial 4, as by Ctrl-C
    result = runner.run()
    assert result.interrupted == "SIGTERM" and result.confirm is None
    assert toy.study().user_attrs[STUDY_CONFIRM]["best_trial"] == 2  # kept as it was for the resumed run
    note = optuna_dashboard.get_note(toy.study())
    assert "**Best:** trial 4 (enqueued): rps=1260.00" in note
    # the stored record verified and crowned trial 2 when trial 1 had the best single measurement
    assert "**Verified gain:** not verified: the best and the baseline were each measured once" in note
    assert "crowned" not in note and summarize(result).confirm is None


@pytest.mark.timeout(120)
def test_a_stop_during_the_re_ranking_ends_it_and_a_resumed_run_measures_it_again(toy: Toy) -> None:
    client = lucky_study(toy, LUCKY, STEADY, RUNNER_UP, noise=[1.3])
    toy.runner(client, n_trials=4).run()  # the baseline and three trials: four benchmarks
    (toy.root / "hang_at").write_text("5\n")  # the first re-measurement hangs until stopped
    runner = toy.runner(client, n_trials=4, confirm=2, rerank=2)

    def stop_when_hanging() -> None:
        deadline = time.monotonic() + 60
        while not (toy.root / "hanging").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        runner.stop("SIGTERM")

    watcher = threading.Thread(target=stop_when_hanging)
    watcher.start()
    stopped = runner.run()
    watcher.join()
    assert stopped.interrupted == "SIGTERM" and toy.conf() == ORIGINAL
    assert stopped.confirm is not None and stopped.confirm["interrupted"] is True
    ranking = stopped.confirm["rerank"]
    assert ranking["interrupted"] is True and ranking["crowned"] == 1  # nothing decided
    assert ranking["failures"] == [{"trial": 1, "round": 1, "reason": "interrupted by SIGTERM"}]
    assert toy.log("bench.log") == ["bench"] * 5  # trial 2 was not measured, nor the confirmation
    resumed = toy.runner(client, n_trials=4, confirm=2, rerank=2).run().confirm
    assert resumed is not None and resumed["rerank"]["interrupted"] is False
    assert [c["samples"] for c in resumed["rerank"]["candidates"]] == [[875.0], [1060.0]]
    assert resumed["rerank"]["crowned"] == 2 and resumed["interrupted"] is False


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"confirm": 3, "rerank": 1},
     r"RunnerConfig.rerank must be 0 \(off\) or at least 2 configurations to compare, got 1"),
    ({"confirm": 3, "rerank": -2}, r"RunnerConfig.rerank must be 0 \(off\) or at least 2"),
    ({"rerank": 3}, r"RunnerConfig.rerank needs the confirmation.*set confirm to at least 2 \(e.g. 3\) or rerank "
                    r"to 0, got rerank=3 with confirm=0"),
    ({"confirm": 3, "rerank": 3, "rerank_repeats": 0},
     r"RunnerConfig.rerank_repeats must be at least 1 re-measurement per configuration, got 0"),
])
def test_the_re_ranking_settings_are_checked(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RunnerConfig(**kwargs)
