"""A-Tune's value relations between parameters: ``less``, ``greater`` and ``multiple``.

What A-Tune does (``common/project/project.go``):

* ``less`` / ``greater`` (``MatchRelations``): the object's value must be at most / at least
  the target's (compared as integers). A configuration that breaks one is not applied at all:
  atuned scores it with each evaluation's ``threshold`` (``YamlPrjCli.Threshold``) instead of
  running the benchmark, so the optimizer learns the region is bad.
* ``multiple`` (``RunSet``): the object's sampled value is a factor: what is set is
  ``int(target * value)``, the target's value as set (an earlier ``multiple`` included), in
  the order of the objects in the file.
* ``rely_on`` / ``depend_on`` decide whether and under which ``$name`` an object is set (the
  runner's ``_System`` applies them).

What the bridge does with a proposed configuration, before any command runs
(:func:`repair_relations`): a value that breaks a ``less``/``greater`` relation is moved to the nearest
value of its own domain that keeps it (at most / at least the target); the move is recorded
so the trial says what was set and why. The sampler's parameters stay as proposed, so the
repaired region is simply flat for it. Only when no value of the domain satisfies the relation
(the target lies below the object's whole domain) is the configuration left broken
(:attr:`Repair.broken`); the runner then does what atuned does, scores it with the
thresholds, when every evaluation has one, or fails the trial with the reason.
:func:`apply_multiples` then turns ``multiple`` factors into the values set.

Relations that cannot hold (a target that is not a tunable object, a string parameter on
either side) are reported by :func:`relation_problems` and ignored.

Example:
    >>> from atune_bridge import Knob, Relationship
    >>> from atune_bridge._format._relations import apply_multiples, repair_relations
    >>> buf = Knob("buf", "discrete", "int", scope=(64, 1024), step=64, set="echo $value")
    >>> cache = Knob("cache", "discrete", "int", scope=(64, 1024), step=64, set="echo $value",
    ...              relationships=(Relationship("less", "buf"),))
    >>> fixed = repair_relations([buf, cache], {"buf": 256, "cache": 512})
    >>> fixed.values, fixed.changes[0].why
    ({'buf': 256, 'cache': 256}, 'cache must be at most buf (256): 512 -> 256')
    >>> per = Knob("per", "discrete", "int", scope=(1, 4), set="echo $value",
    ...            relationships=(Relationship("multiple", "buf"),))
    >>> apply_multiples([buf, per], {"buf": "256", "per": "3"})
    {'buf': '256', 'per': '768'}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from atune_bridge._format._knob import Knob, arange_count

ORDER_RELATIONS = ("less", "greater")
VALUE_RELATIONS = ("less", "greater", "multiple")


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def relation_problems(knobs: Sequence[Knob]) -> list[str]:
    """Why a ``less``/``greater``/``multiple`` relation cannot be applied, one line each."""
    by_name = {k.name: k for k in knobs}
    out = []
    for knob in knobs:
        for rel in knob.relationships:
            if rel.type not in VALUE_RELATIONS:
                continue
            target = by_name.get(rel.target)
            if target is None:
                out.append(
                    f"{knob.name}: relationship {rel.type!r} names {rel.target!r}, which is not a "
                    "tunable object; it is ignored"
                )
            elif knob.dtype == "string" or target.dtype == "string":
                out.append(
                    f"{knob.name}: relationship {rel.type!r} with {rel.target!r} compares numbers, "
                    "but one of them takes strings; it is ignored"
                )
    return out


def _usable(knob: Knob, by_name: Mapping[str, Knob], types: Sequence[str]) -> list[tuple[str, str]]:
    return [
        (rel.type, rel.target)
        for rel in knob.relationships
        if rel.type in types
        and rel.target in by_name
        and knob.dtype != "string"
        and by_name[rel.target].dtype != "string"
    ]


def nearest_allowed(knob: Knob, bound: float, *, at_most: bool) -> float | None:
    """The largest value of ``knob``'s domain at most ``bound`` (or the smallest at least it),
    or None when there is none."""
    candidates: list[float] = []
    if knob.type == "continuous":
        lo, hi = knob.scope[0], knob.scope[1]
        if at_most and bound >= lo:
            candidates.append(min(hi, bound))
        if not at_most and bound <= hi:
            candidates.append(max(lo, bound))
        if knob.dtype == "int" and candidates:
            value = math.floor(candidates[0]) if at_most else math.ceil(candidates[0])
            candidates = [value] if lo <= value <= hi else []
    else:
        step = knob.effective_step
        for lo, hi in knob.pairs:
            if knob.dtype == "int":
                count = int((hi - lo) // step) + 1 if hi >= lo else 0
            else:
                count = arange_count(lo, hi, step)
            if count <= 0:
                continue
            last = lo + (count - 1) * step
            if at_most:
                if bound < lo:
                    continue
                k = min(count - 1, math.floor((bound - lo) / step + 1e-9))
            else:
                if bound > last:
                    continue
                k = max(0, math.ceil((bound - lo) / step - 1e-9))
            candidates.append(lo + k * step)
        candidates += [i for i in knob.items if (i <= bound if at_most else i >= bound)]
    if not candidates:
        return None
    return max(candidates) if at_most else min(candidates)


@dataclass(frozen=True)
class Change:
    """One value moved to keep a relation: the parameter, the values and the reason."""

    name: str
    old: Any
    new: Any
    why: str


@dataclass(frozen=True)
class Repair:
    """A configuration after :func:`repair_relations`: its values, what moved, what could not be kept."""

    values: dict[str, Any]
    changes: list[Change] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)


def _text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def repair_relations(knobs: Sequence[Knob], values: Mapping[str, Any]) -> Repair:
    """``values`` with every ``less``/``greater`` relation kept where a value of the object's
    domain allows it (see the module doc). Objects are taken in file order, repeatedly until
    nothing moves, so a chain (``a <= b <= c``) settles."""
    by_name = {k.name: k for k in knobs}
    out = dict(values)
    changes: list[Change] = []
    for _ in range(len(knobs) + 1):
        moved = False
        broken: list[str] = []
        for knob in knobs:
            for rtype, target in _usable(knob, by_name, ORDER_RELATIONS):
                mine, theirs = _number(out.get(knob.name)), _number(out.get(target))
                if mine is None or theirs is None:
                    continue
                at_most = rtype == "less"
                if (mine <= theirs) if at_most else (mine >= theirs):
                    continue
                word = "at most" if at_most else "at least"
                new = nearest_allowed(knob, theirs, at_most=at_most)
                if new is None:
                    broken.append(
                        f"{knob.name} must be {word} {target} ({_text(theirs)}), but no value "
                        f"of its domain is; it is {_text(mine)}"
                    )
                    continue
                value = int(new) if knob.dtype == "int" else float(new)
                changes.append(
                    Change(
                        knob.name,
                        out.get(knob.name),
                        value,
                        f"{knob.name} must be {word} {target} ({_text(theirs)}): {_text(mine)} -> {_text(value)}",
                    )
                )
                out[knob.name] = value
                moved = True
        if not moved:
            return Repair(out, changes, broken)
    return Repair(out, changes, broken)  # pragma: no cover - each pass moves values monotonically


def apply_multiples(knobs: Sequence[Knob], texts: Mapping[str, str]) -> dict[str, str]:
    """The texts to set: each ``multiple`` object's factor times its target, as A-Tune's
    ``RunSet`` computes it (``int(target * factor)``, in file order)."""
    by_name = {k.name: k for k in knobs}
    out = dict(texts)
    for knob in knobs:
        for _, target in _usable(knob, by_name, ("multiple",)):
            factor, base = _number(out.get(knob.name)), _number(out.get(target))
            if factor is None or base is None:
                continue
            out[knob.name] = str(int(base * factor))
    return out
