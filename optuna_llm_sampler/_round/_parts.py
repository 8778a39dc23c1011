"""The pieces of a model round: its trial numbers, one model call, and what the call gave."""

from __future__ import annotations

import dataclasses
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._policy._schedule import TrialRole
from optuna_llm_sampler._proposal._fixes import Repair
from optuna_llm_sampler._records import _attrs
from optuna_llm_sampler._records._text import truncate


if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution

    from optuna_llm_sampler._policy._schedule import Schedule
    from optuna_llm_sampler._proposal._prompt import PromptConfig
    from optuna_llm_sampler._proposal._repair import Proposal


@dataclasses.dataclass(frozen=True)
class Round:
    """A block of LLM-scheduled trial numbers answered by one model call."""

    start: int
    slots: tuple[int, ...]
    label: str

    @property
    def key(self) -> str:
        return _attrs.ROUND_RECORD_PREFIX + str(self.start)


def role_of(schedule: Schedule, number: int, *, baseline: bool) -> TrialRole:
    """The role of trial ``number``: the schedule's, except trial 0 when a baseline is given."""
    if number == 0 and baseline:
        return TrialRole.BASELINE
    return schedule.role(number)


def round_of(schedule: Schedule, number: int, *, baseline: bool) -> Round:
    """The round holding trial ``number``: the schedule's span, its LLM trials as slots."""
    span = schedule.round_of(number)
    if span is None or number not in span:
        span = range(number, number + 1)
    slots = tuple(n for n in span if role_of(schedule, n, baseline=baseline) is TrialRole.LLM)
    label = f"{span.start}-{span.stop - 1}" if len(span) > 1 else str(span.start)
    return Round(span.start, slots, label)


@dataclasses.dataclass
class Call:
    """One model call for a round: the reply's text or the error, and what the trials record."""

    about: dict[str, Any]
    search_space: dict[str, BaseDistribution]
    asked: int
    raw: str | None = None
    error: str | None = None
    seconds: float = 0.0
    candidates: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    own: list[int] = dataclasses.field(default_factory=list)
    """Where in ``candidates`` each of the model's own configurations is (vetting); a place
    past the list's end was cut off by the prompt's budget."""
    deadline: float | None = None
    """The :func:`time.monotonic` time the model's timeout runs out: reading the reply counts
    against it."""
    notes: list[Repair] = dataclasses.field(default_factory=list)
    """What was cut on the way: the schema sent, the reply read."""


@dataclasses.dataclass
class Outcome:
    """What one model call gave: proposals, or an error; attributes shared by the round."""

    about: dict[str, Any]
    proposals: list[Proposal] = dataclasses.field(default_factory=list)
    notes: list[Repair] = dataclasses.field(default_factory=list)
    error: str | None = None
    status: str = "done"
    screens: list[dict[str, Any]] | None = None
    choices: list[dict[str, Any] | None] | None = None
    vets: list[dict[str, Any]] | None = None

    def attrs_for(self, index: int, config: PromptConfig) -> dict[str, Any]:
        """The attributes of the trial running proposal ``index``, within ``config``'s caps."""
        proposal = self.proposals[index]
        attrs = {
            **self.about,
            _attrs.ATTR_SOURCE: _attrs.SOURCE_LLM,
            _attrs.ATTR_RATIONALE: truncate(proposal.rationale, config.rationale_chars),
            _attrs.ATTR_REPAIRS: repairs_json([*self.notes, *proposal.repairs], config.repairs_kept),
        }
        if self.screens is not None:
            attrs[_attrs.ATTR_SCREEN] = self.screens[index]
        if self.choices is not None and self.choices[index] is not None:
            attrs[_attrs.ATTR_CHOICE] = self.choices[index]
        if self.vets is not None:
            attrs[_attrs.ATTR_VET] = self.vets[index]
        return attrs


def repairs_json(repairs: Sequence[Repair], kept: int) -> list[dict[str, Any]]:
    """The first ``kept`` repairs as records; a last record counts the ones left out."""
    out = [r.to_json() for r in repairs[:kept]]
    if len(repairs) > kept:
        out.append(
            {
                "kind": "cut",
                "param": None,
                "detail": f"{len(repairs) - kept} more repair(s) not kept (PromptConfig.repairs_kept)",
            }
        )
    return out


def writing_evidence(decision: Mapping[str, Any] | None) -> float | None:
    """The probability that the model writes better trials than the base sampler proposes.

    A schedule's record carries ``p_written`` when some of the model's trials were picked
    among the base sampler's candidates: those say how well it chooses, and a model that
    chooses well but writes badly must not earn rounds to write with them. Without picks (and
    in records that carry no ``p_written``) ``p_better`` judges the same trials.
    :obj:`None`: no evidence, the round chooses.
    """
    if decision is None:
        return None
    if "p_written" in decision:
        return decision["p_written"]
    return decision.get("p_better")


def vetting_summary(vets: Sequence[Mapping[str, Any]] | None, base_name: str) -> str:
    """The log line's account of a vetted round: what the model kept, or that vetting failed."""
    if not vets:
        return ""
    if any(v.get("error") for v in vets):
        return "; vetting failed, its own configuration(s) stand"
    kept = sum(v.get("kept") == "written" for v in vets)
    latency = vets[0].get("latency_s")
    took = f" in {latency:.1f} s" if isinstance(latency, (int, float)) else ""
    return f"; vetted{took}: kept {kept} of its own, preferred {len(vets) - kept} of {base_name}'s draws"
