"""The study's optuna-dashboard note: the project, the baseline, the best and the verified gain.

optuna-dashboard shows a study's note above its plots; the runner writes it at the end of every
run (a resumed run rewrites it), from the same :class:`~atune_bridge._runner._report.Summary` as
the report. optuna-dashboard is optional: without it no note is written (one debug line), and a
failed write is logged, never raised.

Imports the runner's ``_report``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from atune_bridge._runner._report import Summary, _metrics_text

if TYPE_CHECKING:
    from optuna.study import Study

logger = logging.getLogger(__name__)


def _md(text: object) -> str:
    out = " ".join(str(text).split())
    for ch in "\\`*_[]#|":
        out = out.replace(ch, "\\" + ch)
    return out.replace("<", "&lt;").replace(">", "&gt;")


def study_note(summary: Summary, artifact_dir: str | None = None) -> str:
    """The study's note in Markdown."""
    lines = [f"## A-Tune project {_md(summary.project)}"]
    lines.append(f"**Verified gain:** {_md(summary.verified_gain)}")
    objective = ", ".join(f"{n} ({d})" for n, d in zip(summary.objective_names, summary.directions))
    counted = ", ".join(f"{n} {_md(source)}" for source, n in summary.sources.items())
    lines.append(
        f"{summary.n_complete} completed, {summary.n_failed} failed trials ({counted}); "
        f"objective {_md(objective)}."
        + (
            f" {summary.n_discarded} proposal(s) of the model were discarded without running."
            if summary.n_discarded
            else ""
        )
    )
    if summary.model_share:
        lines.append(f"**The model:** {_md(summary.model_share)}")
    base, best = summary.baseline, summary.best
    if base is not None:
        lines.append(
            f"**Baseline:** trial {base.number}: {_md(_metrics_text(base.metrics))}  \n`{_md(base.params_text)}`"
        )
    else:
        lines.append("**Baseline:** not measured")
    if best is not None:
        lines.append(
            f"**Best:** {_md(summary.best_label)}: {_md(_metrics_text(best.metrics))}  \n`{_md(summary.best_line)}`"
        )
        gains = [f"{_md(n)} {v:+.2f}%" for n, v in summary.improvement.items() if v is not None]
        if gains:
            lines.append("**Gain over the baseline (single measurements):** " + ", ".join(gains))
    else:
        lines.append("**Best:** no trial completed")
    if summary.applied:
        lines.append(f"Left applied at the end: {_md(summary.applied)}.")
    if artifact_dir:
        lines.append(
            f"Prompts and replies of the model: `optuna-dashboard {_md(summary.storage)} "
            f"--artifact-dir {_md(artifact_dir)}`"
        )
    return "\n\n".join(lines)


def write_study_note(study: Study, summary: Summary, artifact_dir: str | None = None) -> bool:
    """Write :func:`study_note` on ``study``; False when optuna-dashboard is missing or it failed."""
    try:
        from optuna_dashboard import save_note
    except ImportError:
        logger.debug("optuna-dashboard is not installed: no study note")
        return False
    try:
        save_note(study, study_note(summary, artifact_dir))
    except Exception as exc:  # A note is a record, never a reason to fail the run.
        logger.warning("could not write the study's optuna-dashboard note: %s: %s", type(exc).__name__, exc)
        return False
    return True
