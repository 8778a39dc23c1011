"""Named model roles: a schedule and how its rounds use the model, under one name.

``LLMSampler(schedule="alternating")`` or ``atune-bridge tune --schedule alternating`` picks
one; each is exactly the options it names, so a preset and the same options written out run
the same trials.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from optuna_llm_sampler._errors import ConfigError
from optuna_llm_sampler._policy._adaptive import AdaptiveSchedule
from optuna_llm_sampler._policy._choose import Choose
from optuna_llm_sampler._policy._schedule import AlternatingSchedule


if TYPE_CHECKING:
    from collections.abc import Callable

    from optuna_llm_sampler._policy._schedule import Schedule


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named model role: which trials the model proposes and whether its rounds choose.

    Attributes:
        name: What ``schedule=`` and ``--schedule`` take.
        summary: One line on what the model does under it.
        make_schedule: A new schedule (an adaptive one keeps decisions per study, so each
            sampler gets its own).
        choose: The rounds' :class:`Choose`, or :obj:`None` when the model writes every
            configuration of its rounds.
    """

    name: str
    summary: str
    make_schedule: Callable[[], Schedule]
    choose: Choose | None


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "adaptive",
            "the default: the model writes trial 7 in the base sampler's start-up, then earns "
            "blocks of two trials (10-50% of them) by how its trials fare against the base "
            "sampler's; it picks among the base sampler's candidates unless what it wrote is "
            "ahead, and every round it writes is vetted among the base sampler's draws",
            AdaptiveSchedule,
            Choose(),
        ),
        Preset(
            "alternating",
            "two model trials, then two of the base sampler's, repeating from trial 1; the model "
            "writes every configuration of its rounds (the experiment this project grew from)",
            AlternatingSchedule,
            None,
        ),
        Preset(
            "write",
            "the default's adaptive share, but the model writes every round it gets (no picking "
            "among the base sampler's candidates, no vetting)",
            AdaptiveSchedule,
            None,
        ),
    )
}
"""The presets by name; ``"adaptive"`` is LLMSampler's default."""

DEFAULT_PRESET = "adaptive"


def preset(name: str) -> Preset:
    """The preset called ``name``.

    Raises:
        ConfigError: no preset has that name; the message lists them.
    """
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"schedule={name!r} is not a preset: choose from "
            + ", ".join(repr(p) for p in PRESETS)
            + ", or pass a Schedule"
        ) from None
