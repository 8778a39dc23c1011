"""optuna-dashboard notes: each LLM trial's story in Markdown on its trial page.

The user attributes hold the same facts, but optuna-dashboard shows them sorted by name in a
small box; a note is shown first, in full. Every trial the model proposed and every LLM slot that
went to the base sampler gets one: who proposed it, the model, the rationale, the repairs, the
latency, and the error or the exact reason it fell back. The note is rendered from the trial's
user attributes (:mod:`optuna_llm_sampler._records._attrs`), so it never says more than they do.

optuna-dashboard is optional (extra ``dashboard``): without it no note is written and one debug
line says so. Writing a note never stops a study.
"""

from __future__ import annotations

import logging
import re
import types
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._records import _attrs
from optuna_llm_sampler._records._attr_io import read_study_system_attrs
from optuna_llm_sampler._records._attr_io import write_attrs
from optuna_llm_sampler._records._text import truncate


if TYPE_CHECKING:
    from collections.abc import Mapping

    from optuna.study import Study
    from optuna.trial import FrozenTrial


_logger = logging.getLogger(__name__)

_NOTE_CHARS = 8000
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|])")


def markdown_text(value: Any, limit: int = 1500) -> str:
    """``value`` as one line of inert Markdown: special characters escaped, HTML disarmed."""
    text = " ".join(str(value).split())
    text = truncate(text, limit)
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def trial_note(number: int, attrs: Mapping[str, Any]) -> str | None:
    """The Markdown note of trial ``number`` from its user attributes, or :obj:`None` when the
    trial has nothing to do with the model (the baseline or its slot, a base-sampler slot, a
    user's trial): a model slot that went to the base sampler records its round."""
    source = str(attrs.get(_attrs.ATTR_SOURCE, ""))
    is_llm = source == _attrs.SOURCE_LLM
    fell_back = not is_llm and any(key in attrs for key in (_attrs.ATTR_ERROR, _attrs.ATTR_ROUND))
    if not (is_llm or fell_back):
        return None
    proposer = "the model" if is_llm else markdown_text(source or "the base sampler")
    lines = [f"### Trial {number}: proposed by {proposer}"]
    if _attrs.ATTR_DISCARDED in attrs:
        lines.append(f"**Discarded, never run:** {markdown_text(attrs[_attrs.ATTR_DISCARDED])}")
    if not is_llm:
        if _attrs.ATTR_NOTE in attrs:
            lines.append(f"**Why not the model:** {markdown_text(attrs[_attrs.ATTR_NOTE])}")
        if _attrs.ATTR_ERROR in attrs:
            lines.append(
                "**Why not the model:** the model's round gave no proposal: " + markdown_text(attrs[_attrs.ATTR_ERROR])
            )
    lines.append(_call_line(attrs))
    if is_llm:
        rationale = attrs.get(_attrs.ATTR_RATIONALE)
        lines.append(f"**Rationale:** {markdown_text(rationale)}" if rationale else "**Rationale:** none given")
    choice = attrs.get(_attrs.ATTR_CHOICE)
    repairs = list(attrs.get(_attrs.ATTR_REPAIRS) or [])
    if repairs:
        lines.append(f"**Repairs ({len(repairs)}):**\n" + "\n".join(_repair_line(r) for r in repairs))
    elif is_llm and not isinstance(choice, dict):
        lines.append("**Repairs:** none: the configuration was used as the model wrote it")
    if isinstance(choice, dict):
        picked, of = markdown_text(choice.get("picked")), markdown_text(choice.get("of"))
        lines.append(
            f"**Chosen, not written:** the model picked candidate {picked} of {of} drawn by "
            f"{markdown_text(choice.get('drawn_by'))}"
        )
    vet = attrs.get(_attrs.ATTR_VET)
    if isinstance(vet, dict):
        if vet.get("error"):
            lines.append(f"**Vetting failed:** {markdown_text(vet['error'])}; the trial runs what the model wrote")
        else:
            own = ", ".join(markdown_text(p) for p in vet.get("own") or [])
            kept = "what it wrote" if vet.get("kept") == "written" else "a draw of the base sampler"
            lines.append(
                f"**Vetted:** the model's configuration was listed as candidate {own} of "
                f"{markdown_text(vet.get('of'))}; it picked {markdown_text(vet.get('picked'))}, "
                f"so the trial runs {kept}"
            )
    screen = attrs.get(_attrs.ATTR_SCREEN)
    if isinstance(screen, dict):
        predicted = screen.get("predicted")
        lines.append(
            f"**Screen:** kept as rank {screen.get('rank')} of {screen.get('of')} by "
            f"{markdown_text(screen.get('by'))}"
            + (f" (predicted {predicted:.4g})" if isinstance(predicted, (int, float)) else "")
        )
    artifacts = attrs.get(_attrs.ATTR_ARTIFACTS)
    if isinstance(artifacts, dict) and artifacts:
        kept = ", ".join(f"{markdown_text(k)} `{markdown_text(v)}`" for k, v in artifacts.items())
        owner = attrs.get(_attrs.ATTR_PROPOSED_BY, number)
        lines.append(f"**Prompt and reply:** artifacts of trial {owner}: {kept}")
    body = "\n\n".join(line for line in lines if line)
    return truncate(body, _NOTE_CHARS)


def _call_line(attrs: Mapping[str, Any]) -> str:
    if _attrs.ATTR_MODEL not in attrs:
        return ""
    parts = [f"**Model:** `{markdown_text(attrs[_attrs.ATTR_MODEL], 200)}`"]
    if _attrs.ATTR_ROUND in attrs:
        parts.append(f"round from trial {attrs[_attrs.ATTR_ROUND]}")
    if _attrs.ATTR_PROPOSED_BY in attrs:
        parts.append(f"asked by trial {attrs[_attrs.ATTR_PROPOSED_BY]}")
    latency = attrs.get(_attrs.ATTR_LATENCY)
    parts.append(f"latency {latency:.2f} s" if isinstance(latency, (int, float)) else "no reply received")
    if isinstance(attrs.get(_attrs.ATTR_PROMPT_CHARS), int):
        parts.append(f"prompt {attrs[_attrs.ATTR_PROMPT_CHARS]:,} characters")
    return "; ".join(parts)


def _repair_line(repair: Any) -> str:
    if not isinstance(repair, dict):
        return f"- {markdown_text(repair)}"
    param = f" `{markdown_text(repair['param'])}`" if repair.get("param") else ""
    return f"- {markdown_text(repair.get('kind', '?'))}{param}: {markdown_text(repair.get('detail', ''))}"


def save_trial_note(study: Study, trial_id: int, body: str) -> None:
    """Save ``body`` as the trial's optuna-dashboard note, as ``save_note`` would.

    With optuna-dashboard's own key and chunking functions, but the note's rows are read and
    written in one transaction each: ``save_note`` reads every study system attribute twice
    and commits once per row, which a long study (hundreds of round and share records) pays
    on every LLM trial. Falls back to ``save_note`` if those functions move.
    """
    try:
        from optuna_dashboard._note import note_str_key_prefix
        from optuna_dashboard._note import note_ver_key
        from optuna_dashboard._note import split_body
    except ImportError:
        from optuna_dashboard import save_note

        # save_note takes an optuna.Trial, whose constructor would call the sampler's
        # before_trial again: it needs only the storage, the study and the trial id.
        ref = types.SimpleNamespace(storage=study._storage, study=study, _trial_id=trial_id)
        save_note(ref, body)  # type: ignore[arg-type]
        return
    storage, study_id = study._storage, study._study_id
    version_key, chunk_prefix = note_ver_key(trial_id), note_str_key_prefix(trial_id)
    stored = read_study_system_attrs(storage, study_id, [version_key], prefix=chunk_prefix)
    rows: dict[str, Any] = {version_key: int(stored.get(version_key, 0)) + 1}
    chunks = split_body(body, trial_id)
    rows.update(chunks)
    # An earlier, longer note's chunks are emptied, as save_note does.
    earlier = sum(1 for key in stored if key.startswith(chunk_prefix))
    rows.update({f"{chunk_prefix}{i}": "" for i in range(len(chunks), earlier)})
    write_attrs(storage, trial_id, {}, study_id=study_id, study_system_attrs=rows)


class TrialNotes:
    """Writes the notes of :func:`trial_note` where optuna-dashboard shows them, if installed.

    Holds only whether the missing dependency was already logged, so it pickles with the sampler.
    """

    def __init__(self) -> None:
        self._unavailable = False

    def write(self, study: Study, trial: FrozenTrial) -> None:
        """Write ``trial``'s note, if it has one; log and go on on any failure."""
        if self._unavailable:
            return
        try:
            body = trial_note(trial.number, trial.user_attrs)
            if body is None:
                return
            try:
                import optuna_dashboard  # noqa: F401
            except ImportError:
                self._unavailable = True
                _logger.debug(
                    "optuna-dashboard is not installed: no trial notes (pip install 'optuna-llm-sampler[dashboard]')."
                )
                return
            save_trial_note(study, trial._trial_id, body)
        except Exception as e:  # A note is a record, never a reason to stop the study.
            _logger.warning(
                "Trial %d: could not write its optuna-dashboard note: %s: %s",
                trial.number,
                type(e).__name__,
                e,
            )
