"""Why an LLM-scheduled trial that does not own its round went to the base sampler.

The round's owner asks the model once and enqueues one proposal per other slot; a slot gets no
proposal when the reply had fewer usable configurations than slots (duplicates, empty ones), when
the call failed, or when the trial started before the owner had enqueued anything (several
workers). The reason is read from the round's record (study system attribute
``optuna_llm_sampler:round:<start>``), which the owner completes before its trial runs, so a
sequential study always gets the final reason.
"""

from __future__ import annotations

from typing import Any
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from collections.abc import Mapping

# Repair kinds that drop a whole configuration of the reply (see _fixes.Repair).
DROPPING_KINDS = frozenset({"duplicate", "empty", "extra", "unusable"})


def not_owner_reason(label: str, owner: int, record: Mapping[str, Any] | None, n_slots: int) -> str:
    """The reason a trial of round ``label`` (``n_slots`` LLM slots) owned by ``owner`` got no
    proposal, from the round's ``record`` (:obj:`None` while the owner has not started)."""
    prefix = f"round {label} is asked by trial {owner}"
    if not record:
        return (
            f"{prefix}, which had not asked the model yet when this trial started; its proposals go to the next trials"
        )
    status = record.get("status", "asking")
    if status == "over_budget":
        return str(record.get("note", "model budget spent"))
    if status == "done":
        given = int(record.get("proposals", n_slots))
        if given < n_slots:
            dropped = list(record.get("dropped") or [])
            why = f" (dropped: {'; '.join(str(d) for d in dropped)})" if dropped else ""
            return (
                f"{prefix}; the model's reply gave {given} usable configuration(s) for {n_slots} "
                f"LLM slot(s), so none was left for this trial{why}"
            )
        return (
            f"{prefix}; this trial started before trial {owner} enqueued the round's proposals, "
            "which go to the next trials"
        )
    if status in ("failed", "unusable"):
        error = record.get("error") or "no reason recorded"
        return f"{prefix}, whose model call gave no proposal: {error}"
    if status == "skipped":
        return f"{prefix}, which had no search space yet"
    return (
        f"{prefix}, which was still asking the model when this trial started "
        f"(status: {status}); its proposals go to the next trials"
    )


def dropped_details(notes: Any) -> dict[str, list[str]]:
    """For the round's record: ``{"dropped": details}`` of the repairs in ``notes`` that dropped
    a whole configuration, or ``{}`` when none did."""
    dropped = [r.detail for r in notes if r.kind in DROPPING_KINDS]
    return {"dropped": dropped} if dropped else {}
