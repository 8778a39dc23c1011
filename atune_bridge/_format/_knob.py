"""One tunable parameter as A-Tune's optimizer sees it: :class:`Knob`, its scope read as
A-Tune reads it (``[lo, hi]`` pairs, a step, extra items, options), and whether a value lies
in the set A-Tune would allow.

Imports nothing of ``atune_bridge``: the project files (``_spec``) are read into knobs, and
the search space (``_space``) is built from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

KnobType = Literal["discrete", "continuous"]
DType = Literal["int", "float", "string"]


@dataclass(frozen=True)
class Relationship:
    """A tie between objects (A-Tune's ``relationships``: less, greater, rely_on, ...)."""

    type: str
    target: str
    value: str = ""
    src_name: str = ""


MAX_FLOAT_STEPS = 10**15
"""The most steps a discrete float scope pair may span: past it, neighbouring values are
closer than a float's precision tells apart, and the set's size overflows."""


def arange_count(lo: float, hi: float, step: float) -> int:
    """How many values ``np.arange(lo, hi, step)`` has (``hi`` excluded): A-Tune's float sets."""
    return max(0, math.ceil((hi - lo) / step))


def on_range(value: float, lo: float, hi: float, step: float, dtype: str) -> bool:
    """Whether ``value`` is one of the values A-Tune enumerates for the scope pair ``(lo, hi)``:
    ``range(lo, hi + 1, step)`` for ints, ``np.arange(lo, hi, step)`` for floats."""
    if dtype == "int":
        return lo <= value <= hi and (value - lo) % step == 0
    k = round((value - lo) / step)
    return 0 <= k < arange_count(lo, hi, step) and math.isclose(value, lo + k * step, rel_tol=1e-9, abs_tol=step * 1e-9)


@dataclass(frozen=True)
class Knob:
    """One tunable parameter, validated: what A-Tune's optimizer calls a knob.

    Example:
        >>> from atune_bridge import Knob
        >>> knob = Knob(name="worker_processes", type="discrete", dtype="int",
        ...             scope=(1, 8), step=1, set="echo $value")
        >>> knob.contains(4), knob.contains(9)
        (True, False)

    ``scope`` holds A-Tune's ``[lo, hi]`` pairs for discrete parameters (one pair for
    continuous ones); ``items`` extra discrete values; ``options`` the strings of a
    ``string`` parameter; ``ref`` the baseline value as text.
    """

    name: str
    type: KnobType
    dtype: DType
    scope: tuple[float, ...] = ()
    step: float | None = None
    items: tuple[float, ...] = ()
    options: tuple[str, ...] = ()
    ref: str | None = None
    desc: str = ""
    get: str = ""
    set: str = ""
    needrestart: bool = False
    skip: bool = False
    relationships: tuple[Relationship, ...] = ()

    @property
    def pairs(self) -> list[tuple[float, float]]:
        """The scope read as A-Tune reads it: ``[lo, hi]`` pairs (an odd last value dropped)."""
        s = self.scope
        return [(s[i], s[i + 1]) for i in range(0, len(s) - 1, 2)]

    @property
    def effective_step(self) -> float:
        """The discrete step A-Tune uses: the declared one, else 1 (int) or 0.1 (float)."""
        if self.dtype == "int":
            return 1 if self.step is None or self.step < 1 else int(self.step)
        return 0.1 if self.step is None or self.step <= 0 else float(self.step)

    def coerce(self, value: Any) -> int | float | str:
        """``value`` (a number or its text) in this knob's dtype.

        Raises:
            ValueError: when the value is not of the dtype (``"abc"`` for an int knob, 2.5
                for an int knob).
        """
        if self.dtype == "string":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return str(value).strip() if isinstance(value, str) else str(value)
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        if self.dtype == "int":
            if not number.is_integer():
                raise ValueError(f"{value!r} is not a whole number")
            return int(number)
        return number

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the set A-Tune's optimizer would allow for this knob."""
        try:
            v = self.coerce(value)
        except (TypeError, ValueError):
            return False
        if self.dtype == "string":
            return v in self.options
        assert isinstance(v, (int, float))
        if self.type == "continuous":
            lo, hi = self.scope[0], self.scope[1]
            return lo <= v <= hi
        if any(math.isclose(v, item, rel_tol=1e-12, abs_tol=1e-12) for item in self.items):
            return True
        step = self.effective_step
        return any(on_range(v, lo, hi, step, self.dtype) for lo, hi in self.pairs)
