"""Schedules are pure functions of the trial number that every worker evaluates alike."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
import pytest

from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import CallableSchedule
from optuna_llm_sampler import EveryKthSchedule
from optuna_llm_sampler import FirstNSchedule
from optuna_llm_sampler import ConfigError
from optuna_llm_sampler import TrialRole
from optuna_llm_sampler._policy._schedule import Schedule
from optuna_llm_sampler._policy._schedule import as_schedule


def roles(schedule: Schedule, n: int) -> str:
    letter = {TrialRole.LLM: "L", TrialRole.BASE: "B", TrialRole.BASELINE: "0"}
    return "".join(letter[schedule.role(i)] for i in range(n))


def test_default_is_baseline_then_two_llm_two_base_repeating() -> None:
    assert roles(as_schedule(None), 13) == "0LLBBLLBBLLBB"


def test_alternating_without_baseline_is_the_seed_experiments_i_mod_4() -> None:
    s = AlternatingSchedule(baseline_first=False)
    assert roles(s, 8) == "LLBBLLBB"
    assert all((s.role(i) is TrialRole.LLM) == (i % 4 in (0, 1)) for i in range(100))


def test_alternating_rounds_are_the_llm_blocks() -> None:
    s = AlternatingSchedule(llm=3, base=1)
    assert roles(s, 9) == "0LLLBLLLB"
    assert s.round_of(2) == range(1, 4)
    assert s.round_of(7) == range(5, 8)
    assert s.round_of(4) is None
    assert s.round_of(0) is None


def test_every_kth() -> None:
    assert roles(EveryKthSchedule(3), 10) == "0BBLBBLBBL"
    assert roles(EveryKthSchedule(1, baseline_first=False), 4) == "LLLL"
    assert EveryKthSchedule(3).round_of(6) == range(6, 7)


def test_first_n_in_rounds() -> None:
    s = FirstNSchedule(5, round_size=2)
    assert roles(s, 9) == "0LLLLLBBB"
    assert [s.round_of(i) for i in (1, 2, 3, 5)] == [range(1, 3), range(1, 3), range(3, 5), range(5, 6)]


def test_callable_accepts_roles_strings_and_bools() -> None:
    assert roles(CallableSchedule(lambda n: n % 3 == 0), 6) == "LBBLBB"
    assert roles(CallableSchedule(lambda n: "baseline" if n == 0 else "LLM"), 3) == "0LL"
    assert roles(CallableSchedule(lambda n: TrialRole.BASE), 2) == "BB"
    assert roles(as_schedule(lambda n: n >= 2), 4) == "BBLL"


def test_callable_rounds_are_cut_at_max_round_size() -> None:
    s = CallableSchedule(lambda n: 3 <= n < 12, max_round_size=4)
    assert s.round_of(3) == range(3, 7)
    assert s.round_of(8) == range(7, 11)
    assert s.round_of(11) == range(11, 12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: AlternatingSchedule(llm=0, base=0),
        lambda: AlternatingSchedule(llm=-1),
        lambda: EveryKthSchedule(0),
        lambda: FirstNSchedule(2, round_size=0),
        lambda: CallableSchedule("llm"),  # type: ignore[arg-type]
        lambda: as_schedule(3),  # type: ignore[arg-type]
    ],
)
def test_invalid_arguments_raise_naming_them(make) -> None:
    with pytest.raises(ConfigError):
        make()


def test_callable_returning_nonsense_raises_naming_the_trial() -> None:
    with pytest.raises(ConfigError, match="trial 4"):
        CallableSchedule(lambda n: 42).role(4)  # type: ignore[arg-type,return-value]


SCHEDULES = st.one_of(
    st.builds(AlternatingSchedule, st.integers(0, 4), st.integers(1, 4), baseline_first=st.booleans()),
    st.builds(EveryKthSchedule, st.integers(1, 5), baseline_first=st.booleans()),
    st.builds(FirstNSchedule, st.integers(0, 9), round_size=st.integers(1, 4)),
    st.builds(
        CallableSchedule,
        st.sampled_from([lambda n: n % 5 < 3, lambda n: n > 4, lambda n: bin(n).count("1") % 2 == 0]),
        max_round_size=st.integers(1, 4),
    ),
)


@given(SCHEDULES, st.integers(0, 200))
def test_a_round_is_a_contiguous_block_of_llm_trials_that_contains_the_trial(s, n) -> None:
    r = s.round_of(n)
    if s.role(n) is not TrialRole.LLM:
        assert r is None
        return
    assert n in r
    assert 1 <= len(r) <= max(s.max_round_size, 1)
    assert all(s.role(m) is TrialRole.LLM for m in r)
    # Every member of the round agrees on it: one owner per round.
    assert all(s.round_of(m) == r for m in r)


@given(SCHEDULES, st.lists(st.integers(0, 200), max_size=20))
def test_answers_do_not_depend_on_the_order_of_questions(s, numbers) -> None:
    first = [(s.role(n), s.round_of(n)) for n in numbers]
    assert [(s.role(n), s.round_of(n)) for n in reversed(numbers)] == first[::-1]
