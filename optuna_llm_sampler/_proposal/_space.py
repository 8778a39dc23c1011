"""The search space the model is shown, checked: its distributions, descriptions and baseline.

Each check names the parameter at fault (:class:`~optuna_llm_sampler.SearchSpaceError`).
"""

from __future__ import annotations

from typing import Any
from typing import TYPE_CHECKING

from optuna.distributions import BaseDistribution

from optuna_llm_sampler._errors import SearchSpaceError


if TYPE_CHECKING:
    from collections.abc import Mapping


def fits(dist: BaseDistribution, value: Any) -> bool:
    """Whether Optuna would take ``value`` as a value of ``dist``."""
    try:
        return bool(dist._contains(dist.to_internal_repr(value)))
    except (ValueError, TypeError):
        return False


def check_search_space(
    search_space: Mapping[str, BaseDistribution] | None,
) -> dict[str, BaseDistribution] | None:
    if search_space is None:
        return None
    out = {}
    for name, dist in search_space.items():
        if not isinstance(name, str) or not name:
            raise SearchSpaceError(f"search_space has a non-string or empty name: {name!r}")
        if not isinstance(dist, BaseDistribution):
            raise SearchSpaceError(f"search_space[{name!r}] must be an optuna distribution, got {dist!r}")
        out[name] = dist
    if not out:
        raise SearchSpaceError("search_space is empty; pass None to read it from the study")
    return out


def check_descriptions(descriptions: Mapping[str, str] | None) -> dict[str, str]:
    out = {}
    for name, text in (descriptions or {}).items():
        if not isinstance(text, str):
            raise SearchSpaceError(f"descriptions[{name!r}] must be a string, got {type(text).__name__}")
        out[str(name)] = text
    return out


def check_baseline(
    baseline: Mapping[str, Any] | None,
    search_space: Mapping[str, BaseDistribution] | None,
) -> dict[str, Any] | None:
    if baseline is None:
        return None
    out = dict(baseline)
    if search_space is None:
        return out
    for name, value in out.items():
        if name not in search_space:
            raise SearchSpaceError(f"baseline[{name!r}] is not a parameter of search_space")
        dist = search_space[name]
        if not fits(dist, value):
            raise SearchSpaceError(f"baseline[{name!r}] = {value!r} is outside {dist!r}")
    return out
