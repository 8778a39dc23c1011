"""One line saying how many trials the model proposed in a study, and what decided that.

A run in which the model proposed one trial of twenty-four is the measured default with a model
that has not shown it is ahead, not a fault; this line says so where a user looks: at the end
of ``atune-bridge tune`` and in the study's optuna-dashboard note. It is read from what the
sampler stored (trial attributes and the adaptive schedule's decisions), so it works on any
study, in any process.
"""

from __future__ import annotations

from typing import Any
from typing import TYPE_CHECKING

from optuna.trial import TrialState

from optuna_llm_sampler._policy._adaptive import decisions
from optuna_llm_sampler._records import _attrs


if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.study import Study
    from optuna.trial import FrozenTrial


def source_of(trial: FrozenTrial, base_name: str) -> str:
    """Who proposed ``trial``: its ``source`` attribute, or ``base_name`` (the base sampler's
    name, e.g. ``"TPESampler"``) for a trial without one, which the base sampler proposed in
    its own slot (LLMSampler writes nothing on those).

    Example:

        .. code-block:: python

            from optuna_llm_sampler.attrs import source_of

            proposers = [source_of(t, "TPESampler") for t in study.trials]
    """
    return str(trial.user_attrs.get(_attrs.ATTR_SOURCE, base_name))


def share_summary(study: Study) -> str | None:
    """How many trials of ``study`` the model proposed and why, in one line.

    :obj:`None` for a study the sampler never gave the model a slot in (no model trial, no
    fallback, no recorded decision): there is nothing to explain.

    Example:

        .. code-block:: python

            from optuna_llm_sampler.attrs import share_summary

            print(share_summary(study))
            # The model proposed 1 of 24 trials (7); at trial 23 its share of blocks was 10%:
            # p_better 0.41, its trials not ahead of the base sampler's. ...
    """
    trials = [t for t in study.get_trials(deepcopy=False) if t.state is not TrialState.WAITING]
    model = [
        t.number
        for t in trials
        if t.user_attrs.get(_attrs.ATTR_SOURCE) == _attrs.SOURCE_LLM and _attrs.ATTR_DISCARDED not in t.user_attrs
    ]
    picked = sum(1 for t in trials if t.number in model and isinstance(t.user_attrs.get(_attrs.ATTR_CHOICE), dict))
    fell_back = [
        t.number
        for t in trials
        if t.user_attrs.get(_attrs.ATTR_SOURCE) != _attrs.SOURCE_LLM
        and (_attrs.ATTR_ROUND in t.user_attrs or _attrs.ATTR_ERROR in t.user_attrs)
    ]
    records = dict(decisions(study))
    # The sampler in this process decides the blocks it has not written yet (its base blocks
    # after its last write) from the same trials; from storage alone the line is as of the
    # last recorded decision.
    decide = getattr(study.sampler, "decision", None)
    if callable(decide) and trials:
        latest = decide(trials[-1].number, study)
        if isinstance(latest, dict) and isinstance(latest.get("block"), int):
            records[latest["block"]] = latest
    if not model and not fell_back and not records:
        return None
    parts = [f"The model proposed {len(model)} of {len(trials)} trials{_numbers(model)}"]
    if picked:
        parts[0] += f", {picked} of them picked among the base sampler's candidates"
    if fell_back:
        parts.append(
            f"{len(fell_back)} of its slots went to the base sampler{_numbers(fell_back)} "
            "(the trial's llm_error or llm_note says why)"
        )
    if records:
        block = max(records)
        record = records[block]
        parts.append(f"at trial {block} its share of blocks was {_percent(record)}: {_reason(record)}")
    else:
        parts.append("its schedule is fixed (no adaptive share)")
    return "; ".join(parts) + "."


def _numbers(numbers: Sequence[int], shown: int = 8) -> str:
    if not numbers:
        return ""
    head = ", ".join(str(n) for n in numbers[:shown])
    return f" ({head}{', ...' if len(numbers) > shown else ''})"


def _percent(record: Mapping[str, Any]) -> str:
    share = record.get("share")
    return f"{share:.0%}" if isinstance(share, (int, float)) else "unknown"


def _reason(record: Mapping[str, Any]) -> str:
    """Why the adaptive schedule gave the share it gave, from one recorded decision."""
    llm = record.get("llm") or [0, 0]
    base = record.get("base") or [0, 0]
    p = record.get("p_better")
    if "bar_from" in record and not base[0]:
        return (
            f"no trial of the base sampler's from trial {record['bar_from']} on (after its random "
            "start-up) was scored yet, so the model had no bar to be ahead of and kept the floor"
        )
    if not llm[0]:
        return "none of the model's trials was scored yet"
    ahead = isinstance(p, (int, float)) and p > 0.5
    text = (
        f"the probability that its trials beat the base sampler's is {p} ({llm[0]} of its "
        f"trials scored against {base[0]})"
    )
    if "p_written" in record:
        text += f", {record['p_written']} for those it wrote"
    return text + (
        ": ahead, so its share rises above the floor"
        if ahead
        else ": not ahead, and a model must be ahead to earn more than the floor"
    )
