"""Setting a study's original values back without tuning (``atune-bridge restore``).

For when a run died (``kill -9``, a crash, a machine that went down) and is not to be resumed:
the study keeps the values read before its first trial (the study attribute
``atune_original``); this sets back each one that differs from what its ``get`` reads now,
restarts the service when a ``needrestart`` value changed, and reads every value set back with
its ``get``: it says the values are back only when they match. It takes the study's claim as a
run does (:mod:`atune_bridge._runner._claim`): it is refused while a live run holds the study,
and the trials a dead run left ``RUNNING`` are failed.

Imports the A-Tune formats and the runner's ``_claim``, ``_config``, ``_errors``, ``_records``,
``_shell``, ``_system``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from atune_bridge._format import AtuneBridgeError
from atune_bridge._runner._claim import StudyClaim
from atune_bridge._runner._config import RunnerConfig
from atune_bridge._runner._errors import ProjectError
from atune_bridge._runner._records import STUDY_APPLIED, STUDY_ORIGINAL, _open_storage, fail_stale_trials
from atune_bridge._runner._shell import UnsafeValueError, value_text
from atune_bridge._runner._system import _same, _StepFailed, _System, mismatch_text

if TYPE_CHECKING:
    from atune_bridge._format import ServerSpec

logger = logging.getLogger(__name__)

RESTORED_LABEL = "original values (set back by atune-bridge restore)"
"""What the study's ``atune_applied`` attribute says after a successful restore."""


@dataclass
class RestoreResult:
    """What :func:`restore_originals` did."""

    study_name: str
    storage: str
    original: dict[str, str]
    """The original values the study records."""
    set_back: dict[str, str] = field(default_factory=dict)
    """The parameters that differed and were set back, with their original value."""
    restarted: bool = False
    failed_trials: list[int] = field(default_factory=list)
    """Trials a dead run left ``RUNNING``, now failed."""
    taken_over: str | None = None
    """The dead run whose claim this one took over, described."""
    error: str | None = None
    """Why a value could not be set back or did not read back as set; None when all are back."""
    left_changed: dict[str, str] = field(default_factory=dict)
    unverified: list[str] = field(default_factory=list)
    """Parameters set back without a ``get`` to read them back with."""


def restore_originals(server: ServerSpec, config: RunnerConfig | None = None) -> RestoreResult:
    """Set the original values recorded in the study back on the service (see the module doc).

    ``config`` gives the storage, the study name (default the server file's project), the
    working directory and the command timeout; the rest of it is unused.

    Raises:
        StudyBusyError: a live run holds the study.
        ProjectError: no such study, no original values recorded, or the server file does not
            hold a parameter the study recorded.
    """
    config = config or RunnerConfig()
    study_name = config.study_name or server.project
    claim = StudyClaim(config.storage, study_name, "restore")
    claim.lock()
    try:
        storage = _open_storage(config.storage)
        try:
            study_id = storage.get_study_id_from_name(study_name)
        except KeyError:
            raise ProjectError(
                f"no study {study_name!r} in {config.storage}: nothing to set back "
                "(--study names the study, --storage its storage)"
            ) from None
        attrs = storage.get_study_user_attrs(study_id)
        claim.check(attrs)
        recorded = attrs.get(STUDY_ORIGINAL)
        if not isinstance(recorded, dict) or not recorded:
            raise ProjectError(
                f"study {study_name!r} in {config.storage} records no original values "
                "(its first run stopped before reading them): nothing to set back"
            )
        original = {str(k): str(v) for k, v in recorded.items()}
        by_name = {k.name: k for k in server.knobs}
        unknown = [name for name in original if name not in by_name]
        if unknown:
            raise ProjectError(
                f"{server.path}: no object {', '.join(map(repr, unknown))}, which study "
                f"{study_name!r} recorded: give the server file the study was tuned with"
            )
        knobs = [by_name[name] for name in original]
        target = {}
        for knob in knobs:
            try:
                target[knob.name] = value_text(knob, original[knob.name], check_domain=False)
            except UnsafeValueError as exc:
                raise ProjectError(f"study {study_name!r}: original value cannot be set back safely: {exc}") from None
        claim.record(storage, study_id)
        result = RestoreResult(
            study_name, config.storage, original, taken_over=claim.taken_over.describe() if claim.taken_over else None
        )
        result.failed_trials = fail_stale_trials(
            storage, study_id, "; its values were set back by atune-bridge restore"
        )
        system = _System(server, knobs, config)
        for knob in knobs:
            if knob.get:
                try:
                    system.state[knob.name] = system.read(knob)
                except ProjectError as exc:
                    logger.warning("%s; setting its original value back anyway", exc)
        result.set_back = {k.name: target[k.name] for k in knobs if not _same(k, system.state[k.name], target[k.name])}
        try:
            result.restarted = system.apply(result.set_back, None, only_changed=True)
            differ, result.unverified, _ = system.verify(target)
            if differ:
                raise ProjectError(mismatch_text(differ, target))
        except (_StepFailed, AtuneBridgeError, OSError) as exc:
            result.error = str(exc)
            result.left_changed = {
                k.name: system.state.get(k.name) or "unknown"
                for k in knobs
                if not _same(k, system.state.get(k.name), target[k.name])
            }
            return result
        storage.set_study_user_attr(study_id, STUDY_APPLIED, RESTORED_LABEL)
        return result
    finally:
        claim.release()
