"""How the adaptive schedule scores finished trials: the model's, its written ones, the base's.

A complete trial scores the fraction of the field it beats (ties count half): with ``pooled``,
every other complete trial numbered below the block being decided; otherwise the complete
trials before it. A failed trial scores 0. Baseline, user-enqueued and pruned trials, and
trials with nothing to be compared with, are not scored; they may still be in the field.

:func:`scores` makes one pass over the history. :class:`Tally` keeps the same totals (how
many trials each side has and the sum of their scores, all the decision uses) for a prefix of
finished trials, so that deciding a block adds only the trials finished since the last one: a
1,000-trial study decides 500 blocks, and a pass over every trial per block costs the
sampler about a millisecond per trial by then.
"""

from __future__ import annotations

import bisect
import copy
import math
from typing import TYPE_CHECKING

from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_llm_sampler._records import _attrs


if TYPE_CHECKING:
    from collections.abc import Iterator
    from collections.abc import Sequence

    from optuna.trial import FrozenTrial


UNSCORED = (_attrs.SOURCE_BASELINE, _attrs.SOURCE_ENQUEUED)
"""Sources whose trials neither the model nor the base sampler chose."""

SIDES = ("llm", "written", "base")
"""What is scored: the model's trials, those of them it wrote (not picked among the base
sampler's candidates), the base sampler's."""

_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


def rewards(
    trials: Sequence[FrozenTrial],
    directions: Sequence[StudyDirection],
    *,
    before: int,
    pooled: bool = False,
    written_only: bool = False,
) -> tuple[list[float], list[float]]:
    """Scores of the model's and of the base sampler's finished trials numbered below ``before``.

    With ``written_only`` the model's trials that picked a candidate of the base sampler
    (``llm_choice``) are not scored; they still count in the field. Several objectives give no
    scores: the share then stays at its prior.
    """
    llm, written, base = scores(trials, directions, before=before, pooled=pooled)
    return (written if written_only else llm), base


def scores(
    trials: Sequence[FrozenTrial],
    directions: Sequence[StudyDirection],
    *,
    before: int,
    pooled: bool,
    since: int = 0,
    base_since: int = 0,
) -> tuple[list[float], list[float], list[float]]:
    """:func:`rewards` in one pass: the model's scores, those of its written trials, the base's.

    Trials numbered below ``since`` (``AdaptiveSchedule(window=...)``), and the base sampler's
    numbered below ``base_since`` (its start-up, ``base_startup``), are not scored; they
    still count in the field the others are scored against.
    """
    if len(directions) != 1:
        return [], [], []
    sign = _sign(directions)
    llm: list[float] = []
    written: list[float] = []
    base: list[float] = []
    by_side = {"llm": llm, "written": written, "base": base}
    # ``field`` is kept sorted (smaller is better): wins are counted by bisection.
    field: list[float] = []
    pending: list[tuple[list[list[float]], float]] = []
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.number >= before:
            break
        targets = [by_side[side] for side in _sides(trial, since, base_since)]
        if trial.state is TrialState.FAIL:
            for target in targets:
                target.append(0.0)
            continue
        value = _value(trial, sign)
        if value is None:
            continue
        if targets and pooled:
            pending.append((targets, value))
        elif targets and field:
            score = _beaten(field, value, itself=False)
            for target in targets:
                target.append(score)
        bisect.insort(field, value)
    for targets, value in pending:  # With ``pooled``: against the whole field, once it is known.
        if len(field) > 1:
            score = _beaten(field, value, itself=True)
            for target in targets:
                target.append(score)
    return llm, written, base


class Tally:
    """The totals of :func:`scores` kept as trials are added in number order.

    Each side keeps its number of scores and their sum; with ``pooled``, a side's sum is kept as
    the count of (member, other complete trial) pairs the member beats (ties half), which a new
    complete trial changes by a bisection per side, and divided by the field's size only when
    read. :meth:`advance` adds trials up to a block, keeping what it may reuse for the next.

    Args:
        directions: The study's directions; several objectives score nothing.
        pooled: Score against every complete trial before the block (``score="pooled"``).
        base_since: The first of the base sampler's trial numbers that is scored.
    """

    def __init__(self, directions: Sequence[StudyDirection], *, pooled: bool, base_since: int = 0) -> None:
        self.pooled = pooled
        self.base_since = base_since
        self.upto = 0
        """Trials numbered below this have been added."""
        self._multi = len(directions) != 1
        self._sign = 1.0 if self._multi else _sign(directions)
        self._field: list[float] = []
        self._members: dict[str, list[float]] = {side: [] for side in SIDES}
        self._count = dict.fromkeys(SIDES, 0)
        self._sum = dict.fromkeys(SIDES, 0.0)

    def copy(self) -> Tally:
        twin = copy.copy(self)
        twin._field = list(self._field)
        twin._members = {side: list(values) for side, values in self._members.items()}
        twin._count = dict(self._count)
        twin._sum = dict(self._sum)
        return twin

    def add(self, trial: FrozenTrial) -> None:
        """Add ``trial``, numbered ``upto`` or above; one still running adds nothing."""
        self.upto = max(self.upto, trial.number + 1)
        if self._multi:
            return
        sides = _sides(trial, 0, self.base_since)
        if trial.state is TrialState.FAIL:
            for side in sides:
                self._count[side] += 1
            return
        value = _value(trial, self._sign)
        if value is None:
            return
        field = self._field
        if self.pooled:
            # One more in the field: each member better than ``value`` beats it (a tie, half).
            for side, members in self._members.items():
                if members:
                    less = bisect.bisect_left(members, value)
                    self._sum[side] += less + 0.5 * (bisect.bisect_right(members, value) - less)
            wins = _wins(field, value)
            for side in sides:
                self._sum[side] += wins
                bisect.insort(self._members[side], value)
        elif field:
            score = _beaten(field, value, itself=False)
            for side in sides:
                self._count[side] += 1
                self._sum[side] += score
        bisect.insort(field, value)

    def totals(self) -> dict[str, tuple[int, float]]:
        """Each side's number of scores and their sum, as :func:`scores` gives them."""
        if not self.pooled:
            return {side: (self._count[side], self._sum[side]) for side in SIDES}
        others = len(self._field) - 1
        if others < 1:  # A lone complete trial has nothing to be compared with.
            return {side: (self._count[side], 0.0) for side in SIDES}
        return {side: (self._count[side] + len(self._members[side]), self._sum[side] / others) for side in SIDES}

    def advance(self, trials: Sequence[FrozenTrial], before: int) -> tuple[Tally, Tally]:
        """This tally with the trials numbered up to ``before`` added, and the longest of those
        states whose trials have all finished (the one to keep for the next block).

        A trial still running is not added; it may finish before the next block, so the state
        kept stops before it. Neither this tally nor ``trials`` is changed.
        """
        kept = self.copy()
        waiting: list[FrozenTrial] = []
        for trial in _numbered(trials, self.upto, before):
            if waiting or trial.state not in _FINISHED:
                waiting.append(trial)
            else:
                kept.add(trial)
        if not waiting:
            return kept, kept
        ahead = kept.copy()
        for trial in waiting:
            ahead.add(trial)
        return ahead, kept


def _numbered(trials: Sequence[FrozenTrial], start: int, stop: int) -> Iterator[FrozenTrial]:
    """The trials numbered from ``start`` below ``stop``, in number order. A study's trial list
    is its trials in number order, so they are sliced out; another list is sorted."""
    chunk = trials[start:stop]
    whole = stop <= len(trials) or (trials and trials[-1].number == len(trials) - 1)
    if whole and all(t.number == start + i for i, t in enumerate(chunk)):
        yield from chunk
        return
    yield from sorted((t for t in trials if start <= t.number < stop), key=lambda t: t.number)


def _sides(trial: FrozenTrial, since: int, base_since: int) -> tuple[str, ...]:
    """The sides ``trial`` is scored for (none for the baseline, an enqueued trial, or one
    numbered below ``since``). A trial without a source is the base sampler's: LLMSampler
    writes none on those."""
    source = trial.user_attrs.get(_attrs.ATTR_SOURCE)
    if source in UNSCORED or trial.number < since:
        return ()
    if source != _attrs.SOURCE_LLM:
        return ("base",) if trial.number >= base_since else ()
    if _attrs.ATTR_CHOICE in trial.user_attrs:
        return ("llm",)  # A picked trial: not one the model wrote.
    return ("llm", "written")


def _value(trial: FrozenTrial, sign: float) -> float | None:
    """The trial's value with smaller better; :obj:`None` for one not complete or NaN."""
    if trial.state is not TrialState.COMPLETE or trial.values is None:
        return None
    value = sign * trial.values[0]
    return None if math.isnan(value) else value


def _sign(directions: Sequence[StudyDirection]) -> float:
    return -1.0 if directions[0] is StudyDirection.MAXIMIZE else 1.0


def _wins(field: Sequence[float], value: float) -> float:
    """How many entries of ``field`` (sorted, smaller better) ``value`` beats, a tie half."""
    below, above = bisect.bisect_left(field, value), bisect.bisect_right(field, value)
    return (len(field) - above) + 0.5 * (above - below)


def _beaten(field: Sequence[float], value: float, *, itself: bool) -> float:
    """The fraction of ``field`` (sorted, smaller better) that ``value`` beats, ties half;
    ``itself``: ``value`` is one of ``field``'s entries and is not compared with itself."""
    if itself:
        return (_wins(field, value) - 0.5) / (len(field) - 1)
    return _wins(field, value) / len(field)
