"""The start-up model: an LLM schedule's expected best@10 resampled from measured trial values."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from dataclasses import replace
from pathlib import Path

import pytest

from optbench.protocol import RunRecord
from optbench.startup import Pools, StartupModelError, compare_schedules, pools_from_runs, simulate
from optuna_llm_sampler import AdaptiveSchedule

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "startup_cost.py"


def record(arm: str, seed: int, values: list[float | None], sources: list[str]) -> RunRecord:
    return RunRecord(problem="p", arm=arm, seed=seed, trials=len(values), values=values, means=list(values),
                     sources=sources, objective_s=0.0, sampler_s=0.0, model_s=0.0, model_calls=0,
                     model_failures=0, seconds=0.0)


WHOLE_ROUNDS = AdaptiveSchedule(early_round_trials=None, early_on_evidence=False, score="earlier", model_first=True,
                                early_share=0.5)
"""Arm option ``+adaptive``: whole start-up rounds from trial 1, earlier-trial scores."""

MODEL_FIRST = {"model_first": True, "early_share": 0.5, "base_startup": None}
"""Arm option ``+one-shot``: the default's other start-up settings, its rounds from trial 1."""

TPE = ["baseline"] + ["tpe"] * 11
LLM = ["baseline", "llm", "llm", "TPESampler", "TPESampler", "llm", "llm"] + ["TPESampler"] * 5


def test_pools_split_the_models_first_round_from_its_later_ones_and_keep_only_the_start_up() -> None:
    runs = [record("tpe", 0, [1.0, *range(10, 21)], TPE),
            record("llm:x", 0, [1.0, 2.0, None, 30.0, 31.0, 5.0, 6.0, 32.0, 33.0, 34.0, 99.0, 99.0], LLM)]
    pools = pools_from_runs(runs, "llm:x")
    assert pools.base == [(float(v), float(v)) for v in range(10, 19)]  # trials 1-9; 10+ is past the start-up
    assert pools.first == [(2.0, 2.0)]  # trial 2 failed: no value
    assert pools.later == [(5.0, 5.0), (6.0, 6.0)]
    assert pools.baselines == [(1.0, 1.0), (1.0, 1.0)]


def exact(*values: float) -> list[tuple[float, float]]:
    """Trials without noise: observed as they are."""
    return [(v, v) for v in values]


def test_the_incumbent_is_the_best_observed_trial_and_counts_at_its_noise_free_value() -> None:
    # Draw 1 looks best (observed 9) but is truly 2: best@10 is 2 whenever it is drawn.
    pools = Pools(baselines=exact(0.0), base=[(9.0, 2.0)], first=exact(-1.0), later=exact(-1.0))
    bests, _ = simulate(AdaptiveSchedule(), pools, draws=50)
    assert set(bests) == {2.0}


def test_a_missing_pool_is_refused_naming_the_arm_and_the_fix() -> None:
    with pytest.raises(StartupModelError, match=r"no first-round start-up values for arm 'llm:x'.*compare.py"):
        pools_from_runs([record("tpe", 0, [1.0, *range(10, 21)], TPE)], "llm:x")


def test_a_model_worse_than_every_draw_costs_and_one_better_than_every_draw_earns() -> None:
    schedules = {"whole rounds": WHOLE_ROUNDS, "none early": AdaptiveSchedule(early_share=0.0)}
    worse = Pools(baselines=exact(0.0), base=exact(1.0, 2.0), first=exact(-5.0), later=exact(-5.0))
    by = {o.schedule: o for o in compare_schedules(schedules, worse, draws=4000)}
    # Four model trials leave five draws from {1, 2}: all five are 1 one time in 32, nine 1 in 512.
    assert by["whole rounds"].model_trials == 4
    assert by["whole rounds"].difference[0] == pytest.approx(-(1 / 32 - 1 / 512), abs=0.02)
    assert by["none early"].model_trials == 0 and by["none early"].difference[0] == pytest.approx(0.0, abs=0.01)
    better = Pools(baselines=exact(0.0), base=exact(1.0, 2.0), first=exact(10.0), later=exact(10.0))
    earned = compare_schedules({"whole rounds": WHOLE_ROUNDS}, better, draws=4000)[0].difference[0]
    assert earned == pytest.approx(10.0 - (2.0 - 1 / 512), abs=0.02)
    # The default gives the model one start-up trial, trial 7, whether it then loses or wins.
    default = {"default": AdaptiveSchedule()}
    assert compare_schedules(default, worse, draws=500)[0].model_trials == 1
    assert compare_schedules(default, better, draws=500)[0].model_trials == 1
    # +one-shot keeps one start-up trial from a model that loses and two from one that wins.
    model_first = {"model first": AdaptiveSchedule(**MODEL_FIRST)}
    assert compare_schedules(model_first, worse, draws=500)[0].model_trials == 1
    assert compare_schedules(model_first, better, draws=500)[0].model_trials == 2


def test_the_real_schedule_decides_on_what_was_drawn() -> None:
    # A first round that loses to the baseline loses the early share with early_on_evidence.
    pools = Pools(baselines=exact(5.0), base=exact(6.0, 7.0), first=exact(1.0), later=exact(1.0))
    _, plain = simulate(WHOLE_ROUNDS, pools, draws=200)
    _, ruled = simulate(AdaptiveSchedule(early_round_trials=None, early_on_evidence=True, score="earlier",
                                         **MODEL_FIRST), pools, draws=200)
    assert set(plain) == {4} and set(ruled) == {2}


def test_the_script_prints_the_schedule_as_run_beside_what_was_measured(tmp_path: Path) -> None:
    runs = tmp_path / "runs.jsonl"
    lines = []
    for seed in range(3):
        lines.append(record("tpe", seed, [1.0, *(10.0 + seed + k for k in range(11))], TPE))
        lines.append(record("llm:random+write", seed, [1.0, 2.0, 3.0, 12.0, 13.0, 4.0, 5.0, 14.0, 15.0, 16.0, 17.0, 18.0], LLM))
    runs.write_text("".join(json.dumps(asdict(r)) + "\n" for r in lines))
    out = subprocess.run([sys.executable, str(SCRIPT), "--runs", str(runs), "--model-arm", "llm:random+write",
                          "--early-shares", "0,0.25", "--draws", "500"], capture_output=True, text=True, check=True).stdout
    assert "| llm:random+write (as run) |" in out and "| early_share=0.25 |" in out
    assert "Measured, llm:random+write against tpe at trial 10 over 3 seeds" in out
    bad = subprocess.run([sys.executable, str(SCRIPT), "--runs", str(runs), "--model-arm", "llm:other"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "no first-round start-up values for arm 'llm:other'" in bad.stderr


def test_the_script_models_the_schedule_the_runs_recorded_when_the_default_has_changed_since(tmp_path: Path) -> None:
    one_shot = AdaptiveSchedule(**MODEL_FIRST)  # +one-shot's schedule, recorded as the bare arm's
    runs = tmp_path / "runs.jsonl"
    lines = []
    for seed in range(3):
        lines.append(record("tpe", seed, [1.0, *(10.0 + seed + k for k in range(11))], TPE))
        ran = record("llm:random", seed, [1.0, 2.0, 3.0, 12.0, 13.0, 4.0, 5.0, 14.0, 15.0, 16.0, 17.0, 18.0], LLM)
        lines.append(replace(ran, settings=f"schedule={one_shot!r}, choose=Choose(candidates=4)"))
    runs.write_text("".join(json.dumps(asdict(r)) + "\n" for r in lines))
    args = [sys.executable, str(SCRIPT), "--runs", str(runs), "--model-arm", "llm:random", "--draws", "500"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    assert "| llm:random (as run: +one-shot's schedule, a default when they ran) |" in out
    # A schedule no option builds any more is refused, naming what the runs recorded.
    odd = AdaptiveSchedule(**MODEL_FIRST, floor=0.2)
    runs.write_text(runs.read_text().replace(repr(one_shot), repr(odd)))
    bad = subprocess.run(args, capture_output=True, text=True)
    assert bad.returncode == 2 and "floor=0.2" in bad.stderr and "no arm option builds" in bad.stderr


def test_a_model_arm_with_one_start_up_round_lends_its_values_to_later_rounds() -> None:
    pools = Pools(baselines=exact(0.0), base=exact(1.0), first=exact(3.0), later=[])
    bests, counts = simulate(AdaptiveSchedule(early_share=1.0, early_round_trials=None), pools, draws=20)
    assert set(counts) == {8} and set(bests) == {3.0}


def test_the_model_takes_the_trials_the_schedule_gives_it_scored_as_it_scores_them() -> None:
    # A first round better than the baseline and worse than every draw.
    pools = Pools(baselines=exact(0.0), base=exact(6.0, 7.0), first=exact(1.0), later=exact(1.0))
    _, singles = simulate(AdaptiveSchedule(early_round_trials=1, early_on_evidence=False, score="earlier",
                                           **MODEL_FIRST), pools, draws=50)
    _, earlier = simulate(AdaptiveSchedule(early_round_trials=1, early_on_evidence=True, score="earlier",
                                           **MODEL_FIRST), pools, draws=50)
    _, pooled = simulate(AdaptiveSchedule(early_round_trials=1, early_on_evidence=True, score="pooled",
                                          **MODEL_FIRST), pools, draws=50)
    assert set(singles) == {2}  # trials 1 and 5
    # Against the trials before it, its first trial beat all there was (the baseline): it often
    # keeps trial 5.
    assert 2 in set(earlier)
    assert set(pooled) == {1}  # against the whole field it is behind: trial 5 goes to TPE
