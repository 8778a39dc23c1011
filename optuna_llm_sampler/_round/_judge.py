"""Reading a model call's reply: proposals repaired against the distributions, the picks of a
round that chooses, and the vetting of what the model wrote."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._proposal._candidates import read_choices
from optuna_llm_sampler._proposal._history import evaluated_params
from optuna_llm_sampler._proposal._parse import parse_reply
from optuna_llm_sampler._proposal._repair import repair_candidates
from optuna_llm_sampler._records import _attrs
from optuna_llm_sampler._records._text import truncate
from optuna_llm_sampler._round._ask import ask_model
from optuna_llm_sampler._round._parts import Outcome


if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from optuna_llm_sampler._proposal._repair import Proposal
    from optuna_llm_sampler._round._parts import Call
    from optuna_llm_sampler._round._parts import Round
    from optuna_llm_sampler._round._settings import RoundSettings


_logger = logging.getLogger(__name__)


def judge(s: RoundSettings, study: Study, call: Call, trials: Sequence[FrozenTrial], n: int) -> Outcome:
    """Parse and repair the reply against the current history: proposals or an error."""
    about, search_space = call.about, call.search_space
    if call.error is not None or call.raw is None:
        return Outcome(about, notes=list(call.notes), error=call.error or "no reply", status="failed")
    if call.candidates:
        return _chosen(s, about, call, n)
    parsed = parse_reply(call.raw, list(search_space), call.deadline)
    result = repair_candidates(parsed.candidates, search_space, evaluated_params(trials), limit=call.asked)
    notes = [*call.notes, *parsed.notes, *result.rejected]
    if result.proposals and s.screen is not None:
        kept = s.screen.select(result.proposals, n, trials, search_space, study.directions)
        return Outcome(
            about,
            proposals=[p for p, _ in kept],
            notes=notes,
            screens=[record for _, record in kept],
        )
    if result.proposals:
        return Outcome(about, proposals=result.proposals, notes=notes)
    error = "the reply has no usable configuration"
    if not parsed.candidates and not parsed.notes:
        error += ": no JSON object or list found"
    elif notes:
        error += ": " + "; ".join(r.detail for r in notes[-3:])
    return Outcome(about, notes=notes, error=error, status="unusable")


def _chosen(s: RoundSettings, about: dict[str, Any], call: Call, n: int) -> Outcome:
    candidates = call.candidates
    assert call.raw is not None
    picks = read_choices(call.raw, candidates, n, call.deadline)
    picks = dataclasses.replace(picks, notes=[*call.notes, *picks.notes])
    if not picks.proposals:
        detail = "; ".join(r.detail for r in picks.notes[-3:]) or "no candidate number found"
        return Outcome(
            about,
            notes=picks.notes,
            error=f"the reply chose no candidate: {detail}",
            status="unusable",
        )
    choices: list[dict[str, Any] | None] = [
        {"picked": number, "of": len(candidates), "drawn_by": s.base_name} for number in picks.numbers
    ]
    return Outcome(about, proposals=picks.proposals, notes=picks.notes, choices=choices)


def vet(
    s: RoundSettings,
    study: Study,
    trial: FrozenTrial,
    round_: Round,
    trials: Sequence[FrozenTrial],
    search_space: Mapping[str, BaseDistribution],
    written: Outcome,
    record: dict[str, Any],
) -> Outcome:
    """``Choose(vet_writes=True)``: the written configurations among the base sampler's
    draws, and the model's picks of them all; ``written`` itself if that call fails."""
    n = len(written.proposals)
    own = [p.params for p in written.proposals]
    call = ask_model(s, study, round_, trials, search_space, trial.number, choose_on=trial, own=own)
    record["seconds"] = round(record.get("seconds", 0.0) + call.seconds, 3)
    if call.about:  # the model was asked (not when the base sampler drew too few)
        record["calls"] = 2
    # Numbered from 1, as the prompt shows them; a place cut off by the prompt is None.
    places = [i + 1 if i < len(call.candidates) else None for i in call.own]
    vetting: dict[str, Any] = {"of": len(call.candidates), "own": places}
    if call.raw is not None:
        vetting["raw_reply"] = truncate(call.raw, s.config.raw_reply_chars)
        vetting["latency_s"] = call.about.get(_attrs.ATTR_LATENCY)
    if _attrs.ATTR_ARTIFACTS in call.about:
        vetting["artifacts"] = call.about[_attrs.ATTR_ARTIFACTS]
    picked = judge(s, study, call, trials, n)  # as a round that chooses reads its reply
    if picked.error is not None:
        vetting["error"] = picked.error
        _logger.warning(
            "LLM round %s (trial %d): vetting failed, the written configuration(s) stand: %s",
            round_.label,
            trial.number,
            vetting["error"],
        )
        return dataclasses.replace(written, vets=[{**vetting, "kept": "written"}] * n)
    mine = {place: p for place, p in zip(places, written.proposals) if place is not None}
    numbers = [choice["picked"] for choice in picked.choices or [] if choice is not None]
    proposals: list[Proposal] = []
    choices: list[dict[str, Any] | None] = []
    vets: list[dict[str, Any]] = []
    for number, pick, choice in zip(numbers, picked.proposals, picked.choices or []):
        drawn = number not in mine
        proposals.append(pick if drawn else mine[number])
        choices.append(choice if drawn else None)
        vets.append({**vetting, "picked": number, "kept": "draw" if drawn else "written"})
    for place, proposal in zip(places, written.proposals):  # fewer picks: its own fill in
        if len(proposals) < n and (place is None or place not in numbers):
            proposals.append(proposal)
            choices.append(None)
            vets.append({**vetting, "picked": None, "kept": "written"})
    return dataclasses.replace(
        written, proposals=proposals, notes=[*written.notes, *picked.notes], choices=choices, vets=vets, screens=None
    )
