"""The runner's warm start (``--warm-start STUDY[@STORAGE]``): earlier studies' best trials
enqueued in the new study, so the sampler starts from what worked before.

Each seed is measured on this system like any trial (a number measured on another machine,
or another day, is not this system's) and counts in the budget; it is marked with the user
attribute ``warm_start_from`` (``"STUDY@STORAGE trial N"``), which the model's prompt shows,
and its ``source`` is ``enqueued``. Only parameters of this study, with values inside its
domain, are kept (:func:`~atune_bridge._format.transfer_seeds`); what is dropped is logged
and kept with the rest in the study user attribute ``atune_bridge:warm_start``
(:data:`STUDY_WARM_START`): ``{"sources": [...], "seeded": [origins], "notes": [...]}``.
The sources are read before the baseline is measured (a wrong name stops the run before any
command runs) and enqueued after it, once per study.

Example:
    >>> from atune_bridge._runner._warm import STUDY_WARM_START
    >>> STUDY_WARM_START
    'atune_bridge:warm_start'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atune_bridge._format import (
    WARM_START_FROM,
    Seed,
    best_trials_of,
    load_source,
    parse_source,
    transfer_seeds,
)

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study

logger = logging.getLogger(__name__)

STUDY_WARM_START = "atune_bridge:warm_start"
"""The study user attribute recording a warm start (see the module doc)."""


@dataclass
class WarmStart:
    """The seeds read from the earlier studies, waiting to be enqueued."""

    sources: list[str]
    seeds: list[Seed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def read(
        cls, sources: Sequence[str], storage: str, study_name: str, space: Mapping[str, BaseDistribution], limit: int
    ) -> WarmStart:
        """Read each source's best ``limit`` trials as seeds for ``space``.

        Raises:
            WarmStartError: a source cannot be read (its name and the fix in the message).
        """
        out = cls(list(sources))
        for text in sources:
            name, where = parse_source(text, storage)
            label = f"{name}@{where}"
            if name == study_name and where == storage:
                out.notes.append(f"warm start {text!r} left out: it is this study")
                continue
            found, notes = transfer_seeds(best_trials_of(load_source(text, storage), limit), space, source=label)
            if not found and not notes:
                notes = [f"warm start {text!r}: the study has no complete trial besides its baseline"]
            out.seeds += found
            out.notes += notes
        return out

    def enqueue(self, study: Study) -> dict[str, Any]:
        """Enqueue the seeds in ``study`` (once: a study that records the same sources is left
        alone) and record it; the record."""
        done = study.user_attrs.get(STUDY_WARM_START)
        if isinstance(done, dict) and done.get("sources") == self.sources:
            return done
        for seed in self.seeds:
            study.enqueue_trial(
                dict(seed.params),
                skip_if_exists=True,
                user_attrs={WARM_START_FROM: seed.origin, "warm_start_values": list(seed.values or ())},
            )
        for note in self.notes:
            logger.warning("warm start: %s", note)
        record = {"sources": self.sources, "seeded": [s.origin for s in self.seeds], "notes": self.notes}
        study.set_user_attr(STUDY_WARM_START, record)
        logger.info("warm start: %d configurations enqueued from %s", len(self.seeds), ", ".join(self.sources))
        return record
