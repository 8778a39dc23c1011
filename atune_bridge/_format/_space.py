"""A-Tune knobs as Optuna distributions, and parameter dicts as A-Tune ``name=value`` strings.

Which distribution a knob becomes (A-Tune's optimizer enumerates discrete values from
``scope`` pairs and ``step``, adds ``items``, uses ``options`` for strings, and ``(lo, hi)``
ranges for continuous knobs; the bridge keeps that meaning):

=====================  ===============================================  =========================================
knob                   A-Tune's set                                     Optuna distribution
=====================  ===============================================  =========================================
continuous int         every integer in ``[lo, hi]``                    ``IntDistribution(lo, hi)``
continuous float       the interval ``[lo, hi]``                        ``FloatDistribution(lo, hi)``
discrete int           ``lo, lo+step, ... <= hi`` for each pair,        ``IntDistribution(lo, last, step)`` when the
                       plus ``items``                                   whole set is one arithmetic progression
                                                                        (one pair with items on it, or pairs that
                                                                        join up); else ``CategoricalDistribution``
                                                                        of the sorted values
discrete float         ``np.arange(lo, hi, step)`` for each pair        ``FloatDistribution(lo, last, step)`` when
                       (``hi`` excluded), plus ``items``                one progression says it all; else
                                                                        ``CategoricalDistribution``
discrete string        ``options``                                      ``CategoricalDistribution(options)``
=====================  ===============================================  =========================================

A categorical set is enumerated, so it is capped at :data:`MAX_CHOICES` values; a knob
whose set is larger and not one progression is rejected with an error naming it.
"""

from __future__ import annotations

import math
from decimal import Decimal
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from atune_bridge._format._errors import DomainError, InvalidKnobError, ParamStringError, Problem
from atune_bridge._format._knob import Knob, arange_count, on_range

MAX_CHOICES = 10_000
"""The largest discrete set turned into a categorical distribution."""


def _progression(values: Sequence[float]) -> float | None:
    """The common step when sorted ``values`` form one arithmetic progression, else None."""
    if len(values) < 2:
        return None
    step = values[1] - values[0]
    for a, b in zip(values, values[1:]):
        if not math.isclose(b - a, step, rel_tol=1e-9, abs_tol=1e-12):
            return None
    return step


def _discrete_values(knob: Knob) -> list[float]:
    step = knob.effective_step
    values: set[float] = set(knob.items)
    for lo, hi in knob.pairs:
        if knob.dtype == "int":
            values.update(range(int(lo), int(hi) + 1, int(step)))
        else:
            values.update(lo + i * step for i in range(arange_count(lo, hi, step)))
    return sorted(values)


def _set_size(knob: Knob) -> int:
    step = knob.effective_step
    total = len(knob.items)
    for lo, hi in knob.pairs:
        total += int((hi - lo) // step) + 1 if knob.dtype == "int" else arange_count(lo, hi, step)
    return total


def _fail(knob: Knob, fld: str, message: str) -> InvalidKnobError:
    return InvalidKnobError(Problem("<knob>", knob.name, fld, message))


def to_distribution(knob: Knob) -> BaseDistribution:
    """The Optuna distribution holding exactly A-Tune's allowed set for ``knob``.

    Example:
        >>> from atune_bridge import Knob, to_distribution
        >>> to_distribution(Knob("n", "discrete", "int", scope=(128, 65536), step=128))
        IntDistribution(high=65536, log=False, low=128, step=128)

    Raises:
        InvalidKnobError: the set is empty, or too large to enumerate and not one progression.
    """
    if knob.dtype == "string":
        return CategoricalDistribution(list(knob.options))
    if knob.type == "continuous":
        lo, hi = knob.scope[0], knob.scope[1]
        if knob.dtype == "int":
            return IntDistribution(int(lo), int(hi))
        return FloatDistribution(float(lo), float(hi))

    step = knob.effective_step
    pairs = knob.pairs
    if len(pairs) == 1 and all(on_range(v, *pairs[0], step, knob.dtype) for v in knob.items):
        lo, hi = pairs[0]
        if knob.dtype == "int":
            last = int(lo) + (int(hi) - int(lo)) // int(step) * int(step)
            return IntDistribution(int(lo), last, step=int(step))
        count = arange_count(lo, hi, step)
        if count == 0:
            raise _fail(knob, "scope", f"np.arange({lo}, {hi}, {step}) is empty: raise high")
        if count == 1:
            return FloatDistribution(float(lo), float(lo))
        # Decimal arithmetic: Optuna checks (high - low) % step in decimal and would otherwise
        # drop the last value over float noise (1.0 + 12783 * 0.01 == 128.82999999999998).
        high = Decimal(repr(float(lo))) + (count - 1) * Decimal(repr(float(step)))
        return FloatDistribution(float(lo), float(high), step=float(step))

    size = _set_size(knob)
    if size == 0:
        raise _fail(knob, "scope", "the discrete set is empty")
    if size > MAX_CHOICES:
        raise _fail(
            knob,
            "scope",
            f"{size} discrete values in several ranges is more than {MAX_CHOICES}; "
            "use one [low, high] pair with a step",
        )
    values = _discrete_values(knob)
    common = _progression(values)
    if knob.dtype == "int":
        ints = [int(v) for v in values]
        if len(ints) == 1:
            return IntDistribution(ints[0], ints[0])
        if common is not None:
            return IntDistribution(ints[0], ints[-1], step=int(common))
        return CategoricalDistribution(ints)
    if len(values) == 1:
        return FloatDistribution(values[0], values[0])
    if common is not None:
        return FloatDistribution(values[0], values[-1], step=common)
    return CategoricalDistribution([float(v) for v in values])


def search_space(knobs: Iterable[Knob]) -> dict[str, BaseDistribution]:
    """Name to distribution for ``knobs``, in their order (see :func:`to_distribution`)."""
    return {knob.name: to_distribution(knob) for knob in knobs}


def format_value(knob: Knob, value: Any) -> str:
    """``value`` as A-Tune writes it: ints without decimals, floats exactly, strings as given.

    Raises:
        DomainError: the value is not of the knob's dtype.
    """
    try:
        v = knob.coerce(value)
    except (TypeError, ValueError) as exc:
        raise DomainError(f"{knob.name}: {exc}") from None
    if isinstance(v, float):
        return repr(v)
    return str(v)


def format_params(params: Mapping[str, Any], knobs: Sequence[Knob]) -> str:
    """A parameter dict as A-Tune's ``name=value,name=value`` string, in the knobs' order.

    Example:
        >>> from atune_bridge import Knob, format_params
        >>> knobs = [Knob("a", "continuous", "int", scope=(1, 9)),
        ...          Knob("b", "discrete", "string", options=("on", "off"))]
        >>> format_params({"a": 3.0, "b": "on"}, knobs)
        'a=3,b=on'

    Raises:
        ParamStringError: a knob has no value in ``params``, or a value holds ``,``.
        DomainError: a value is not of its knob's dtype.
    """
    parts = []
    for knob in knobs:
        if knob.name not in params:
            raise ParamStringError(f"no value for {knob.name!r}; params have {sorted(params)}")
        text = format_value(knob, params[knob.name])
        if "," in text:
            raise ParamStringError(f"{knob.name}: value {text!r} holds ',', which A-Tune's format cannot carry")
        parts.append(f"{knob.name}={text}")
    return ",".join(parts)


def parse_params(text: str, knobs: Sequence[Knob], *, partial: bool = False) -> dict[str, Any]:
    """An A-Tune ``name=value,...`` string back to a typed parameter dict.

    Values are typed by each knob's dtype; unknown names are an error; every knob must be
    present unless ``partial``.

    Raises:
        ParamStringError: malformed pairs, unknown or repeated names, missing knobs.
        DomainError: a value is not of its knob's dtype.
    """
    by_name = {k.name: k for k in knobs}
    out: dict[str, Any] = {}
    for chunk in text.strip().split(","):
        if not chunk.strip():
            continue
        name, sep, raw = chunk.partition("=")
        name = name.strip()
        if not sep:
            raise ParamStringError(f"{chunk!r} is not name=value")
        if name not in by_name:
            raise ParamStringError(f"unknown parameter {name!r}; known: {sorted(by_name)}")
        if name in out:
            raise ParamStringError(f"parameter {name!r} given twice")
        try:
            out[name] = by_name[name].coerce(raw.strip())
        except ValueError as exc:
            raise DomainError(f"{name}: {exc}") from None
    if not partial:
        missing = [k.name for k in knobs if k.name not in out]
        if missing:
            raise ParamStringError(f"no value for {missing}")
    return out


def baseline_params(knobs: Iterable[Knob]) -> dict[str, Any]:
    """The baseline configuration from the knobs' ``ref`` values, typed.

    Knobs without a ``ref`` (or whose ``ref`` is not of their dtype) are left out: the
    runner reads those with ``get``.
    """
    out: dict[str, Any] = {}
    for knob in knobs:
        if knob.ref is None:
            continue
        try:
            out[knob.name] = knob.coerce(knob.ref)
        except ValueError:
            continue
    return out


def check_value(knob: Knob, value: Any) -> int | float | str:
    """``value`` typed by the knob, or :class:`DomainError` when outside its declared domain.

    This is the gate before a value is substituted into a shell command.
    """
    if not knob.contains(value):
        raise DomainError(f"{knob.name}: {value!r} lies outside the declared domain {describe_domain(knob)}")
    return knob.coerce(value)


def number_text(value: float) -> str:
    """A number without exponent noise: ``1048576`` rather than ``1.04858e+06``."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def describe_domain(knob: Knob) -> str:
    """A short human description of the knob's domain, for tables, prompts and errors."""
    if knob.dtype == "string":
        return "{" + ", ".join(knob.options) + "}"
    if knob.type == "continuous":
        return f"[{number_text(knob.scope[0])}, {number_text(knob.scope[1])}]"
    step = f" step {number_text(knob.effective_step)}" if knob.effective_step != 1 else ""
    ranges = [f"{number_text(lo)}..{number_text(hi)}{step}" for lo, hi in knob.pairs]
    text = " ∪ ".join(ranges)
    if knob.items:
        extra = ", ".join(number_text(v) for v in knob.items)
        text = f"{text} ∪ {{{extra}}}" if text else f"{{{extra}}}"
    return text
