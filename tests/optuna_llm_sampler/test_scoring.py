"""Scoring the finished trials: a running tally gives the same totals as a pass over the history."""

from __future__ import annotations

import datetime
import random

from optuna.study import StudyDirection
from optuna.trial import FrozenTrial
from optuna.trial import TrialState
import pytest

from optuna_llm_sampler._policy._scoring import scores
from optuna_llm_sampler._policy._scoring import Tally
from optuna_llm_sampler.attrs import ATTR_CHOICE
from optuna_llm_sampler.attrs import ATTR_SOURCE


NOW = datetime.datetime(2026, 1, 1)
MAXIMIZE = [StudyDirection.MAXIMIZE]


def trial(number: int, state: TrialState, value: float | None = None, **user_attrs: object) -> FrozenTrial:
    finished = state is not TrialState.RUNNING
    return FrozenTrial(
        number=number,
        state=state,
        value=value if state is TrialState.COMPLETE else None,
        datetime_start=NOW,
        datetime_complete=NOW if finished else None,
        params={},
        distributions={},
        user_attrs=user_attrs,
        system_attrs={},
        intermediate_values={},
        trial_id=number,
    )


def history(seed: int, n: int) -> list[FrozenTrial]:
    """Trials of every kind: the baseline, the model's (written and picked), the base
    sampler's, enqueued ones; complete (with ties and a NaN), failed, pruned, still running."""
    rng = random.Random(seed)
    trials = [trial(0, TrialState.COMPLETE, 5.0, **{ATTR_SOURCE: "baseline"})]
    for number in range(1, n):
        source = rng.choice(["llm", "llm-picked", "TPESampler", None, "enqueued"])
        attrs: dict[str, object] = {}
        if source == "llm-picked":
            attrs = {ATTR_SOURCE: "llm", ATTR_CHOICE: 2}
        elif source is not None:
            attrs = {ATTR_SOURCE: source}
        state = rng.choices(
            [TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.RUNNING], [12, 2, 1, 1]
        )[0]
        value = rng.choice([float(rng.randint(0, 9)), rng.random() * 10, float("nan")])
        trials.append(trial(number, state, value, **attrs))
    return trials


def totals(lists: tuple[list[float], ...]) -> list[tuple[int, float]]:
    return [(len(scores), pytest.approx(sum(scores), abs=1e-9)) for scores in lists]


@pytest.mark.parametrize("pooled", [True, False])
@pytest.mark.parametrize("base_since", [0, 10])
@pytest.mark.parametrize("seed", range(6))
def test_a_tally_kept_from_block_to_block_totals_what_a_pass_over_the_history_scores(
    pooled: bool, base_since: int, seed: int
) -> None:
    final = history(seed, 80)
    # Each trial runs on for a few blocks (several workers): at each block, some below it still run.
    lag = [random.Random(seed + n).choice([0, 0, 0, 2, 5, 9]) for n in range(80)]
    kept = Tally(MAXIMIZE, pooled=pooled, base_since=base_since)
    for block in range(1, 81, 2):
        trials = [t if t.number + lag[t.number] < block else trial(t.number, TrialState.RUNNING) for t in final]
        tally, kept = kept.advance(trials, block)
        got = tally.totals()
        expected = scores(trials, MAXIMIZE, before=block, pooled=pooled, base_since=base_since)
        assert [got["llm"], got["written"], got["base"]] == totals(expected), block


def test_the_tally_kept_stops_before_a_running_trial_and_takes_it_once_it_has_finished() -> None:
    running = [trial(0, TrialState.COMPLETE, 1.0), trial(1, TrialState.RUNNING), trial(2, TrialState.COMPLETE, 3.0)]
    tally, kept = Tally(MAXIMIZE, pooled=True).advance(running, 3)
    assert kept.upto == 1  # Trial 1 may finish before the next block.
    assert tally.totals()["base"] == (2, 1.0)  # 3.0 beats 1.0, which beats nothing.

    finished = [running[0], trial(1, TrialState.COMPLETE, 2.0), running[2]]
    tally, kept = kept.advance(finished, 3)
    assert kept.upto == 3
    assert tally.totals()["base"] == totals(scores(finished, MAXIMIZE, before=3, pooled=True))[2]
    assert tally.totals()["base"] == (3, 1.5)  # 1.0, 0.5 and 0.0 of the other two beaten.


def test_advancing_changes_neither_the_tally_nor_the_trials() -> None:
    trials = history(0, 30)
    start = Tally(MAXIMIZE, pooled=True)
    start.advance(trials, 30)
    assert start.upto == 0 and start.totals()["base"] == (0, 0.0)


def test_several_objectives_score_nothing() -> None:
    trials = history(1, 20)
    tally, _ = Tally([StudyDirection.MINIMIZE] * 2, pooled=True).advance(trials, 20)
    assert tally.totals() == {"llm": (0, 0.0), "written": (0, 0.0), "base": (0, 0.0)}


def test_a_list_in_another_order_is_read_in_number_order() -> None:
    trials = history(2, 40)
    shuffled = trials[:]
    random.Random(0).shuffle(shuffled)
    in_order, _ = Tally(MAXIMIZE, pooled=False).advance(trials, 40)
    shuffled_tally, _ = Tally(MAXIMIZE, pooled=False).advance(shuffled, 40)
    assert shuffled_tally.totals() == in_order.totals()
