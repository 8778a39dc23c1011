"""What the runner keeps: the study's storage, the attributes it writes on the study and its
trials, the :class:`TrialReport` it gives after every trial and the :class:`RunResult` of a run.

Imports the A-Tune formats only (for annotations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import optuna

if TYPE_CHECKING:
    from optuna.study import Study

    from atune_bridge._format import ClientSpec, Scoring, ServerSpec

SOURCE_BASELINE = "baseline"
SOURCE_ENQUEUED = "enqueued"
ATTR_FAIL_REASON = "fail_reason"

# Study user attributes the runner keeps.
STUDY_ORIGINAL = "atune_original"
STUDY_BASELINE = "atune_baseline_config"
STUDY_PROJECT = "atune_project"
STUDY_MODE = "atune_mode"
STUDY_APPLIED = "atune_applied"
STUDY_CONFIRM = "atune_bridge:confirm"
"""The re-measurement of the best configuration and the baseline (``--confirm``), a dict, when a
run made one: the report and the study note show it as the verified gain."""

ATTR_DISCARDED = "llm_discarded"
"""``optuna_llm_sampler.attrs.ATTR_DISCARDED``: a model proposal failed without ever running (the run
stopped in the middle of its round); counts and reports leave it out."""


def is_discarded(trial: Any) -> bool:
    """Whether ``trial`` is a discarded proposal that never ran (see :data:`ATTR_DISCARDED`)."""
    return ATTR_DISCARDED in trial.user_attrs


def _open_storage(url: str) -> optuna.storages.BaseStorage:
    """The storage at ``url``; a SQLite file through ``sqlite_storage``, which serialises writers
    so that several runner processes sharing one file never pop the same enqueued trial."""
    if url.startswith("sqlite:///"):
        try:
            from optuna_llm_sampler import sqlite_storage
        except ImportError:  # pragma: no cover - the sampler package ships with the bridge
            return optuna.storages.get_storage(url)
        return sqlite_storage(url)
    return optuna.storages.get_storage(url)


def _source_key() -> str:
    """The trial attribute naming who proposed the trial: the sampler package's ``ATTR_SOURCE``
    (``"source"`` without that package), imported on the call, not with the runner."""
    try:
        from optuna_llm_sampler._records import _attrs
    except ImportError:
        return "source"
    return str(getattr(_attrs, "ATTR_SOURCE", "source"))


@dataclass(frozen=True)
class TrialReport:
    """What one finished trial gave, for progress lines."""

    number: int
    state: str
    source: str
    metrics: dict[str, float]
    values: tuple[float, ...] | None
    reason: str | None
    restarted: bool
    finished: int
    budget: int
    best_number: int | None
    best_metrics: dict[str, float]
    best_values: tuple[float, ...] | None


@dataclass
class RunResult:
    """The outcome of :meth:`Runner.run`."""

    study: Study
    scoring: Scoring
    storage: str
    study_name: str
    server: ServerSpec
    client: ClientSpec
    new_trials: int = 0
    interrupted: str | None = None
    applied: str = ""
    restore_error: str | None = None
    left_changed: dict[str, str] = field(default_factory=dict)
    """When setting the values back failed: each parameter not at its target value, and what
    it holds (``"unknown"`` when its ``set`` failed half-way)."""
    warnings: list[str] = field(default_factory=list)
    stopped: dict[str, Any] | None = None
    """Why the run stopped before its budget (``--target-gain``, ``--patience``), as stored in
    the study user attribute ``atune_bridge:stopped``; None when it did not."""
    confirm: dict[str, Any] | None = None
    """The verified improvement (``--confirm``), as stored in the study user attribute
    ``atune_bridge:confirm`` (see :mod:`atune_bridge._runner._confirm`); None when not run."""
    report: Any = None
    """The :class:`~atune_bridge._runner._report.ReportFiles` when :func:`run_project` wrote one."""
