"""LLMSampler's options resolved and checked: the model's role, and options that go together.

The role is a preset's name or a schedule with a ``choose``; a preset brings its own
``choose`` unless one is given. Options that cannot work together are refused with a
:class:`~optuna_llm_sampler.ConfigError` that says what to pass instead.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING
from typing import TypeVar

from optuna.exceptions import ExperimentalWarning

from optuna_llm_sampler._errors import ConfigError
from optuna_llm_sampler._policy._choose import Choose
from optuna_llm_sampler._policy._choose import DEFAULT_CHOOSE
from optuna_llm_sampler._policy._presets import DEFAULT_PRESET
from optuna_llm_sampler._policy._presets import preset
from optuna_llm_sampler._policy._schedule import as_schedule
from optuna_llm_sampler._policy._screen import Screen


if TYPE_CHECKING:
    from collections.abc import Callable

    from optuna_llm_sampler._policy._schedule import RoleLike
    from optuna_llm_sampler._policy._schedule import Schedule


_T = TypeVar("_T")


def model_role(
    schedule: str | Schedule | Callable[[int], RoleLike] | None,
    choose: Choose | None,
    screen: Screen | None,
    prefetch: bool,
) -> tuple[Schedule, Choose | None]:
    """The schedule and the ``choose`` the sampler runs, checked to go together.

    ``choose`` is :data:`DEFAULT_CHOOSE` itself when the user gave none: a preset's own then
    replaces it.
    """
    if schedule is None or isinstance(schedule, str):
        chosen = preset(DEFAULT_PRESET if schedule is None else schedule)
        resolved = chosen.make_schedule()
        if choose is DEFAULT_CHOOSE:
            choose = chosen.choose
    else:
        resolved = as_schedule(schedule)
    choose = check_option("choose", choose, Choose)
    screen = check_option("screen", screen, Screen)
    if choose is not None and screen is not None:
        raise ConfigError(
            "screen= ranks configurations the model writes, but with choose=Choose() (the "
            "default) its rounds from trial 10 on pick among the base sampler's candidates: "
            "pass choose=None with screen="
        )
    if prefetch:
        if choose is not None or resolved.follows_study:
            raise ConfigError(
                "prefetch=True prepares a round before it starts, which needs a schedule fixed "
                "in advance and rounds the model writes: pass schedule='alternating' (or a "
                "fixed Schedule with choose=None)"
            )
        warnings.warn(
            "LLMSampler(prefetch=True) is experimental: it may change without a deprecation period.",
            ExperimentalWarning,
            stacklevel=3,
        )
    return resolved, choose


def check_option(name: str, value: _T | None, kind: type[_T]) -> _T | None:
    """``value`` when it is a ``kind`` or :obj:`None`; a :class:`TypeError` naming ``name``
    otherwise."""
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__} or None, got {value!r}")
    return value
