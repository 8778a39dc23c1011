"""Choose rather than write: the base sampler draws candidates, the model picks among them.

A 135M model writes 14 valid values badly, but it can point at one line of a short list. With
:class:`Choose`, an LLM round asks the base sampler (TPE by default) for ``candidates`` times as
many configurations as the round has trials, shows them numbered in the prompt, and asks the
model for the numbers of the ones to run. Every configuration the model can pick is one the
base sampler would have considered, so a model that knows nothing costs little, and one that
knows the service can steer the search towards what it knows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._errors import ChooseConfigError
from optuna_llm_sampler._fixes import Repair
from optuna_llm_sampler._invoke import list_reply_schema
from optuna_llm_sampler._parse import find_json
from optuna_llm_sampler._repair import Proposal


if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler
    from optuna.study import Study
    from optuna.trial import FrozenTrial


_CHOICE_KEYS = ("candidate", "choice", "index", "number", "pick", "id")
_INTEGER = re.compile(r"(?<![\d.])\d+(?![\d.])")


@dataclasses.dataclass(frozen=True)
class Choose:
    """The model picks each of a round's configurations from the base sampler's candidates.

    Each trial it picks records ``llm_choice``: the candidate's number ``picked`` among ``of``
    candidates drawn by ``drawn_by`` (the base sampler's class name).

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import Choose, LLMSampler, make_chat_model

            sampler = LLMSampler(
                make_chat_model("random:0"),
                search_space={"x": optuna.distributions.IntDistribution(1, 64)},
                choose=Choose(candidates=4),
            )
            study = optuna.create_study(sampler=sampler)
            study.optimize(lambda t: (t.suggest_int("x", 1, 64) - 24) ** 2, n_trials=8)
            print([t.user_attrs.get("llm_choice") for t in study.trials])

    Args:
        candidates:
            Candidates drawn per trial of the round. Default 4: enough for the model's
            knowledge to matter, a list short enough for a small model to read.
        from_trial:
            Rounds that start before this trial number are written by the model, as without
            ``Choose``; later rounds choose. Default 0: every round chooses. Before TPE has
            learnt anything (its first 10 trials are random draws) its candidates carry no
            information for a model to choose from, and a model that knows the service is
            worth most there; later, choosing keeps a model that knows nothing from taking
            trials away from TPE's own proposals. ``Choose(from_trial=10)`` is that hybrid;
            LLMSampler's default adds ``write_when_ahead=True`` and ``vet_writes=True``.
        write_when_ahead:
            With :class:`~optuna_llm_sampler.AdaptiveSchedule`, a round from ``from_trial`` on
            is still written when the schedule's evidence for its block says the trials the
            model wrote are ahead of the base sampler's (``p_written``, or ``p_better`` when
            it has picked none, above one half in the trial's ``llm_share``): a model that
            has shown it knows the service keeps writing values the base sampler would not
            draw; one that has not picks among them. The trials it picked do not count here:
            they are the base sampler's draws, and a model that picks well can still write
            badly.
            Default :obj:`False` here, :obj:`True` in LLMSampler's default ``choose``. Other
            schedules record no evidence: their rounds choose.
        write_after:
            A round that would be written chooses instead while the study has fewer than
            this many complete trials. A small model shown only the baseline copies it:
            SmolLM2's first written configuration is worth well under TPE's random draws
            (``docs/ablation.md``), while picking among those draws costs nothing. Default 0:
            rounds before ``from_trial`` are written from the first trial on.
        vet_writes:
            A round that writes asks the model twice: it writes its configurations, which
            then join the base sampler's draws (``candidates`` per trial in all, the model's
            own at places drawn from the list's contents), and it picks among them. A
            configuration it wrote and picked is a written trial; a draw it picked is a picked
            one (``llm_choice``), and each records the vetting (``llm_vet``). A model that
            writes worse than the base sampler draws can prefer the draws, and one whose
            configurations are better keeps them. If the second call fails or picks nothing,
            the written configurations stand. Default :obj:`False` here, :obj:`True` in
            LLMSampler's default ``choose`` (since stop 24).
    """

    candidates: int = 4
    from_trial: int = 0
    write_when_ahead: bool = False
    write_after: int = 0
    vet_writes: bool = False

    def applies_to(
        self, round_start: int, p_better: float | None = None, complete: int | None = None
    ) -> bool:
        """Whether the round starting at trial ``round_start`` chooses (else it writes).

        ``p_better`` is the schedule's probability that the model's trials are the better
        ones, for the round's block; LLMSampler passes the one for the trials the model wrote
        (``p_written`` when it has also picked), and :obj:`None` when the schedule records
        none or the model has written nothing yet;
        ``complete`` is how many of the study's trials are complete (:obj:`None`: not
        counted, ``write_after`` is not applied).
        """
        if complete is not None and complete < self.write_after:
            return True
        if round_start < self.from_trial:
            return False
        return not (self.write_when_ahead and p_better is not None and p_better > 0.5)

    def __post_init__(self) -> None:
        if isinstance(self.candidates, bool) or not isinstance(self.candidates, int):
            raise ChooseConfigError(
                f"Choose(candidates=...) must be an int, got {self.candidates!r}"
            )
        if not 2 <= self.candidates <= 20:
            raise ChooseConfigError(
                f"Choose(candidates={self.candidates}) must be between 2 and 20: one candidate "
                "leaves nothing to choose, and a long list is more than a small model reads"
            )
        for flag in ("write_when_ahead", "vet_writes"):
            if not isinstance(getattr(self, flag), bool):
                raise ChooseConfigError(
                    f"Choose({flag}=...) must be True or False, got {getattr(self, flag)!r}"
                )
        for field in ("from_trial", "write_after"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ChooseConfigError(f"Choose({field}=...) must be an int >= 0, got {value!r}")


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
        name: dist
        for name, dist in base.infer_relative_search_space(study, trial).items()
        if name in search_space
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


def render_candidates(
    candidates: Sequence[Mapping[str, Any]], drawn_by: str, own: int = 0
) -> str:
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
    digest = hashlib.sha256(
        json.dumps([list(drawn), list(own)], sort_keys=True, default=str).encode()
    ).digest()
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


def read_choices(text: str, candidates: Sequence[Mapping[str, Any]], n: int) -> Picks:
    """The first ``n`` distinct valid candidate numbers in the reply ``text``.

    Reads ``{"choices": [{"candidate": 3, "rationale": ...}]}`` and the shapes small models
    write instead (``{"choice": 3}``, ``[3, 1]``, ``"3"``, a number in prose). Numbers outside
    1..len(candidates) and repeats are dropped and noted.
    """
    notes: list[Repair] = []
    value = find_json(text, notes)
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
            notes.append(
                Repair("unusable", None, f"candidate {raw!r} is not a number from 1 to "
                       f"{len(candidates)}")
            )
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


DEFAULT_CHOOSE = Choose(from_trial=10, write_when_ahead=True, vet_writes=True)
"""LLMSampler's default: written rounds in TPE's random start-up; after it, chosen rounds,
unless the model's trials are ahead of the base sampler's.

Every written round is vetted: the model's configuration joins the base sampler's draws and
the model picks among them, so a model that writes worse than the base sampler draws can keep
a draw instead (measured in stop 23, the tenth pass of ``docs/ablation.md``; the default
since stop 24).

The fourth pass of the ablation (``docs/ablation.md``, 1,000 seeds per problem) found it
within noise of TPE on the problems whose names mean nothing (where writing every round cost
3.8 standard errors late on Ackley) and as good as writing every round with good advice
(where choosing every late round fell behind it).
"""
