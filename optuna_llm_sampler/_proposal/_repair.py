"""From candidate configurations to values that lie inside their distributions.

Every change is recorded as a :class:`Repair`, which ends up in the trial's ``llm_repairs``
user attribute, so the dashboard shows what the model got wrong and how it was fixed.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from typing import Any
from typing import TYPE_CHECKING

from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution

from optuna_llm_sampler._proposal._fixes import Repair


if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution

    from optuna_llm_sampler._proposal._parse import Candidate


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclasses.dataclass(frozen=True)
class Proposal:
    """A configuration ready to be enqueued: every value is inside its distribution.

    Parameters the model did not give are absent; the base sampler fills them.
    """

    params: dict[str, Any]
    rationale: str
    repairs: tuple[Repair, ...]


@dataclasses.dataclass(frozen=True)
class RepairResult:
    proposals: list[Proposal]
    rejected: list[Repair]


def repair_candidates(
    candidates: Sequence[Candidate],
    search_space: Mapping[str, BaseDistribution],
    evaluated: Iterable[Mapping[str, Any]] = (),
    limit: int | None = None,
) -> RepairResult:
    """Fit each candidate to ``search_space``; drop duplicates and empty ones.

    Args:
        candidates: From :func:`~optuna_llm_sampler._proposal._parse.parse_reply`.
        search_space: Parameter name to distribution.
        evaluated: Parameter dicts of trials already in the study (any state, including
            waiting ones); a complete candidate equal to one of them is dropped.
        limit: Keep at most this many proposals; the rest are recorded as ``extra``.

    Returns:
        The usable proposals, and the records of candidates dropped as a whole.
    """
    names = list(search_space)
    seen: list[dict[str, Any]] = [{k: v for k, v in params.items() if k in search_space} for params in evaluated]
    seen = [p for p in seen if len(p) == len(names)]
    proposals: list[Proposal] = []
    rejected: list[Repair] = []
    for index, candidate in enumerate(candidates):
        label = f"configuration {index + 1}"
        params, repairs = _repair_one(candidate.params, search_space)
        if not params:
            rejected.append(Repair("empty", None, f"{label}: no usable value"))
            continue
        if len(params) == len(names):
            duplicate = _find_duplicate(params, seen, search_space)
            if duplicate is not None:
                rejected.append(Repair("duplicate", None, f"{label} repeats {duplicate}"))
                continue
        if limit is not None and len(proposals) >= limit:
            rejected.append(Repair("extra", None, f"{label}: more configurations than asked"))
            continue
        if len(params) == len(names):
            seen.append(params)
        proposals.append(Proposal(params, candidate.rationale.strip(), tuple(repairs)))
    return RepairResult(proposals, rejected)


def _find_duplicate(
    params: Mapping[str, Any],
    seen: Sequence[Mapping[str, Any]],
    search_space: Mapping[str, BaseDistribution],
) -> str | None:
    for other in seen:
        if all(_same(params[n], other[n], search_space[n]) for n in params):
            return "an evaluated or earlier configuration " + _short(dict(other))
    return None


def _same(a: Any, b: Any, dist: BaseDistribution) -> bool:
    if isinstance(dist, CategoricalDistribution):
        return type(a) is type(b) and a == b
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError, OverflowError):
        return False


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _repair_one(
    raw: Mapping[str, Any], search_space: Mapping[str, BaseDistribution]
) -> tuple[dict[str, Any], list[Repair]]:
    repairs: list[Repair] = []
    given: dict[str, Any] = {}
    folded = {_fold(name): name for name in search_space}
    for key, value in raw.items():
        name = key if key in search_space else folded.get(_fold(str(key)))
        if name is None:
            repairs.append(Repair("unknown_key", str(key), "not a parameter; dropped"))
            continue
        if name != key:
            repairs.append(Repair("renamed_key", name, f"key {key!r} read as {name!r}"))
        if name in given:
            continue
        given[name] = value
    params: dict[str, Any] = {}
    for name, dist in search_space.items():
        if name not in given:
            repairs.append(Repair("missing", name, "not in the reply; the base sampler fills it"))
            continue
        value = _fit(name, given[name], dist, repairs)
        if value is not _DROP:
            params[name] = value
    return params, repairs


def _fold(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


class _Drop:
    pass


_DROP: Any = _Drop()


def _fit(name: str, value: Any, dist: BaseDistribution, repairs: list[Repair]) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return _fit_choice(name, value, dist.choices, repairs)
    if isinstance(dist, IntDistribution):
        return _fit_int(name, value, dist, repairs)
    if isinstance(dist, FloatDistribution):
        return _fit_float(name, value, dist, repairs)
    repairs.append(Repair("dropped_value", name, f"unsupported distribution {dist!r}"))
    return _DROP


def _to_number(name: str, value: Any, repairs: list[Repair]) -> float | None:
    if isinstance(value, bool):
        repairs.append(Repair("dropped_value", name, f"{value!r} is not a number"))
        return None
    if isinstance(value, (int, float)):
        number = _float_or_inf(value)
    elif isinstance(value, str):
        found = _NUMBER.findall(value.replace(",", "").replace("_", ""))
        if len(found) != 1:
            repairs.append(Repair("dropped_value", name, f"{_short(value)} is not a number"))
            return None
        number = float(found[0])
        repairs.append(Repair("coerced", name, f"string {_short(value)} read as {found[0]}"))
    else:
        repairs.append(Repair("dropped_value", name, f"{_short(value)} is not a number"))
        return None
    if not math.isfinite(number):
        repairs.append(Repair("dropped_value", name, f"{value!r} is not finite"))
        return None
    return number


def _fit_int(name: str, value: Any, dist: IntDistribution, repairs: list[Repair]) -> Any:
    number = _to_number(name, value, repairs)
    if number is None:
        return _DROP
    step = dist.step
    if number < dist.low or number > dist.high:
        clipped = min(max(number, dist.low), dist.high)
        repairs.append(Repair("clipped", name, f"{_fmt(number)} outside [{dist.low}, {dist.high}]"))
        number = clipped
    k = round((number - dist.low) / step)
    result = int(dist.low + k * step)
    if result > dist.high:
        result -= step
    if result != number:
        what = f"step {step} from {dist.low}" if step != 1 else "an integer"
        repairs.append(Repair("snapped", name, f"{_fmt(number)} -> {result} ({what})"))
    return result


def _fit_float(name: str, value: Any, dist: FloatDistribution, repairs: list[Repair]) -> Any:
    number = _to_number(name, value, repairs)
    if number is None:
        return _DROP
    if number < dist.low or number > dist.high:
        repairs.append(Repair("clipped", name, f"{_fmt(number)} outside [{_fmt(dist.low)}, {_fmt(dist.high)}]"))
        number = min(max(number, dist.low), dist.high)
    if dist.step is not None:
        k = round((number - dist.low) / dist.step)
        snapped = dist.low + k * dist.step
        if snapped > dist.high:
            snapped -= dist.step
        snapped = float(round(snapped, 12))
        snapped = min(max(snapped, dist.low), dist.high)
        if not math.isclose(snapped, number, rel_tol=1e-12, abs_tol=1e-15):
            repairs.append(Repair("snapped", name, f"{_fmt(number)} -> {_fmt(snapped)} (step {dist.step})"))
        number = snapped
    return float(number)


def _fit_choice(name: str, value: Any, choices: Sequence[Any], repairs: list[Repair]) -> Any:
    for choice in choices:
        if type(choice) is type(value) and choice == value:
            return choice
    text = str(value).strip() if value is not None else "null"
    for choice in choices:
        if _choice_text(choice) == text:
            repairs.append(Repair("coerced", name, f"{_short(value)} read as {_short(choice)}"))
            return choice
    for choice in choices:
        if _choice_text(choice).lower() == text.lower():
            repairs.append(Repair("coerced", name, f"{_short(value)} read as {_short(choice)}"))
            return choice
    numeric = [c for c in choices if isinstance(c, (int, float)) and not isinstance(c, bool)]
    number: float | None = None
    if numeric and not isinstance(value, bool):
        if isinstance(value, (int, float)):
            number = _float_or_inf(value)
        elif isinstance(value, str) and len(_NUMBER.findall(value)) == 1:
            number = float(_NUMBER.findall(value)[0])
    if number is not None and math.isfinite(number):
        nearest = min(numeric, key=lambda c: abs(float(c) - number))
        repairs.append(Repair("nearest_choice", name, f"{_short(value)} not a choice; nearest is {nearest!r}"))
        return nearest
    if isinstance(value, str):
        texts = [_choice_text(c) for c in choices]
        close = difflib.get_close_matches(text, texts, n=1, cutoff=0.6)
        if close:
            choice = choices[texts.index(close[0])]
            repairs.append(Repair("nearest_choice", name, f"{_short(value)} not a choice; closest is {choice!r}"))
            return choice
    repairs.append(Repair("dropped_value", name, f"{_short(value)} is not one of {_short(list(choices))}"))
    return _DROP


def _float_or_inf(value: float) -> float:
    # A JSON integer has no size limit; one too large for a float is as unusable as inf.
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _choice_text(choice: Any) -> str:
    if choice is None:
        return "null"
    if isinstance(choice, bool):
        return "true" if choice else "false"
    return str(choice)


def _fmt(number: float) -> str:
    return f"{number:.6g}"
