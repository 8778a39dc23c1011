"""Schedules: which trial numbers the LLM proposes, which the base sampler, which the baseline.

A schedule is a pure function of the trial number, so every thread and process sharing a study
agrees on it without talking to each other. Consecutive LLM-scheduled numbers form a *round*:
the model is asked once per round for as many configurations as the round has trials.

A schedule that follows the study (:class:`~optuna_llm_sampler.AdaptiveSchedule`) overrides
:meth:`Schedule.bind`: the sampler binds the schedule to the study before asking for a role,
telling it what it knows (:class:`BindContext`: whether a trial is being asked, the base
sampler's start-up), and the bound schedule records each decision in the study's storage so
that every worker reads the same role for a trial number. Any schedule can do the same through
this protocol; the sampler treats the default no differently from a user's.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from typing import Any
from typing import TYPE_CHECKING
from typing import Union

from optuna_llm_sampler._errors import ConfigError


if TYPE_CHECKING:
    from collections.abc import Callable

    from optuna.study import Study


class TrialRole(str, enum.Enum):
    """What a schedule assigns to a trial number."""

    LLM = "llm"
    BASE = "base"
    BASELINE = "baseline"


RoleLike = Union[TrialRole, str, bool]


@dataclasses.dataclass(frozen=True)
class BindContext:
    """What the sampler tells a schedule it binds to a study.

    Attributes:
        in_ask: The schedule is bound for the trial being asked (inside ``study.ask()``,
            before the trial is sampled). It may read the trials Optuna holds for this ask
            rather than reading storage again, and it should leave the records it would write
            to :meth:`Schedule.take_records`: the sampler writes them with the trial's own
            attributes in one transaction, before any other worker can need them. Outside an
            ask (``LLMSampler.role(n, study)``) a bound schedule writes its records itself.
        base_startup: The base sampler's random start-up trials (``n_startup_trials`` of
            Optuna's TPE, GP and CMA-ES samplers), :obj:`None` when it declares none. Trials of
            the base sampler numbered below are random draws.
    """

    in_ask: bool = False
    base_startup: int | None = None


class Schedule(abc.ABC):
    """Base class of schedules.

    Subclasses implement :meth:`role`; :meth:`round_of` has a generic implementation that scans
    neighbouring numbers and cuts long runs of LLM numbers into rounds of at most
    ``max_round_size`` trials, counted from the start of the run.
    """

    max_round_size: int = 4

    follows_study: bool = False
    """Whether the roles depend on the study's results, read through :meth:`bind`. Such a
    schedule decides a round only when the round starts, so its rounds cannot be prepared
    ahead (``prefetch``); a fixed schedule's roles are a pure function of the trial number."""

    @abc.abstractmethod
    def role(self, number: int) -> TrialRole:
        """Return the role of trial ``number`` (``number >= 0``)."""

    def bind(self, study: Study, context: BindContext | None = None) -> Schedule:
        """Return the schedule that decides the roles of ``study``'s trials.

        Fixed schedules are pure functions of the trial number and return themselves (a
        sampler may then prepare a round before it starts: ``prefetch``); a schedule that
        follows the study's results returns a view that reads and records its decisions in
        the study's storage, told by ``context`` what the sampler knows.
        """
        return self

    def take_records(self) -> dict[str, Any]:
        """Study system attributes this bound schedule decided and has not written yet.

        A schedule bound with ``BindContext(in_ask=True)`` leaves its records here; the sampler
        takes them once per trial and writes them with the trial's first attributes. Fixed
        schedules record nothing: ``{}``.
        """
        return {}

    def explain(self, number: int) -> dict[str, Any] | None:
        """What the decision for trial ``number`` was based on, to record on the trial
        (``llm_share``).

        :obj:`None` for fixed schedules, whose decision is the trial number itself. A record
        may carry ``p_written`` (or ``p_better``): the probability that the trials the model
        wrote are ahead of the base sampler's, which ``Choose(write_when_ahead=True)`` judges.
        """
        return None

    def round_of(self, number: int) -> range | None:
        """Return the round (a range of trial numbers) containing ``number``.

        Returns:
            :obj:`None` when ``number`` is not LLM-scheduled.
        """
        if self.role(number) is not TrialRole.LLM:
            return None
        start = number
        while start > 0 and self.role(start - 1) is TrialRole.LLM:
            start -= 1
        size = self.max_round_size
        chunk_start = start + (number - start) // size * size
        stop = number + 1
        while stop < chunk_start + size and self.role(stop) is TrialRole.LLM:
            stop += 1
        return range(chunk_start, stop)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class AlternatingSchedule(Schedule):
    """The seed experiment's pattern: ``llm`` LLM trials, then ``base`` base trials, repeating.

    With ``baseline_first`` trial 0 is the baseline and the pattern starts at trial 1.

    Example:

        .. code-block:: python

            from optuna_llm_sampler import AlternatingSchedule

            s = AlternatingSchedule()
            assert [s.role(n).value for n in range(7)] == [
                "baseline", "llm", "llm", "base", "base", "llm", "llm"
            ]
            assert s.round_of(6) == range(5, 7)

    Args:
        llm:
            LLM trials per cycle; they form one round. Default 2, as in the seed experiment,
            so the model sees the result of its own proposals and of the optimiser's in turn.
        base:
            Base-sampler trials per cycle. Default 2.
        baseline_first:
            Reserve trial 0 for the baseline configuration. Default :obj:`True`.
    """

    def __init__(self, llm: int = 2, base: int = 2, *, baseline_first: bool = True) -> None:
        self.llm = _check_int("llm", llm, 0)
        self.base = _check_int("base", base, 0)
        if llm + base == 0:
            raise ConfigError("llm + base must be at least 1")
        self.baseline_first = bool(baseline_first)
        self.max_round_size = max(llm, 1)

    def role(self, number: int) -> TrialRole:
        offset = 1 if self.baseline_first else 0
        if number < offset:
            return TrialRole.BASELINE
        position = (number - offset) % (self.llm + self.base)
        return TrialRole.LLM if position < self.llm else TrialRole.BASE

    def round_of(self, number: int) -> range | None:
        if self.role(number) is not TrialRole.LLM:
            return None
        offset = 1 if self.baseline_first else 0
        start = number - (number - offset) % (self.llm + self.base)
        return range(start, start + self.llm)

    def __repr__(self) -> str:
        return f"AlternatingSchedule(llm={self.llm}, base={self.base}, baseline_first={self.baseline_first})"


class EveryKthSchedule(Schedule):
    """Every ``k``-th trial is proposed by the LLM, one trial per round.

    Example:

        .. code-block:: python

            from optuna_llm_sampler import EveryKthSchedule

            s = EveryKthSchedule(3)
            assert [s.role(n).value for n in range(7)] == [
                "baseline", "base", "base", "llm", "base", "base", "llm"
            ]

    Args:
        k:
            Period. ``k=1`` gives every trial to the LLM.
        baseline_first:
            Reserve trial 0 for the baseline; counting starts at trial 1. Default :obj:`True`.
    """

    def __init__(self, k: int, *, baseline_first: bool = True) -> None:
        self.k = _check_int("k", k, 1)
        self.baseline_first = bool(baseline_first)
        self.max_round_size = 1

    def role(self, number: int) -> TrialRole:
        offset = 1 if self.baseline_first else 0
        if number < offset:
            return TrialRole.BASELINE
        return TrialRole.LLM if (number - offset + 1) % self.k == 0 else TrialRole.BASE

    def round_of(self, number: int) -> range | None:
        if self.role(number) is not TrialRole.LLM:
            return None
        return range(number, number + 1)

    def __repr__(self) -> str:
        return f"EveryKthSchedule({self.k}, baseline_first={self.baseline_first})"


class FirstNSchedule(Schedule):
    """The first ``n`` trials are proposed by the LLM, the rest by the base sampler.

    Example:

        .. code-block:: python

            from optuna_llm_sampler import FirstNSchedule

            s = FirstNSchedule(4, round_size=2)
            assert [s.role(n).value for n in range(7)] == [
                "baseline", "llm", "llm", "llm", "llm", "base", "base"
            ]
            assert s.round_of(3) == range(3, 5)

    Args:
        n:
            Number of LLM trials (not counting the baseline).
        round_size:
            The LLM trials are asked for in rounds of this many configurations, so the model
            sees the results of one round before proposing the next. Default 2.
        baseline_first:
            Reserve trial 0 for the baseline. Default :obj:`True`.
    """

    def __init__(self, n: int, *, round_size: int = 2, baseline_first: bool = True) -> None:
        self.n = _check_int("n", n, 0)
        self.max_round_size = _check_int("round_size", round_size, 1)
        self.baseline_first = bool(baseline_first)

    def role(self, number: int) -> TrialRole:
        offset = 1 if self.baseline_first else 0
        if number < offset:
            return TrialRole.BASELINE
        return TrialRole.LLM if number < offset + self.n else TrialRole.BASE

    def round_of(self, number: int) -> range | None:
        if self.role(number) is not TrialRole.LLM:
            return None
        offset = 1 if self.baseline_first else 0
        start = offset + (number - offset) // self.max_round_size * self.max_round_size
        return range(start, min(start + self.max_round_size, offset + self.n))

    def __repr__(self) -> str:
        return f"FirstNSchedule({self.n}, round_size={self.max_round_size}, baseline_first={self.baseline_first})"


class CallableSchedule(Schedule):
    """A schedule from any function of the trial number.

    The function returns a :class:`TrialRole`, one of the strings ``"llm"``, ``"base"``,
    ``"baseline"``, or a bool (:obj:`True` for LLM). It must be pure: every worker calls it.

    Example:

        .. code-block:: python

            from optuna_llm_sampler import CallableSchedule

            s = CallableSchedule(lambda n: 10 <= n < 13)
            assert s.role(11).value == "llm"
            assert s.round_of(12) == range(10, 13)

    Args:
        fn:
            The function.
        max_round_size:
            Longest round; longer runs of LLM numbers are cut into rounds of this size.
            Default 4, which keeps the reply of a small model within its token budget.
    """

    def __init__(self, fn: Callable[[int], RoleLike], *, max_round_size: int = 4) -> None:
        if not callable(fn):
            raise ConfigError(f"fn must be callable, got {fn!r}")
        self.fn = fn
        self.max_round_size = _check_int("max_round_size", max_round_size, 1)

    def role(self, number: int) -> TrialRole:
        value = self.fn(number)
        if isinstance(value, TrialRole):
            return value
        if isinstance(value, bool):
            return TrialRole.LLM if value else TrialRole.BASE
        if isinstance(value, str):
            try:
                return TrialRole(value.lower())
            except ValueError:
                pass
        raise ConfigError(
            f"schedule function returned {value!r} for trial {number}; "
            "expected a TrialRole, 'llm', 'base', 'baseline' or a bool"
        )

    def __repr__(self) -> str:
        return f"CallableSchedule({self.fn!r}, max_round_size={self.max_round_size})"


def as_schedule(schedule: Schedule | Callable[[int], RoleLike] | None) -> Schedule:
    """Return ``schedule`` as a :class:`Schedule`: the default when :obj:`None`."""
    if schedule is None:
        return AlternatingSchedule()
    if isinstance(schedule, Schedule):
        return schedule
    if callable(schedule):
        return CallableSchedule(schedule)
    raise ConfigError(f"schedule must be a Schedule or a callable of the trial number, got {schedule!r}")
