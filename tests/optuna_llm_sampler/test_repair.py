"""Repairs fit every candidate value into its distribution and record what they changed."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution

from optuna_llm_sampler._proposal._parse import Candidate
from optuna_llm_sampler._proposal._repair import repair_candidates


SPACE = {
    "n": IntDistribution(1, 64),
    "stepped": IntDistribution(128, 4096, step=128),
    "logint": IntDistribution(4, 4096, log=True),
    "f": FloatDistribution(0.0, 1.0),
    "fstep": FloatDistribution(0.5, 10.0, step=0.5),
    "flog": FloatDistribution(1e-5, 1e-1, log=True),
    "mode": CategoricalDistribution(["fast", "safe", 3, 2.5, None]),
}


def one(params: dict[str, Any], space=SPACE, evaluated=()):
    result = repair_candidates([Candidate(params, "why")], space, evaluated)
    repairs = {}
    for p in result.proposals:
        for r in p.repairs:
            repairs.setdefault(r.param, []).append(r.kind)
    return result, repairs


def params_of(result) -> dict[str, Any]:
    assert len(result.proposals) == 1, result.rejected
    return result.proposals[0].params


def test_valid_values_pass_untouched_and_unrecorded() -> None:
    given_params = {"n": 3, "stepped": 256, "logint": 16, "f": 0.5, "fstep": 1.5, "flog": 1e-3, "mode": None}
    result, repairs = one(given_params)
    assert params_of(result) == given_params
    assert repairs == {}
    assert result.proposals[0].rationale == "why"


def test_numbers_as_strings_are_coerced() -> None:
    result, repairs = one({"n": "12", "f": " 0.25 ", "stepped": "1,024", "flog": "1e-3"})
    assert params_of(result) == {"n": 12, "f": 0.25, "stepped": 1024, "flog": 1e-3}
    assert repairs["n"] == ["coerced"] and repairs["stepped"] == ["coerced"]


def test_out_of_range_values_are_clipped() -> None:
    result, repairs = one({"n": 100, "f": -3, "flog": 5.0, "logint": 1})
    assert params_of(result) == {"n": 64, "f": 0.0, "flog": 0.1, "logint": 4}
    assert all(repairs[k] == ["clipped"] for k in ("n", "f", "flog", "logint"))


def test_off_step_values_are_snapped_to_the_nearest_step() -> None:
    result, repairs = one({"stepped": 1000, "fstep": 3.3, "n": 7.6})
    assert params_of(result) == {"stepped": 1024, "fstep": 3.5, "n": 8}
    assert repairs["stepped"] == ["snapped"] and repairs["fstep"] == ["snapped"]


def test_unknown_categories_go_to_the_nearest_valid_choice_else_are_dropped() -> None:
    assert params_of(one({"mode": "FAST"})[0]) == {"mode": "fast"}
    assert params_of(one({"mode": "saf"})[0]) == {"mode": "safe"}
    assert params_of(one({"mode": 2.4})[0]) == {"mode": 2.5}
    assert params_of(one({"mode": "3"})[0]) == {"mode": 3}
    assert params_of(one({"mode": "null"})[0]) == {"mode": None}
    result, repairs = one({"mode": "purple", "n": 2})
    assert params_of(result) == {"n": 2}
    assert "dropped_value" in repairs["mode"]


def test_unknown_keys_are_dropped_and_near_names_renamed() -> None:
    result, repairs = one({"N": 5, "Flog": 0.01, "colour": "red"})
    assert params_of(result) == {"n": 5, "flog": 0.01}
    assert repairs["colour"] == ["unknown_key"]
    assert "renamed_key" in repairs["n"]


def test_missing_keys_are_recorded_for_the_base_sampler_to_fill() -> None:
    result, repairs = one({"n": 5})
    assert params_of(result) == {"n": 5}
    assert repairs["f"] == ["missing"] and repairs["mode"] == ["missing"]


def test_non_numbers_are_dropped() -> None:
    result, repairs = one({"n": "lots", "f": True, "flog": [1], "fstep": float("nan"), "mode": "safe"})
    assert params_of(result) == {"mode": "safe"}
    assert all("dropped_value" in repairs[k] for k in ("n", "f", "flog", "fstep"))


def test_an_integer_too_large_for_a_float_is_dropped_and_the_rest_kept() -> None:
    huge = 10**400
    result, repairs = one({"n": huge, "f": -huge, "mode": huge, "stepped": 256})
    assert params_of(result) == {"stepped": 256}
    assert all("dropped_value" in repairs[k] for k in ("n", "f", "mode"))


def test_a_candidate_without_usable_values_is_rejected() -> None:
    result, _ = one({"colour": "red"})
    assert result.proposals == []
    assert [r.kind for r in result.rejected] == ["empty"]


def test_duplicates_of_evaluated_configurations_and_of_each_other_are_dropped() -> None:
    space = {"n": SPACE["n"], "mode": SPACE["mode"]}
    evaluated = [{"n": 5, "mode": "safe"}]
    result = repair_candidates(
        [
            Candidate({"n": 5, "mode": "safe"}),  # already evaluated
            Candidate({"n": "5", "mode": "SAFE"}),  # the same after repair
            Candidate({"n": 6, "mode": "safe"}),
            Candidate({"n": 6.2, "mode": "safe"}),  # repeats the previous one
            Candidate({"n": 6}),  # partial: cannot be a duplicate yet
        ],
        space,
        evaluated,
    )
    assert [p.params for p in result.proposals] == [{"n": 6, "mode": "safe"}, {"n": 6}]
    assert [r.kind for r in result.rejected] == ["duplicate", "duplicate", "duplicate"]


def test_limit_keeps_the_first_proposals() -> None:
    result = repair_candidates([Candidate({"n": i}) for i in range(1, 5)], SPACE, limit=2)
    assert [p.params for p in result.proposals] == [{"n": 1}, {"n": 2}]
    assert [r.kind for r in result.rejected] == ["extra", "extra"]


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["fast", "SAFE", "3", "2.5", "1e-3", "-7", "nan", "inf", "12 workers"]),
    st.lists(st.integers(), max_size=2),
    st.sampled_from([10**400, -(10**400)]),
)


@given(st.dictionaries(st.sampled_from(list(SPACE) + ["other"]), JUNK))
def test_every_repaired_value_is_inside_its_distribution(params: dict[str, Any]) -> None:
    result = repair_candidates([Candidate(params)], SPACE)
    for proposal in result.proposals:
        for name, value in proposal.params.items():
            dist = SPACE[name]
            assert dist._contains(dist.to_internal_repr(value)), (name, value)
            if isinstance(dist, CategoricalDistribution):
                assert any(value is c or (type(value) is type(c) and value == c) for c in dist.choices)
            elif isinstance(dist, IntDistribution):
                assert type(value) is int
            else:
                assert type(value) is float
