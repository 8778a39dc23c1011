"""Knobs to Optuna distributions (faithful to A-Tune's sets) and ``name=value`` round trips."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from atune_bridge import (
    MAX_CHOICES,
    DomainError,
    InvalidKnobError,
    Knob,
    ParamStringError,
    ServerSpec,
    baseline_params,
    check_value,
    format_params,
    load_project_file,
    parse_params,
    search_space,
    to_distribution,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "atune_examples"


def atune_int_set(knob: Knob) -> set[int]:
    """A-Tune's handle_discrete_data for dtype int, written out literally."""
    items = set(int(v) for v in knob.items)
    for lo, hi in knob.pairs:
        items.update(range(int(lo), int(hi) + 1, knob.effective_step))
    return items


@pytest.mark.parametrize(
    "knob, expected",
    [
        (Knob("a", "continuous", "int", scope=(0, 300)), IntDistribution(0, 300)),
        (Knob("a", "continuous", "float", scope=(0.5, 2)), FloatDistribution(0.5, 2.0)),
        (Knob("a", "discrete", "int", scope=(128, 65536), step=128), IntDistribution(128, 65536, step=128)),
        # The high bound is the last value A-Tune's range() reaches, not the declared one.
        (Knob("a", "discrete", "int", scope=(1048576, 53687091), step=5048576),
         IntDistribution(1048576, 1048576 + 10 * 5048576, step=5048576)),
        (Knob("a", "discrete", "int", scope=(0, 10), step=5, items=(5,)), IntDistribution(0, 10, step=5)),
        (Knob("a", "discrete", "int", scope=(0, 10), step=5, items=(7,)), CategoricalDistribution([0, 5, 7, 10])),
        (Knob("a", "discrete", "int", scope=(1, 2, 5, 6)), CategoricalDistribution([1, 2, 5, 6])),
        (Knob("a", "discrete", "int", scope=(1, 2, 3, 4)), IntDistribution(1, 4)),
        (Knob("a", "discrete", "int", items=(4, 8, 16)), CategoricalDistribution([4, 8, 16])),
        (Knob("a", "discrete", "int", items=(3,)), IntDistribution(3, 3)),
        # np.arange(0, 1, 0.25) excludes 1.
        (Knob("a", "discrete", "float", scope=(0, 1), step=0.25), FloatDistribution(0.0, 0.75, step=0.25)),
        (Knob("a", "discrete", "string", options=("on", "off")), CategoricalDistribution(["on", "off"])),
    ],
)
def test_each_kind_of_knob_becomes_the_documented_distribution(knob: Knob, expected: BaseDistribution) -> None:
    assert to_distribution(knob) == expected


def test_a_huge_set_in_several_ranges_is_refused_naming_the_knob() -> None:
    knob = Knob("huge", "discrete", "int", scope=(0, MAX_CHOICES, MAX_CHOICES + 2, 3 * MAX_CHOICES))
    with pytest.raises(InvalidKnobError, match="'huge'.*more than"):
        to_distribution(knob)


def test_an_empty_float_range_is_refused() -> None:
    with pytest.raises(InvalidKnobError, match="empty"):
        to_distribution(Knob("f", "discrete", "float", scope=(1, 1), step=0.5))


# --------------------------------------------------------------------------- properties


def values_of(dist: BaseDistribution) -> st.SearchStrategy:
    if isinstance(dist, CategoricalDistribution):
        return st.sampled_from(dist.choices)
    if isinstance(dist, IntDistribution):
        return st.integers(0, (dist.high - dist.low) // dist.step).map(lambda k: dist.low + k * dist.step)
    assert isinstance(dist, FloatDistribution)
    if dist.step is not None:
        count = round((dist.high - dist.low) / dist.step)
        return st.integers(0, count).map(lambda k: dist.low + k * dist.step)
    return st.floats(dist.low, dist.high, allow_nan=False)


SERVERS = [
    spec for spec in (
        load_project_file(p) for p in sorted(EXAMPLES.rglob("*.yaml")) if p.name != "topo.yaml"
    ) if isinstance(spec, ServerSpec)
]
CORPUS_KNOBS = [knob for spec in SERVERS for knob in spec.tunable]


@st.composite
def corpus_points(draw: st.DrawFn) -> tuple[list[Knob], dict]:
    spec = draw(st.sampled_from(SERVERS))
    space = spec.search_space()
    return list(spec.tunable), {name: draw(values_of(dist)) for name, dist in space.items()}


@settings(max_examples=300, deadline=None)
@given(corpus_points())
def test_any_point_of_a_corpus_space_round_trips_and_lies_in_atunes_set(point: tuple[list[Knob], dict]) -> None:
    knobs, params = point
    text = format_params(params, knobs)
    back = parse_params(text, knobs)
    assert back == params
    assert [type(v) for v in back.values()] == [type(v) for v in params.values()]
    for knob in knobs:
        assert knob.contains(params[knob.name]), (knob, params[knob.name])
        small = sum((hi - lo) // knob.effective_step + 1 for lo, hi in knob.pairs) < 100_000
        if knob.dtype == "int" and knob.type == "discrete" and small:
            assert params[knob.name] in atune_int_set(knob)


def test_points_sampled_by_optuna_round_trip_for_every_corpus_knob() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    space = {k.name: to_distribution(k) for k in CORPUS_KNOBS}
    by_name = {k.name: k for k in CORPUS_KNOBS}
    for _ in range(20):
        trial = study.ask(space)
        for name, value in trial.params.items():
            knob = by_name[name]
            assert knob.contains(value)
            assert parse_params(format_params({name: value}, [knob]), [knob]) == {name: value}
        study.tell(trial, 0.0)


@st.composite
def int_knobs(draw: st.DrawFn) -> Knob:
    pairs = draw(st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 60)), min_size=1, max_size=3))
    scope = tuple(v for lo, width in pairs for v in (lo, lo + width))
    items = tuple(draw(st.lists(st.integers(-100, 100), max_size=3)))
    step = draw(st.sampled_from([None, 1, 2, 3, 7]))
    return Knob("k", "discrete", "int", scope=scope, step=step, items=items)


@settings(max_examples=300, deadline=None)
@given(int_knobs(), st.data())
def test_a_discrete_int_distribution_holds_exactly_atunes_set(knob: Knob, data: st.DataObject) -> None:
    dist = to_distribution(knob)
    expected = atune_int_set(knob)
    if isinstance(dist, CategoricalDistribution):
        assert set(dist.choices) == expected
    else:
        assert isinstance(dist, IntDistribution)
        assert set(range(dist.low, dist.high + 1, dist.step)) == expected
    value = data.draw(values_of(dist))
    assert knob.contains(value)
    assert value in expected


@settings(max_examples=200, deadline=None)
@given(
    st.integers(-100_000, 100_000).map(lambda n: n / 100),  # bounds as people write them
    st.integers(1, 50_000).map(lambda n: n / 100),
    st.sampled_from([0.01, 0.1, 0.25, 0.5, 3.0]),
    st.data(),
)
@pytest.mark.filterwarnings("error::UserWarning")
def test_a_discrete_float_distribution_holds_numpys_arange(lo: float, width: float, step: float, data: st.DataObject) -> None:
    knob = Knob("f", "discrete", "float", scope=(lo, lo + width), step=step)
    dist = to_distribution(knob)
    expected = np.arange(lo, lo + width, step)  # what A-Tune's optimizer enumerates
    assert isinstance(dist, FloatDistribution)
    assert math.isclose(dist.low, expected[0])
    assert math.isclose(dist.high, expected[-1], rel_tol=1e-9, abs_tol=1e-9)
    if len(expected) > 1:
        assert round((dist.high - dist.low) / dist.step) + 1 == len(expected)
    value = data.draw(values_of(dist))
    assert knob.contains(value)
    assert parse_params(format_params({"f": value}, [knob]), [knob]) == {"f": value}


# --------------------------------------------------------------------------- strings


KNOBS = [
    Knob("workers", "discrete", "int", scope=(1, 8)),
    Knob("ratio", "continuous", "float", scope=(0.0, 1.0)),
    Knob("log", "discrete", "string", options=("on", "off", "4096 87380 6291456"), ref="off"),
]


def test_ints_are_written_without_decimals_and_strings_as_given() -> None:
    text = format_params({"workers": 4.0, "ratio": 0.5, "log": "4096 87380 6291456"}, KNOBS)
    assert text == "workers=4,ratio=0.5,log=4096 87380 6291456"
    assert parse_params(text, KNOBS) == {"workers": 4, "ratio": 0.5, "log": "4096 87380 6291456"}


@pytest.mark.parametrize(
    "text, error, message",
    [
        ("workers=4,ratio=0.5", ParamStringError, "no value for \\['log'\\]"),
        ("workers=4,ratio=0.5,log=on,extra=1", ParamStringError, "unknown parameter 'extra'"),
        ("workers=4,workers=5,ratio=0.5,log=on", ParamStringError, "given twice"),
        ("workers4,ratio=0.5,log=on", ParamStringError, "is not name=value"),
        ("workers=four,ratio=0.5,log=on", DomainError, "workers"),
        ("workers=4.5,ratio=0.5,log=on", DomainError, "not a whole number"),
    ],
)
def test_malformed_strings_are_refused_with_the_name_at_fault(text: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        parse_params(text, KNOBS)


def test_a_value_with_a_comma_cannot_be_written() -> None:
    knob = Knob("s", "discrete", "string", options=("a,b",))
    with pytest.raises(ParamStringError, match="','"):
        format_params({"s": "a,b"}, [knob])


def test_the_baseline_comes_from_ref_values_typed() -> None:
    knobs = [Knob("a", "continuous", "int", scope=(0, 9), ref="3"), Knob("b", "continuous", "int", scope=(0, 9)), KNOBS[2]]
    assert baseline_params(knobs) == {"a": 3, "log": "off"}


@pytest.mark.parametrize("value", [9, -1, "1; rm -rf /", "$(touch x)", 2.5, None, "on"])
def test_check_value_refuses_anything_outside_the_declared_domain(value: object) -> None:
    with pytest.raises(DomainError, match="workers"):
        check_value(KNOBS[0], value)


def test_check_value_returns_the_typed_value() -> None:
    assert check_value(KNOBS[0], "8") == 8
    assert check_value(KNOBS[2], "on") == "on"


def test_search_space_keeps_the_knob_order() -> None:
    assert list(search_space(KNOBS)) == ["workers", "ratio", "log"]
