"""``benchmarks/paired.py``: paired differences per range of seeds, between any two arms, and
the trials to a share of each seed's best, re-read from a ``compare.py`` folder."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from optbench.protocol import RunRecord
from optbench.summary import Curves
from paired import curves_of, main, paired_row, parse_ranges, seed_best_table


def paired_at(curves: Curves, arm: str, other: str, k: int, seeds: range | None,
              maximize: bool) -> tuple[float, float, int]:
    """best@``k``'s entry of :func:`paired_row`: mean, standard error and seeds."""
    row, n = paired_row(curves, arm, other, seeds, maximize)
    return (*row[k - 1], n)


def record(arm: str, seed: int, values: list[float]) -> RunRecord:
    """A noise-free run (measured = true value) of ``len(values)`` trials, trial 0 the baseline."""
    return RunRecord(problem="p", arm=arm, seed=seed, trials=len(values), values=values, means=values,
                     sources=["baseline"] + ["x"] * (len(values) - 1), objective_s=0.0, sampler_s=0.0,
                     model_s=0.0, model_calls=0, model_failures=0, seconds=0.0)


# Seeds 0 and 1: arm "a" is 10 ahead of "ref" from trial 2 on; seeds 2 and 3: 10 behind.
RUNS = [
    record("ref", 0, [1.0, 50.0, 60.0, 70.0]), record("a", 0, [1.0, 50.0, 70.0, 80.0]),
    record("ref", 1, [1.0, 40.0, 50.0, 60.0]), record("a", 1, [1.0, 40.0, 60.0, 70.0]),
    record("ref", 2, [1.0, 50.0, 60.0, 70.0]), record("a", 2, [1.0, 50.0, 50.0, 60.0]),
    record("ref", 3, [1.0, 40.0, 50.0, 60.0]), record("a", 3, [1.0, 40.0, 40.0, 50.0]),
    record("b", 0, [1.0, 50.0, 60.0, 70.0]),
]


def test_a_range_of_seeds_keeps_only_its_seeds_and_pairs_only_seeds_both_arms_ran() -> None:
    curves = curves_of(RUNS, maximize=True)
    assert paired_at(curves, "a", "ref", 4, range(0, 2), True)[::2] == (10.0, 2)
    assert paired_at(curves, "a", "ref", 4, range(2, 4), True)[::2] == (-10.0, 2)
    assert paired_at(curves, "a", "ref", 4, None, True)[::2] == (0.0, 4)
    assert paired_at(curves, "a", "ref", 2, None, True)[::2] == (0.0, 4)  # level before trial 2
    assert paired_at(curves, "b", "a", 4, None, True)[::2] == (-10.0, 1)  # seed 0 only


def test_evaluated_compares_the_best_configuration_tried_not_the_one_a_lucky_measurement_crowned() -> None:
    lucky = RunRecord(**{**asdict(record("a", 0, [1.0, 50.0, 40.0])), "values": [1.0, 50.0, 90.0]})
    runs = [record("ref", 0, [1.0, 45.0, 45.0]), lucky]  # a's trial 2 (worth 40) measured 90
    assert paired_at(curves_of(runs, True), "a", "ref", 3, None, True)[0] == -5.0  # crowned: 40
    assert paired_at(curves_of(runs, True, evaluated=True), "a", "ref", 3, None, True)[0] == 5.0  # tried: 50


def test_minimising_turns_the_sign_so_that_positive_is_still_better() -> None:
    curves = curves_of([record("ref", 0, [10.0, 8.0, 6.0]), record("a", 0, [10.0, 7.0, 5.0])], maximize=False)
    assert paired_at(curves, "a", "ref", 3, None, False)[0] == 1.0  # a's 5 beats ref's 6


def test_the_trials_to_a_share_of_each_seed_s_best_count_the_baseline_and_censor_at_trials_plus_one() -> None:
    curves = curves_of(RUNS[:4], maximize=True)
    table = seed_best_table(curves, ["ref", "a"], [0.9, 0.5], trials=4, maximize=True)
    # 90%: seed 0's best is 80 (a's), the target 72: ref never (5), a at trial 3, its 4th; seed 1:
    # best 70, target 63: ref never (5), a at trial 3 (4). 50%: 40 and 35, both at trial 1 (2).
    assert "| ref | 5.00 ± 0.00, 0/2 | 2.00 ± 0.00, 2/2 |" in table
    assert "| a | 4.00 ± 0.00, 2/2, ×0.80 | 2.00 ± 0.00, 2/2, ×1.00 |" in table


@pytest.mark.parametrize("text", ["5", "10-5", "a-b", "1-1"])
def test_a_range_is_first_end_with_first_below_end(text: str) -> None:
    with pytest.raises(ValueError, match="--seeds"):
        parse_ranges(text)


def folder(tmp_path: Path) -> Path:
    (tmp_path / "runs.jsonl").write_text("".join(json.dumps(asdict(r)) + "\n" for r in RUNS))
    (tmp_path / "results.json").write_text(json.dumps({"direction": "maximize"}))
    return tmp_path


def test_the_script_prints_one_block_of_rows_per_range_and_the_between_row(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(folder(tmp_path)), "--reference", "ref", "--arms", "a", "--at", "2,4",
                 "--seeds", "0-2,2-4", "--between", "a,ref"]) == 0
    out = capsys.readouterr().out
    # In brackets, in ref's standard errors: ref's 70 and 60 at trial 4 have a standard error of 5.
    assert "| 0–1 (2) | a | +0 ± 0 (+0.0) | +10 ± 0 (+2.0) |" in out
    assert "| 2–3 (2) | a | +0 ± 0 (+0.0) | -10 ± 0 (-2.0) |" in out
    assert "| 0–1 (2) | a minus ref | +0 ± 0 | +10 ± 0 |" in out


def test_an_arm_the_folder_lacks_is_named_with_the_arms_it_holds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([str(folder(tmp_path)), "--reference", "ref", "--arms", "nope"])
    assert "holds no runs of 'nope'; it holds a, b, ref" in capsys.readouterr().err
