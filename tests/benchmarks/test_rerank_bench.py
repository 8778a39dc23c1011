"""``benchmarks/rerank.py``: which configuration each policy crowns, what it costs, and the table."""

from __future__ import annotations

import pytest

from rerank import Plan, Run, candidates, crown_single, main, parse_plans, rerank


def run(keys: list[str], observed: list[float]) -> Run:
    return Run(keys, [{"k": k} for k in keys], observed)


# trial 0 the baseline; x measured twice (90, 85); b, the baseline's configuration, once more (200)
TRIALS = run(["b", "x", "y", "x", "z", "b"], [60.0, 90.0, 80.0, 85.0, 70.0, 200.0])


def test_the_candidates_skip_the_baseline_s_configuration_and_repeats() -> None:
    assert crown_single(TRIALS, 6, maximize=True) == 5
    assert candidates(TRIALS, 6, 3, maximize=True) == [1, 2, 4]
    assert candidates(TRIALS, 6, 2, maximize=False) == [4, 2]


def test_the_mean_of_all_counts_every_measurement_of_a_configuration_fresh_only_the_new_ones() -> None:
    fresh = [[75.0], [76.0]]  # x again 75, y again 76
    plan = Plan(2, 1)
    # x: (90 + 85 + 75) / 3 = 83.3 beats y: (80 + 76) / 2 = 78; afresh y's 76 beats x's 75
    assert rerank(TRIALS, 5, plan, True, fresh, with_earlier=True) == (1, 2)
    assert rerank(TRIALS, 5, plan, True, fresh, with_earlier=False) == (2, 2)


def test_nothing_is_re_measured_when_the_baseline_measured_best_but_a_repeat_of_it_is_re_ranked() -> None:
    assert rerank(TRIALS, 6, Plan(2, 1), True, [[75.0], [76.0]], with_earlier=True) == (1, 2)
    baseline_best = run(["b", "x", "y"], [100.0, 90.0, 80.0])
    assert rerank(baseline_best, 3, Plan(2, 1), True, [[500.0], [500.0]], with_earlier=True) == (0, 0)


@pytest.mark.parametrize("text", ["3", "1x1", "3x0", "ax1", ""])
def test_a_plan_is_k_x_r_with_at_least_two_candidates(text: str) -> None:
    with pytest.raises(ValueError, match="--plans"):
        parse_plans(text)


def test_the_script_prints_its_command_and_a_row_per_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seeds", "2", "--trials", "6", "--plans", "2x1", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("$ .venv/bin/python benchmarks/rerank.py --seeds 2 --trials 6 --plans 2x1 --jobs 1\n")
    for policy in ("best single", "top 2 × 1, mean of all", "top 2 × 1, fresh only", "6 + 2 trials"):
        assert out.count(f"| {policy} |") == 2  # one row in each sampler's table
