"""From runs to evidence: the incumbent's true value, mean ± SE, ranks and the 95% target."""

from __future__ import annotations

import math

import pytest

from optbench.protocol import RunRecord
from optbench.summary import against_peers, against_reference, by_source_table, chosen_and_written, incumbent_curve, markdown_table, paired_differences, plot_against, summarize, target_of, trial_values_by_source, trials_to_levels


def run(arm: str, seed: int, values: list[float | None], means: list[float | None] | None = None) -> RunRecord:
    means = means if means is not None else list(values)
    return RunRecord(problem="p", arm=arm, seed=seed, trials=len(values), values=values, means=means,
                     sources=["baseline"] + [arm] * (len(values) - 1), objective_s=0.0, sampler_s=0.0,
                     model_s=0.0, model_calls=0, model_failures=0, seconds=0.0)


def test_a_lucky_noise_draw_is_not_progress() -> None:
    # trial 2 observed 90 but is truly 20; trial 3 observed 80 and truly 70
    r = run("a", 0, [10.0, 50.0, 90.0, 80.0], [10.0, 45.0, 20.0, 70.0])
    assert incumbent_curve(r, maximize=True) == [10.0, 45.0, 20.0, 20.0]


def test_without_noise_free_values_the_observed_best_counts() -> None:
    r = run("a", 0, [10.0, None, 30.0, 20.0], [None, None, None, None])
    assert incumbent_curve(r, maximize=True) == [10.0, 10.0, 30.0, 30.0]
    assert incumbent_curve(run("b", 0, [5.0, 3.0, 4.0]), maximize=False) == [5.0, 3.0, 3.0]


def test_means_standard_errors_ranks_and_reaching_the_target() -> None:
    runs = [run("good", 0, [1.0, 5.0, 10.0]), run("good", 1, [1.0, 9.0, 9.0]),
            run("bad", 0, [1.0, 2.0, 3.0]), run("bad", 1, [1.0, 9.0, 9.0])]
    good, bad = summarize(runs, True, best_known=10.0, baseline=1.0)
    assert good.at[3][0] == pytest.approx(9.5) and good.at[3][1] == pytest.approx(0.5)
    assert good.rank == pytest.approx(1.25) and bad.rank == pytest.approx(1.75)  # a tie shares 1.5
    assert good.reached == 1 and bad.reached == 0  # 95% of 10 is 9.5: only good's seed 0 gets there...
    assert good.to_target[0] == pytest.approx((3 + 4) / 2)  # ...and counts as trials + 1
    assert good.gain_pct[0] == pytest.approx(850.0)


def test_the_target_is_95_percent_of_a_positive_best_else_of_the_way_there() -> None:
    assert target_of(100.0, 10.0, maximize=True) == pytest.approx(95.0)
    assert target_of(-300.0, 10.0, maximize=False) == pytest.approx(10.0 - 0.95 * 310.0)


def test_the_table_names_stand_ins_as_not_models() -> None:
    runs = [run("tpe", 0, [1.0, 2.0]), run("llm:random", 0, [1.0, 3.0])]
    table = markdown_table("p", summarize(runs, True, 3.0, 1.0), 2, 3.0, 1.0, True)
    assert "llm:random (stand-in, not a model)" in table
    assert not math.isnan(summarize(runs, True, 3.0, 1.0)[0].rank)


def test_each_arm_is_set_against_tpe_in_its_standard_errors_and_paired_by_seed() -> None:
    # Minimise. "arm" is worse than tpe by 1 on every seed at the end: the means are 1.0 apart
    # while tpe's standard error is large (seeds differ a lot), so only the paired figure is sure.
    tpe_ends = [10.0, 20.0, 30.0, 40.0]
    runs = [run("tpe", s, [50.0, e]) for s, e in enumerate(tpe_ends)]
    runs += [run("arm", s, [50.0, e + 1.0]) for s, e in enumerate(tpe_ends)]
    summaries = summarize(runs, False, best_known=10.0, baseline=50.0)
    text = against_reference(runs, summaries, "tpe", maximize=False)
    row = text.splitlines()[-1]
    tpe_se = summaries[0].at[2][1]
    assert f"{-1.0 / tpe_se:+.1f} (-1 ± 0)" in row and "✗" not in row
    assert against_reference(runs, summaries, "gp", maximize=False) == ""


def test_an_arm_behind_by_more_than_one_standard_error_is_marked() -> None:
    runs = [run("tpe", s, [0.0, 5.0 + s]) for s in range(4)]
    runs += [run("arm", s, [0.0, 2.0 + s]) for s in range(4)]  # maximise: 3 lower everywhere
    summaries = summarize(runs, True, best_known=8.0, baseline=0.0)
    row = against_reference(runs, summaries, "tpe", maximize=True).splitlines()[-1]
    assert "✗ (-3 ± 0)" in row


def test_paired_differences_are_per_trial_over_the_seeds_both_arms_ran() -> None:
    # Minimise: "arm" is 1 better than tpe at trial 1 on seed 0 and 3 better on seed 1; seed 2
    # has no tpe run and is left out.
    runs = [run("tpe", 0, [9.0, 5.0]), run("tpe", 1, [9.0, 7.0]),
            run("arm", 0, [9.0, 4.0]), run("arm", 1, [9.0, 4.0]), run("arm", 2, [9.0, 0.0])]
    diffs = paired_differences(runs, "tpe", maximize=False)
    assert list(diffs) == ["arm"]
    assert diffs["arm"][0] == (0.0, 0.0)
    assert diffs["arm"][1][0] == pytest.approx(2.0) and diffs["arm"][1][1] == pytest.approx(1.0)


def test_the_plot_against_tpe_is_written(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    runs = [run("tpe", s, [9.0, 5.0 + s]) for s in range(3)] + [run("llm:random", s, [9.0, 4.0]) for s in range(3)]
    plot_against(tmp_path / "against-tpe.png", "p", runs, "tpe", maximize=False)
    assert (tmp_path / "against-tpe.png").read_bytes().startswith(b"\x89PNG")


def test_trials_are_valued_by_who_proposed_them_in_the_start_up_and_after() -> None:
    model = RunRecord(problem="p", arm="llm:random", seed=0, trials=6,
                      values=[1.0, 2.0, None, 8.0, 5.0, 7.0], means=[1.0, 3.0, None, 6.0, 5.0, 9.0],
                      sources=["baseline", "llm", "llm", "TPESampler", "llm", "TPESampler"],
                      objective_s=0.0, sampler_s=0.0, model_s=0.0, model_calls=2, model_failures=0, seconds=0.0)
    groups = {(arm, w, who): xs for arm, w, who, xs in trial_values_by_source([model], split=4)}
    # The baseline and the failed trial 2 are left out; noise-free values count where known.
    assert groups == {("llm:random", "trials 1-3", "model"): [3.0],
                      ("llm:random", "trials 1-3", "base sampler"): [6.0],
                      ("llm:random", "trials 4+", "model"): [5.0],
                      ("llm:random", "trials 4+", "base sampler"): [9.0]}
    table = by_source_table([run("tpe", 0, [1.0, 2.0, 4.0, 6.0, 8.0, 9.0]), model], split=4)
    assert "| llm:random (stand-in, not a model) | 3 ± – (1) | 6 ± – (1) | 5 ± – (1) | 9 ± – (1) |" in table
    assert "| tpe | – | 4 ± 1.2 (3) | – | 8.5 ± 0.5 (2) |" in table


def test_the_models_late_trials_are_split_into_chosen_and_written() -> None:
    model = RunRecord(problem="p", arm="llm:random", seed=0, trials=6,
                      values=[1.0, 2.0, 3.0, 8.0, 5.0, 7.0], means=[1.0, 3.0, 4.0, 6.0, 5.0, 9.0],
                      sources=["baseline", "llm", "llm", "llm", "llm", "llm"],
                      objective_s=0.0, sampler_s=0.0, model_s=0.0, model_calls=2, model_failures=0, seconds=0.0,
                      chosen=[1, 4, 5])
    text = chosen_and_written([model], split=3)
    # Trial 1 was chosen but lies in the start-up: only trials 3-5 count.
    assert "- llm:random (stand-in, not a model): chose 2 worth 7 ± 2; wrote 1 worth 6 ± –" in text
    # Runs recorded before chosen trials were kept say nothing rather than "wrote" everything.
    assert chosen_and_written([run("llm:random", 0, [1.0, 2.0, 3.0, 4.0])], split=2) == ""


def test_without_model_trials_there_is_no_table_of_sources() -> None:
    assert by_source_table([run("tpe", 0, [1.0, 2.0, 3.0])]) == ""


def test_an_arm_run_on_fewer_seeds_is_set_against_the_reference_on_those_seeds() -> None:
    # tpe's seeds 2-3 end far worse; the arm ran seeds 0-1 only and is level with tpe there.
    runs = [run("tpe", s, [50.0, e]) for s, e in enumerate([10.0, 12.0, 40.0, 44.0])]
    runs += [run("arm", s, [50.0, e]) for s, e in enumerate([10.0, 12.0])]
    summaries = summarize(runs, False, best_known=10.0, baseline=50.0)
    row = against_reference(runs, summaries, "tpe", maximize=False).splitlines()[-1]
    assert row.startswith("| arm | +0.0 (0 ± 0)") and "✗" not in row


def test_trials_to_each_share_of_the_best_known_value_are_counted_against_tpe() -> None:
    # best known 100, baseline 10: the 70% level is 70, the 95% level 95.
    runs = [run("tpe", 0, [10, 20, 72, 80]), run("tpe", 1, [10, 30, 40, 75]),
            run("llm:x", 0, [10, 75, 80, 100]), run("llm:x", 1, [10, 71, 96, 97])]
    table = trials_to_levels(runs, 4, 100.0, 10.0, True, levels=(0.7, 0.95))
    header, _, tpe, model = table.splitlines()[2:]
    assert "70% (70)" in header and "95% (95)" in header
    # tpe: 70 at trials 3 and 4 (mean 3.5); 95 never (counted as 5, a lower bound).
    assert "| 3.5 ± 0.5, median 3.5, 2/2 | 5 ± 0, median 5, 0/2 |" in tpe
    # llm:x: 70 at trial 2 twice, half of tpe's 3.5 trials; 95 at trials 4 and 3.
    assert "2 ± 0, median 2, 2/2, ×0.57" in model
    assert "3.5 ± 0.5, median 3.5, 2/2, ×0.70" in model
    assert trials_to_levels([r for r in runs if r.arm != "tpe"], 4, 100.0, 10.0, True) == ""


def test_each_arm_is_set_against_the_peer_it_is_furthest_behind_not_the_one_with_the_best_mean() -> None:
    # p1 has the best mean on wide spread, p2 a lower mean on a narrow one: x is within one of
    # p1's standard errors and many of p2's behind.
    at_2 = {"p1": [10.0, 30.0, 10.0, 30.0], "p2": [18.0, 18.5, 18.0, 18.5], "x": [17.0] * 4}
    runs = [run(arm, seed, [0.0, v]) for arm, values in at_2.items() for seed, v in enumerate(values)]
    summaries = summarize(runs, True, best_known=30.0, baseline=0.0)
    table = against_peers(runs, summaries, ["p1", "p2"], maximize=True)
    rows = [line for line in table.splitlines() if line.startswith("| x")]
    assert rows == ["| x | -8.7 ✗ `p2` (-1.25 ± 0.14, 4 seeds) |"]
    assert against_peers(runs, summaries, ["smac"], maximize=True) == ""
