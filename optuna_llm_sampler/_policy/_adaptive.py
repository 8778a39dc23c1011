"""AdaptiveSchedule: the model's share of trials follows what its trials have delivered.

Trials after the baseline are cut into blocks of ``round_size`` numbers; each block goes
whole to the model (one round) or to the base sampler, except that a start-up block of the
model's gives it only its first ``early_round_trials`` trials (one by default). Before a
block's first trial is sampled, the schedule compares the model's finished trials with the
base sampler's (each trial scores the fraction of all complete trials before the block that
it beats, or with ``score="earlier"`` of the complete trials before it; a failed trial
scores 0; with ``base_startup``, after the start-up blocks the base sampler's own random
start-up draws are left out of its side, as a bar any good advice clears), turns that into
the probability that the model's trials are the better ones (two Beta posteriors), and maps
it to a share between ``floor`` (probability one half or less:
the model has to be ahead to earn more) and ``ceiling`` (probability one). Blocks then go to
the model in proportion to the share, by error diffusion rather than by dice: the running
credit gives the model a block whenever it reaches one. The decision, the share and the
evidence are written to the study's system attributes before any trial of the block is
sampled, and every worker reads them from there, so all agree on the role of a trial number.
LLMSampler lets the decisions that give blocks to the base sampler wait for the next write it
makes anyway when no other trial of the study is running (see :func:`others_running`): a
single worker decides them again, the same way, from the same finished trials.
"""

from __future__ import annotations

import copy
import math
import threading
from typing import Any
from typing import Literal
from typing import TYPE_CHECKING

from optuna.trial import TrialState

from optuna_llm_sampler._records import _attrs
from optuna_llm_sampler._records._attr_io import read_study_system_attrs
from optuna_llm_sampler._errors import ConfigError
from optuna_llm_sampler._policy._schedule import BindContext
from optuna_llm_sampler._policy._schedule import Schedule
from optuna_llm_sampler._policy._schedule import TrialRole
from optuna_llm_sampler._policy._scoring import Tally
from optuna_llm_sampler._policy._scoring import scores


if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.study import Study
    from optuna.study import StudyDirection
    from optuna.trial import FrozenTrial


AUTO: Literal["auto"] = "auto"
"""``AdaptiveSchedule(base_startup=AUTO)``: the base sampler's start-up, told at bind time."""

SCORES = ("earlier", "pooled")
"""What :class:`AdaptiveSchedule` measures a trial's score against (its ``score``)."""


class AdaptiveSchedule(Schedule):
    """A schedule whose LLM share follows how the model's trials fare against the base sampler's.

    A model whose trials keep losing gets ``floor`` of the blocks; one whose trials keep winning
    gets ``ceiling``. Before the base sampler has learnt anything (its first ``early_trials``
    trials are random for TPE) the model gets at least ``early_share`` while its trials are
    level with the base sampler's or ahead: its proposals then replace random draws, and good
    advice pays most early in a search. By default each of those start-up rounds is one
    configuration (``early_round_trials=1``) and the model gets one of them, the last
    (``early_share=0.25``, ``model_first=False``): the base sampler takes trials 1 to 6 and the
    model writes trial 7, having seen the baseline and six random draws, whatever those delivered
    (with ``baseline_first=False``, trials 0 to 5 and trial 6); after the start-up it earns its
    blocks. A small model shown only the baseline copies it (see ``model_first``).
    ``model_first=True, early_share=0.5`` has the model propose trial
    1, and trial 5 unless trial 1 is behind the base sampler's draws. A benchmark of the options
    is in the project's ``docs/evidence.md``. Each decision is recorded in the study's system
    attributes (``optuna_llm_sampler:share:<first trial of the block>``) and on each trial of
    the block's model slots (user attribute ``llm_share``).

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import AdaptiveSchedule, LLMSampler, make_chat_model

            sampler = LLMSampler(
                make_chat_model("random:0"),
                search_space={"x": optuna.distributions.IntDistribution(1, 64)},
                schedule=AdaptiveSchedule(floor=0.1, ceiling=0.5),
                seed=0,
            )
            study = optuna.create_study(sampler=sampler)
            study.optimize(lambda t: (t.suggest_int("x", 1, 64) - 24) ** 2, n_trials=12)
            print([t.user_attrs.get("llm_share") for t in study.trials])

    Args:
        floor:
            Smallest share of blocks the model gets, however its trials fare. Default 0.1:
            a model that lost early still gets a block now and then to show it has improved.
        ceiling:
            Largest share. Default 0.5; Centaur (2026) found an LLM share of about 30% best and
            80% clearly worse.
        early_trials:
            Blocks that end before this trial number get at least ``early_share``; after them
            the credit starts afresh, so the model earns its later blocks. Default 10, TPE's
            number of random start-up trials: the first trial TPE proposes from its model is
            not taken from it.
        early_share:
            The model's least share of those early blocks. Default 0.25: one block in four
            (without ``model_first``, trial 7's); 0.5 gives one in two.
        early_on_evidence:
            Whether the early share also follows the evidence. With :obj:`True` (default) a
            model whose finished trials are behind the base sampler's (``p_better`` below one
            half) loses ``early_share`` and gets what the evidence gives, as in later blocks; a
            model level or ahead, or one with no evidence yet, keeps it. Only the trials the
            model wrote count here: one it picked among the base sampler's candidates
            (``Choose``) says how well it chooses, not how well it writes the start-up rounds
            it would get. With :obj:`False` early blocks get ``early_share`` whatever the
            model delivers.
        model_first:
            Whether the first block after the baseline goes to the model, as in the seed
            experiment. Default :obj:`False`: the base sampler takes it, so the model's first
            round sees other configurations besides the baseline. A small model shown only the
            baseline copies it: on the nginx surface SmolLM2's configuration for trial 1 was
            worth 7,913 requests/s against 18,853 for TPE's random draws (``docs/evidence.md``).
            With :obj:`True` the model proposes trial 1.
        early_round_trials:
            How many trials of an early block the model proposes when the block is its; the
            block's other trials go to the base sampler. Default ``1``: the model's start-up
            rounds are one configuration each, its first choice, so before any evidence a model
            that writes badly costs half as many random draws. :obj:`None`: the whole block.
        score:
            What a trial's score is measured against. ``"pooled"`` (default): the fraction
            of *all* complete trials before the block being decided, the same field for every
            trial, so the model's first trials are not judged against the baseline alone.
            ``"earlier"``: the fraction of the complete trials *before it* that it beats, so
            a score never changes.
        window:
            How many of the most recent trials before a block its evidence scores.
            :obj:`None` (default): every trial since the study began. With ``window=20`` a
            late block is decided on the model's and the base sampler's trials of the last
            20, still scored against the whole field: a model whose first trials were good
            and whose recent ones are not loses its share and, with ``Choose``'s
            ``write_when_ahead``, its written rounds (with no written trial in the window it
            chooses). Measured, and off by default (``docs/evidence.md``).
        base_startup:
            The base sampler's random start-up trials. Its trials numbered below are random
            draws, which any good advice beats; the model's later blocks (and with
            ``Choose``'s ``write_when_ahead`` its written rounds) are earned only against the
            base sampler's trials from this number on, its model's proposals: until one of
            those is scored the model gets ``floor`` and picks. The early blocks are still
            judged against every trial of the base sampler: there the model's trial replaces
            a random draw. The model's own trials are scored against the whole field.
            ``"auto"`` (default): the start-up the sampler reports when it binds the schedule
            (:class:`BindContext`: ``n_startup_trials`` of Optuna's TPE, GP and CMA-ES
            samplers, 10 for TPE's default, 20 as A-Tune's runner builds it); judged against
            20 random draws, good advice looked far ahead, took half of trials 11 to 29 and
            left TPE's model a narrow start. An int sets it; :obj:`None`: every trial of the
            base sampler is the bar.
        round_size:
            Trials per block; an LLM block is one model call. Default 2.
        prior:
            Pseudo-wins and pseudo-losses each source starts with. Default 1 (uniform prior):
            a handful of trials moves the share.
        baseline_first:
            Reserve trial 0 for the baseline. Default :obj:`True`.
    """

    def __init__(
        self,
        *,
        floor: float = 0.1,
        ceiling: float = 0.5,
        early_trials: int = 10,
        early_share: float = 0.25,
        early_on_evidence: bool = True,
        model_first: bool = False,
        early_round_trials: int | None = 1,
        score: str = "pooled",
        window: int | None = None,
        base_startup: int | Literal["auto"] | None = AUTO,
        round_size: int = 2,
        prior: float = 1.0,
        baseline_first: bool = True,
    ) -> None:
        self.floor = _check_share("floor", floor)
        self.ceiling = _check_share("ceiling", ceiling)
        if self.floor > self.ceiling:
            raise ConfigError(f"floor must not exceed ceiling, got floor={floor!r} > ceiling={ceiling!r}")
        self.early_share = _check_share("early_share", early_share)
        if isinstance(early_trials, bool) or not isinstance(early_trials, int) or early_trials < 0:
            raise ConfigError(f"early_trials must be an int >= 0, got {early_trials!r}")
        self.early_trials = early_trials
        if not isinstance(early_on_evidence, bool):
            raise ConfigError(f"early_on_evidence must be True or False, got {early_on_evidence!r}")
        self.early_on_evidence = early_on_evidence
        if not isinstance(model_first, bool):
            raise ConfigError(f"model_first must be True or False, got {model_first!r}")
        self.model_first = model_first
        if early_round_trials is not None and (
            isinstance(early_round_trials, bool) or not isinstance(early_round_trials, int) or early_round_trials < 1
        ):
            raise ConfigError(f"early_round_trials must be an int >= 1 or None, got {early_round_trials!r}")
        self.early_round_trials = early_round_trials
        if score not in SCORES:
            raise ConfigError(f"score must be one of {', '.join(map(repr, SCORES))}, got {score!r}")
        self.score = score
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
            raise ConfigError(f"window must be an int >= 1 or None, got {window!r}")
        self.window = window
        if (
            base_startup is not None
            and base_startup != AUTO
            and (isinstance(base_startup, bool) or not isinstance(base_startup, int) or base_startup < 0)
        ):
            raise ConfigError(f"base_startup must be 'auto', an int >= 0 or None, got {base_startup!r}")
        self.base_startup = base_startup
        if isinstance(round_size, bool) or not isinstance(round_size, int) or round_size < 1:
            raise ConfigError(f"round_size must be an int >= 1, got {round_size!r}")
        self.max_round_size = round_size
        if not isinstance(prior, (int, float)) or isinstance(prior, bool) or not prior > 0:
            raise ConfigError(f"prior must be a positive number, got {prior!r}")
        self.prior = float(prior)
        self.baseline_first = bool(baseline_first)
        self._decided: dict[tuple[int, int], dict[int, dict[str, Any]]] = {}
        self._tallied: dict[tuple[int, int], dict[tuple[bool, int], Tally]] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Picklable for Ray Tune, which pickles the sampler; the lock is recreated.
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"AdaptiveSchedule(floor={self.floor}, ceiling={self.ceiling}, "
            f"early_trials={self.early_trials}, early_share={self.early_share}, "
            f"early_on_evidence={self.early_on_evidence}, model_first={self.model_first}, "
            f"early_round_trials={self.early_round_trials}, score={self.score!r}, "
            + (f"window={self.window}, " if self.window is not None else "")
            + f"base_startup={self.base_startup!r}, "
            + f"round_size={self.max_round_size}, prior={self.prior}, "
            f"baseline_first={self.baseline_first})"
        )

    # Without a study: the decisions the prior alone gives -------------------------------------

    def role(self, number: int) -> TrialRole:
        """The role of ``number`` before any evidence: what a study without results gets."""
        start = self.block_start(number)
        if start is None:
            return TrialRole.BASELINE
        credit = self.initial_credit
        for block in range(self._offset, start + 1, self.max_round_size):
            record = self.decide(block, credit, [], [])
            credit = record["credit"]
        return self.trial_role(number, record)

    def round_of(self, number: int) -> range | None:
        return self._round(number, self.role(number))

    follows_study = True

    def bind(self, study: Study, context: BindContext | None = None) -> Schedule:
        context = context or BindContext()
        rule = self
        if self.base_startup == AUTO:
            # A copy that shares this schedule's decisions, with the start-up resolved.
            rule = copy.copy(self)
            rule.base_startup = context.base_startup
        return _BoundAdaptive(rule, study, in_ask=context.in_ask)

    # The rule ---------------------------------------------------------------------------------

    @property
    def pooled(self) -> bool:
        """Whether trials are scored against the whole field before a block (``score="pooled"``)."""
        return self.score == "pooled"

    @property
    def initial_credit(self) -> float:
        """The error diffusion's credit before the first block.

        One half with ``model_first``: a share of one half then alternates model and base
        blocks, the model first. Zero without: the base sampler first.
        """
        return 0.5 if self.model_first else 0.0

    @property
    def _offset(self) -> int:
        return 1 if self.baseline_first else 0

    def block_start(self, number: int) -> int | None:
        """The first trial number of ``number``'s block; :obj:`None` for the baseline."""
        if number < self._offset:
            return None
        return number - (number - self._offset) % self.max_round_size

    def trial_role(self, number: int, record: Mapping[str, Any]) -> TrialRole:
        """The role of trial ``number`` in a block decided as ``record``.

        A block's trials share its role, except that of an early block the model's only
        ``early_round_trials`` (the rest go to the base sampler).
        """
        role = TrialRole(record["role"])
        start = self.block_start(number)
        if (
            role is TrialRole.LLM
            and start is not None
            and self.early_round_trials is not None
            and self._is_early(start)
            and number - start >= self.early_round_trials
        ):
            return TrialRole.BASE
        return role

    def base_since(self, start: int) -> int:
        """The first of the base sampler's trial numbers that the block at ``start`` is judged
        against: 0 for an early block (the model's start-up trial replaces a random draw, so
        random draws are its bar), ``base_startup`` after them."""
        startup = self._startup
        if startup is None or self._is_early(start):
            return 0
        return startup

    @property
    def _startup(self) -> int | None:
        """``base_startup`` as an int; ``"auto"`` not yet resolved by a bind counts as None."""
        return None if self.base_startup == AUTO else self.base_startup  # type: ignore[return-value]

    def _is_early(self, start: int) -> bool:
        return start + self.max_round_size <= self.early_trials

    def _round(self, number: int, role: TrialRole) -> range | None:
        start = self.block_start(number)
        if role is not TrialRole.LLM or start is None:
            return None
        return range(start, start + self.max_round_size)

    def decide(
        self,
        start: int,
        credit: float,
        llm_rewards: Sequence[float],
        base_rewards: Sequence[float],
        written_rewards: Sequence[float] | None = None,
    ) -> dict[str, Any]:
        """The decision for the block starting at ``start``, as recorded in storage.

        Args:
            start: First trial number of the block.
            credit: The running credit after the previous block's decision.
            llm_rewards: Scores in [0, 1] of the model's finished trials before the block.
            base_rewards: Scores of the base sampler's finished trials before the block.
            written_rewards: The scores of ``llm_rewards`` whose configuration the model
                wrote rather than chose, which ``early_on_evidence`` judges. :obj:`None`:
                all of ``llm_rewards``.

        When the two differ the record also carries ``written`` (their count and sum) and
        ``p_written``, the probability that the model's written trials are ahead of the base
        sampler's (:obj:`None` while it has written none): it is what ``Choose``'s
        ``write_when_ahead`` judges, so that the trials the model picked among the base
        sampler's candidates do not earn it rounds to write.
        """
        return self._decide(
            start,
            credit,
            _totals(llm_rewards),
            _totals(base_rewards),
            None if written_rewards is None else _totals(written_rewards),
        )

    def _decide(
        self,
        start: int,
        credit: float,
        llm_rewards: tuple[int, float],
        base_rewards: tuple[int, float],
        written_rewards: tuple[int, float] | None = None,
    ) -> dict[str, Any]:
        """:meth:`decide` from each side's number of scores and their sum, all it reads."""
        # Without a bar (no base trial scored since the base sampler's start-up) there is no
        # evidence: the share stays at the floor and the rounds choose.
        no_bar = self._startup is not None and not self._is_early(start) and not base_rewards[0]
        p_better = 0.5 if no_bar else _p_better(llm_rewards, base_rewards, self.prior)
        # The model has to be ahead to earn more than the floor: a model as good as the base
        # sampler only costs model calls, and at one half the evidence is usually none.
        share = self.floor + (self.ceiling - self.floor) * max(0.0, 2.0 * p_better - 1.0)
        previous = start - self.max_round_size
        # A model with no scored trial keeps the early share: the base sampler's random draws
        # beat the baseline, and against them a model that has not proposed yet would look behind.
        written = llm_rewards if written_rewards is None else written_rewards
        p_written = _p_better(written, base_rewards, self.prior) if written[0] and not no_bar else None
        behind = self.early_on_evidence and p_written is not None and p_written < 0.5
        if self._is_early(start) and not behind:
            share = max(share, self.early_share)
        elif previous >= self._offset and self._is_early(previous):
            credit = 0.0  # The first block after the early ones: the model earns what follows.
        credit += share
        llm = credit >= 1.0 - 1e-9
        if llm:
            credit -= 1.0
        return {
            "role": TrialRole.LLM.value if llm else TrialRole.BASE.value,
            "share": round(share, 4),
            "p_better": round(p_better, 4),
            "llm": [llm_rewards[0], round(llm_rewards[1], 3)],
            "base": [base_rewards[0], round(base_rewards[1], 3)],
            **(
                {
                    "written": [written[0], round(written[1], 3)],
                    "p_written": None if p_written is None else round(p_written, 4),
                }
                if written[0] != llm_rewards[0]
                else {}
            ),
            **({"bar_from": self.base_since(start)} if self._startup is not None else {}),
            "credit": credit,
        }

    def _cache(self, study: Study) -> dict[int, dict[str, Any]]:
        key = (id(study._storage), study._study_id)
        with self._lock:
            return self._decided.setdefault(key, {})

    def _tallies(self, study: Study) -> dict[tuple[bool, int], Tally]:
        """The scores of ``study``'s trials kept from block to block, by what they score."""
        key = (id(study._storage), study._study_id)
        with self._lock:
            return self._tallied.setdefault(key, {})


class _BoundAdaptive(Schedule):
    """An :class:`AdaptiveSchedule` bound to one study: decisions read from and written to it.

    With ``in_ask`` it is bound for a trial being asked (LLMSampler's ``before_trial``): the
    decisions are kept for the caller to write with the trial's own attributes, in the same
    transaction (:meth:`take_records`), before the trial is sampled, which is when another
    worker could first need them; and the trials are read from the list Optuna keeps for the
    ask, which outside one may be stale.
    """

    def __init__(self, schedule: AdaptiveSchedule, study: Study, *, in_ask: bool = False) -> None:
        self._schedule = schedule
        self._study = study
        self.max_round_size = schedule.max_round_size
        self.follows_study = True
        self._in_ask = in_ask
        self._unwritten: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"{self._schedule!r}.bind({self._study.study_name!r})"

    def role(self, number: int) -> TrialRole:
        record = self.explain(number)
        return TrialRole.BASELINE if record is None else TrialRole(record["role"])

    def round_of(self, number: int) -> range | None:
        return self._schedule._round(number, self.role(number))

    def explain(self, number: int) -> dict[str, Any] | None:
        start = self._schedule.block_start(number)
        if start is None:
            return None
        cache = self._schedule._cache(self._study)
        if start not in cache:
            self._decide_up_to(start, cache)
        record = cache[start]
        role = self._schedule.trial_role(number, record)
        return {
            "block": start,
            **{k: v for k, v in record.items() if k != "credit"},
            "role": role.value,
        }

    def take_records(self) -> dict[str, Any]:
        """The decisions made since the last call and not yet in storage, by attribute key."""
        unwritten, self._unwritten = self._unwritten, {}
        return unwritten

    def _undecided_from(self, start: int, cache: Mapping[int, Any]) -> int:
        """The first block of the run of blocks up to ``start`` that ``cache`` lacks."""
        s = self._schedule
        first = start
        while first - s.max_round_size >= s._offset and first - s.max_round_size not in cache:
            first -= s.max_round_size
        return first

    def _decide_up_to(self, start: int, cache: dict[int, dict[str, Any]]) -> None:
        s = self._schedule
        storage, study_id = self._study._storage, self._study._study_id
        prefix = _attrs.SHARE_RECORD_PREFIX
        # Other workers may have decided the blocks this process has not seen: read their
        # records (only theirs, not every record of the study).
        blocks = range(self._undecided_from(start, cache), start + 1, s.max_round_size)
        stored = read_study_system_attrs(storage, study_id, (prefix + str(b) for b in blocks))
        for block in blocks:
            value = stored.get(prefix + str(block))
            if isinstance(value, dict):
                cache.setdefault(block, value)
        if start in cache:
            return
        # Blocks are decided in order: the credit of one carries into the next.
        first = self._undecided_from(start, cache)
        previous = cache.get(first - s.max_round_size)
        credit = previous["credit"] if previous is not None else s.initial_credit
        trials = _trials_of_this_ask(self._study) if self._in_ask else storage.get_all_trials(study_id, deepcopy=False)
        directions = self._study.directions
        for block in range(first, start + 1, s.max_round_size):
            llm, written, base = self._totals(trials, directions, block)
            record = s._decide(block, credit, llm, base, written)
            if self._in_ask:
                self._unwritten[prefix + str(block)] = record
            else:
                storage.set_study_system_attr(study_id, prefix + str(block), record)
            cache[block] = record
            credit = record["credit"]

    def _totals(
        self, trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection], block: int
    ) -> tuple[tuple[int, float], tuple[int, float], tuple[int, float]]:
        """The model's, its written trials' and the base sampler's scores before ``block``:
        each side's number of scores and their sum.

        Without a ``window`` the tally of the trials that had finished at the last block is
        kept, and only the trials since are added; with one, every trial is read again.
        """
        s = self._schedule
        base_since = s.base_since(block)
        if s.window is not None:
            sides = scores(
                trials, directions, before=block, pooled=s.pooled, since=block - s.window, base_since=base_since
            )
            return _totals(sides[0]), _totals(sides[1]), _totals(sides[2])
        tallies = s._tallies(self._study)
        key = (s.pooled, base_since)
        kept = tallies.get(key)
        if kept is None or kept.upto > block:
            kept = Tally(directions, pooled=s.pooled, base_since=base_since)
        tally, tallies[key] = kept.advance(trials, block)
        totals = tally.totals()
        return totals["llm"], totals["written"], totals["base"]


def _trials_of_this_ask(study: Study) -> list[FrozenTrial]:
    """The study's trials, from the list Optuna keeps for the trial being asked when it can.

    Optuna reads the trials once per ``ask`` (``Study._get_trials(use_cache=True)``) and TPE
    reuses that list; read through it, a block's decision costs no extra read of the study.
    """
    try:
        return study._get_trials(deepcopy=False, use_cache=True)
    except (AttributeError, TypeError):  # Another Optuna: read them.
        return study._storage.get_all_trials(study._study_id, deepcopy=False)


def others_running(study: Study, trial: FrozenTrial) -> bool:
    """Whether a trial of ``study`` other than ``trial`` is running: another worker, or
    ``n_jobs`` above one, may then decide blocks too and has to read this worker's decisions."""
    return any(t.state is TrialState.RUNNING and t.number != trial.number for t in _trials_of_this_ask(study))


def probability_better(llm_rewards: Sequence[float], base_rewards: Sequence[float], prior: float = 1.0) -> float:
    """P(the model's mean score exceeds the base sampler's) under two Beta posteriors.

    Normal approximation of the difference of the two Beta variables: deterministic, so every
    worker computes the same number from the same trials.
    """
    return _p_better(_totals(llm_rewards), _totals(base_rewards), prior)


def _p_better(llm: tuple[int, float], base: tuple[int, float], prior: float) -> float:
    """:func:`probability_better` from each side's number of scores and their sum."""
    mean_l, var_l = _beta(llm, prior)
    mean_b, var_b = _beta(base, prior)
    z = (mean_l - mean_b) / math.sqrt(var_l + var_b)
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _beta(totals: tuple[int, float], prior: float) -> tuple[float, float]:
    count, total = totals
    a = prior + total
    b = prior + count - total
    n = a + b
    return a / n, a * b / (n * n * (n + 1.0))


def _totals(scores: Sequence[float]) -> tuple[int, float]:
    return len(scores), sum(scores)


def startup_trials(sampler: object) -> int | None:
    """The random start-up trials of ``sampler``: ``n_startup_trials`` of Optuna's TPE, GP and
    CMA-ES samplers; :obj:`None` for a sampler that declares none.

    LLMSampler tells it to the schedule it binds (:class:`BindContext`), and
    :class:`AdaptiveSchedule`'s ``base_startup="auto"`` takes it.
    """
    value = getattr(sampler, "_n_startup_trials", None)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _check_share(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def decisions(study: Study) -> Mapping[int, dict[str, Any]]:
    """The adaptive schedule's recorded decisions of ``study``, by first trial of the block."""
    prefix = _attrs.SHARE_RECORD_PREFIX
    records = study._storage.get_study_system_attrs(study._study_id)
    found = {int(k[len(prefix) :]): v for k, v in records.items() if k.startswith(prefix)}
    return dict(sorted(found.items()))
