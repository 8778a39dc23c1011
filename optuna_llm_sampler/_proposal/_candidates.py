"""Candidates for a model round that chooses: drawn by the base sampler, shown numbered, picked.

The base sampler draws the candidates as Optuna draws a trial's parameters; the prompt lists
them one per line; the model's reply is read back as the numbers it picked. Whether a round
chooses is :class:`~optuna_llm_sampler.Choose`'s decision (:mod:`optuna_llm_sampler._policy`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._model._invoke import list_reply_schema
from optuna_llm_sampler._proposal._fixes import Repair
from optuna_llm_sampler._proposal._parse import find_json
from optuna_llm_sampler._proposal._repair import Proposal


if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler
    from optuna.study import Study
    from optuna.trial import FrozenTrial


_CHOICE_KEYS = ("candidate", "choice", "index", "number", "pick", "id")
_INTEGER = re.compile(r"(?<![\d.])\d+(?![\d.])")


def draw_candidates(
    base: BaseSampler,
    study: Study,
    trial: FrozenTrial,
    search_space: Mapping[str, BaseDistribution],
    count: int,
    evaluated: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Up to ``count`` distinct configurations from ``base``, none already evaluated.

    Each is drawn as Optuna draws a trial's parameters: the base sampler's relative sample,
    then independent samples for the parameters it leaves out. Draws that repeat a candidate
    or an evaluated configuration are retried, at most ``3 * count`` draws in all.
    """
    relative_space = {
        name: dist for name, dist in base.infer_relative_search_space(study, trial).items() if name in search_space
    }
    seen = {_key(params) for params in evaluated}
    out: list[dict[str, Any]] = []
    for _ in range(3 * count):
        if len(out) >= count:
            break
        params = dict(base.sample_relative(study, trial, relative_space)) if relative_space else {}
        params = {k: v for k, v in params.items() if k in search_space}
        for name, dist in search_space.items():
            if name not in params:
                params[name] = base.sample_independent(study, trial, name, dist)
        key = _key(params)
        if key in seen:
            continue
        seen.add(key)
        out.append(params)
    return out


def render_candidates(candidates: Sequence[Mapping[str, Any]], drawn_by: str, own: int = 0) -> str:
    """The prompt section: one numbered line per candidate, its parameters as JSON.

    ``own``: how many of them the model wrote (``Choose(vet_writes=True)``); which ones is
    not said, so that the pick weighs the configurations, not who wrote them.
    """
    if own:
        yours = "1 is" if own == 1 else f"{own} are"
        lines = [
            f"These {len(candidates)} configurations are candidates, in no particular order: "
            f"the optimiser ({drawn_by}) drew {len(candidates) - own}, {yours} your own "
            "proposal:"
        ]
    else:
        lines = [f"The optimiser ({drawn_by}) drew these {len(candidates)} configurations:"]
    for number, params in enumerate(candidates, start=1):
        lines.append(f"{number}. {json.dumps(params, default=str)}")
    return "\n".join(lines)


def place_own(
    drawn: Sequence[Mapping[str, Any]], own: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[int]]:
    """``drawn`` with the configurations of ``own`` inserted: the list, and where each of
    ``own`` is in it (in ``own``'s order).

    The places follow from the configurations themselves (a digest of them all), so every run
    of the same study puts them in the same places, and different studies in different ones:
    a model that favours a position in a list is not steered towards or away from its own.
    """
    digest = hashlib.sha256(json.dumps([list(drawn), list(own)], sort_keys=True, default=str).encode()).digest()
    rng = random.Random(digest)
    tagged: list[tuple[int | None, dict[str, Any]]] = [(None, dict(p)) for p in drawn]
    for index, params in enumerate(own):
        tagged.insert(rng.randint(0, len(tagged)), (index, dict(params)))
    places = {tag: place for place, (tag, _) in enumerate(tagged) if tag is not None}
    return [params for _, params in tagged], [places[i] for i in range(len(own))]


def choice_request(n: int, m: int) -> str:
    """The request part asking for ``n`` of ``m`` candidates."""
    what = "the candidate" if n == 1 else f"{n} different candidates"
    return (
        f"Choose {what} (by number, 1 to {m}) most likely to beat the best result so far, "
        "using what you know about these parameters and what the history shows.\n"
        "Reply with one JSON object and nothing else, in this form:\n"
        '{"choices": [{"candidate": <number>, "rationale": "<why, in one sentence>"}]}'
    )


def choice_schema(n: int, m: int) -> dict[str, Any]:
    """JSON schema of the reply: ``n`` choices, each a candidate number from 1 to ``m``."""
    number = {"type": "integer", "enum": list(range(1, m + 1))}
    return list_reply_schema("choices", n, "candidate", number)


@dataclasses.dataclass(frozen=True)
class Picks:
    """The candidates a reply picked, in its order, and what was fixed on the way."""

    proposals: list[Proposal]
    numbers: list[int]
    notes: list[Repair]


def read_choices(text: str, candidates: Sequence[Mapping[str, Any]], n: int, deadline: float | None = None) -> Picks:
    """The first ``n`` distinct valid candidate numbers in the reply ``text``.

    Reads ``{"choices": [{"candidate": 3, "rationale": ...}]}`` and the shapes small models
    write instead (``{"choice": 3}``, ``[3, 1]``, ``"3"``, a number in prose). Numbers outside
    1..len(candidates) and repeats are dropped and noted.
    """
    notes: list[Repair] = []
    value = find_json(text, notes, deadline)
    found: list[tuple[Any, str]] = _choices_in(value) if value is not None else []
    if value is None:  # prose only: JSON without a choice (e.g. a configuration) names none
        numbers = _INTEGER.findall(text)
        if numbers:
            notes.append(Repair("extracted", None, "candidate number read from prose"))
            found = [(int(numbers[0]), "")]
    proposals: list[Proposal] = []
    picked: list[int] = []
    for raw, rationale in found:
        if len(picked) >= n:
            notes.append(Repair("extra", None, f"more than {n} choice(s); the rest ignored"))
            break
        number = _as_int(raw)
        if number is None or not 1 <= number <= len(candidates):
            notes.append(Repair("unusable", None, f"candidate {raw!r} is not a number from 1 to {len(candidates)}"))
            continue
        if number in picked:
            notes.append(Repair("duplicate", None, f"candidate {number} chosen twice"))
            continue
        picked.append(number)
        proposals.append(Proposal(dict(candidates[number - 1]), rationale, ()))
    return Picks(proposals, picked, notes)


def _choices_in(value: Any) -> list[tuple[Any, str]]:
    if isinstance(value, dict):
        for key in ("choices", "choice", "candidates", "picks", "selection"):
            if key in value:
                return _choices_in(value[key])
        for key in _CHOICE_KEYS:
            if key in value:
                rationale = value.get("rationale") or value.get("reason") or ""
                return [(value[key], rationale if isinstance(rationale, str) else "")]
        return []
    if isinstance(value, list):
        out: list[tuple[Any, str]] = []
        for item in value:
            out.extend(_choices_in(item) if isinstance(item, (dict, list)) else [(item, "")])
        return out
    return [(value, "")]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _key(params: Mapping[str, Any]) -> str:
    return json.dumps({k: params[k] for k in sorted(params)}, default=str)
