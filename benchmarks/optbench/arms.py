"""Arms: the optimisers a benchmark compares, each a name on the command line.

Model-free arms are Optuna's samplers, A-Tune's default engine and the field's optimisers
(SMAC3, HEBO, Nevergrad's NGOpt: :mod:`optbench.peers`); ``llm:SPEC`` arms are
LLMSampler over TPE with a model spec (anything ``make_chat_model`` takes, ``random`` among
them, a stand-in that is not a model) or ``llm:expert``, scripted nginx or MariaDB advice that
is not a model either (see :mod:`optbench.expert`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from optbench.problems import Problem


class ArmError(ValueError):
    """An unknown arm, or one that cannot run here (missing package, no advice for the problem)."""


# --------------------------------------------------------------------------- A-Tune's GBRT


def _gbrt_estimator(seed: int) -> Any:
    """skopt's GBRT quantile regressor, patched for current scikit-learn and NumPy.

    scikit-optimize 0.10 predates scikit-learn's estimator tags (its regressor is not
    recognised as one) and NumPy 2's removal of ``np.in1d``; the subclass fixes both
    without touching the installed package.
    """
    from sklearn.ensemble import GradientBoostingRegressor
    from skopt.learning import GradientBoostingQuantileRegressor

    class _GBRT(GradientBoostingQuantileRegressor):
        def __sklearn_tags__(self) -> Any:
            tags = super().__sklearn_tags__()
            tags.estimator_type = "regressor"
            return tags

        def predict(self, X: Any, return_std: bool = False, return_quantiles: bool = False) -> Any:
            if return_std and not return_quantiles:
                by_q = {q: r for q, r in zip(self.quantiles, self.regressors_)}
                low, mid, high = (by_q[q].predict(X) for q in (0.16, 0.5, 0.84))
                return mid, (high - low) / 2.0
            return super().predict(X, return_std=return_std, return_quantiles=return_quantiles)

    # skopt's own default for base_estimator="GBRT" (cook_estimator): 30 trees, quantile loss.
    return _GBRT(
        base_estimator=GradientBoostingRegressor(n_estimators=30, loss="quantile"),
        random_state=seed,
    )


class GBRTSampler(BaseSampler):
    """A-Tune's ``gbrt`` engine as an Optuna sampler: ``skopt.Optimizer`` with a GBRT model.

    Each finished trial (the baseline included) is told to the optimiser; each new trial is
    its ``ask()``. The first ``n_initial_points`` points are random, as A-Tune's
    ``random_starts``.
    """

    def __init__(self, seed: int, n_initial_points: int) -> None:
        self._seed = seed
        self._n_initial = n_initial_points
        self._space: dict[str, Any] | None = None
        self._optimizer: Any = None
        self._told: set[int] = set()
        self._fallback = RandomSampler(seed=seed)
        self._intersection = IntersectionSearchSpace()

    def reseed_rng(self) -> None:
        self._fallback.reseed_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
        return self._intersection.calculate(study)

    def _dimension(self, dist: Any) -> Any:
        from skopt.space import Categorical, Integer, Real

        if isinstance(dist, CategoricalDistribution):
            return Categorical(list(dist.choices), transform="onehot")
        if isinstance(dist, IntDistribution):
            if dist.log:
                return Integer(dist.low, dist.high, prior="log-uniform")
            return Integer(0, (dist.high - dist.low) // dist.step)  # index of the step grid
        if isinstance(dist, FloatDistribution):
            if dist.step is not None:
                return Integer(0, int(round((dist.high - dist.low) / dist.step)))
            return Real(dist.low, dist.high, prior="log-uniform" if dist.log else "uniform")
        raise TypeError(f"unsupported distribution {dist!r}")

    @staticmethod
    def _to_point(dist: Any, value: Any) -> Any:
        if isinstance(dist, IntDistribution) and not dist.log:
            return (int(value) - dist.low) // dist.step
        if isinstance(dist, FloatDistribution) and dist.step is not None:
            return int(round((float(value) - dist.low) / dist.step))
        return value

    @staticmethod
    def _from_point(dist: Any, point: Any) -> Any:
        if isinstance(dist, IntDistribution):
            return int(point) if dist.log else dist.low + int(point) * dist.step
        if isinstance(dist, FloatDistribution):
            return dist.low + int(point) * dist.step if dist.step is not None else float(point)
        return point

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, Any]) -> dict[str, Any]:
        if not search_space:
            return {}
        from skopt import Optimizer

        if self._optimizer is None or self._space != search_space:
            self._space = dict(search_space)
            self._optimizer = Optimizer(
                [self._dimension(d) for d in search_space.values()],
                base_estimator=_gbrt_estimator(self._seed),
                n_initial_points=self._n_initial,
                acq_optimizer="sampling",
                random_state=self._seed,
            )
            self._told = set()
        sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
        xs, ys = [], []
        for past in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if past.number in self._told or not all(n in past.params for n in search_space):
                continue
            xs.append([self._to_point(d, past.params[n]) for n, d in search_space.items()])
            ys.append(sign * float(past.value))  # skopt minimises
            self._told.add(past.number)
        if xs:
            self._optimizer.tell(xs, ys)
        point = self._optimizer.ask()
        return {n: self._from_point(d, p) for (n, d), p in zip(search_space.items(), point)}

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: Any) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)


@dataclass
class Arm:
    """A built arm for one run: its sampler, and the model (if any) to attach to the study."""

    name: str
    sampler: BaseSampler
    model: Any = None
    uses_model: bool = False

    def attach(self, study: optuna.Study) -> None:
        attach = getattr(self.model, "attach", None)
        if callable(attach):
            attach(study)

    @property
    def settings(self) -> str:
        """The LLMSampler settings whose defaults have changed over time (its schedule and
        choose), as kept with each run; empty for arms without a model.

        A plain ``llm:random`` runs whatever the defaults are, so two runs of it made before
        and after a default changed are different arms under one name: ``compare.py`` refuses
        to put them in one folder.
        """
        if not self.uses_model:
            return ""
        schedule, choose = getattr(self.sampler, "schedule", None), getattr(self.sampler, "choose", None)
        return f"{schedule_setting(schedule)}, choose={_stable_repr(choose)}"


def schedule_setting(schedule: Any) -> str:
    """How :attr:`Arm.settings` records a schedule: its first part, ``schedule=<repr>``."""
    return f"schedule={_stable_repr(schedule)}"


def _stable_repr(value: Any) -> str:
    """``repr(value)``, or its type's name where the repr is an address that differs per run."""
    text = repr(value)
    return type(value).__name__ if " at 0x" in text else text


def _tpe(problem: Problem, seed: int, trials: int) -> BaseSampler:
    return TPESampler(seed=seed)


ATUNE_RANDOM_STARTS = 20
"""A-Tune's default ``random_starts``: random evaluations before the model-based ones. The
runner (``atune-bridge tune``) and the engine give TPE that many start-up trials."""


def _tpe_starts20(problem: Problem, seed: int, trials: int) -> BaseSampler:
    return TPESampler(seed=seed, n_startup_trials=ATUNE_RANDOM_STARTS)


def _tpe_indep(problem: Problem, seed: int, trials: int) -> BaseSampler:
    return TPESampler(seed=seed, multivariate=False)


def _tpe_mv(problem: Problem, seed: int, trials: int) -> BaseSampler:
    return TPESampler(seed=seed, multivariate=True, group=True)


def _gp(problem: Problem, seed: int, trials: int) -> BaseSampler:
    if importlib.util.find_spec("torch") is None:
        raise ArmError("arm 'gp' needs torch (GPSampler): pip install torch (the bench extra's bootstrap installs the CPU wheel)")
    from optuna_llm_sampler._search import RoundedGPSampler

    return RoundedGPSampler(seed=seed)


def _gbrt(problem: Problem, seed: int, trials: int) -> BaseSampler:
    if importlib.util.find_spec("skopt") is None:
        raise ArmError("arm 'gbrt' needs scikit-optimize: pip install scikit-optimize")
    return GBRTSampler(seed=seed, n_initial_points=10)


def _search(name: str) -> Callable[[Problem, int, int], BaseSampler]:
    """The factory of the base search ``name`` (``optuna_llm_sampler._search.SEARCHES``), TPE's
    start-up of 10 trials (the baseline and nine design points)."""

    def factory(problem: Problem, seed: int, trials: int) -> BaseSampler:
        from optuna_llm_sampler._search import SearchError, make_search

        try:
            return make_search(name, seed=seed, budget=trials)
        except SearchError as e:
            raise ArmError(f"arm {name!r}: {e}") from None

    return factory


def _peer(name: str) -> Callable[[Problem, int, int], BaseSampler]:
    """The factory of peer arm ``name`` (:mod:`optbench.peers`), refusing it when its package is absent."""

    def factory(problem: Problem, seed: int, trials: int) -> BaseSampler:
        _check_peer(name)
        from optbench import peers

        if name == "smac-noisy":
            return peers.SMACSampler(seed, trials, deterministic=False)
        cls = {"smac": peers.SMACSampler, "hebo": peers.HEBOSampler, "ngopt": peers.NGOptSampler}[name]
        return cls(seed, trials)

    return factory


def _check_peer(name: str) -> None:
    from optbench.peers import MODULES, PACKAGES

    package = name.partition("-")[0]
    if importlib.util.find_spec(MODULES[package]) is None:
        raise ArmError(f"arm {name!r} needs {PACKAGES[package]}: install the bench extra "
                       "(bash scripts/bootstrap.sh bench)")


#: model-free arms: name -> (factory of (problem, seed, trials), one line for --list)
MODEL_FREE: dict[str, tuple[Callable[[Problem, int, int], BaseSampler], str]] = {
    "random": (lambda p, s, t: RandomSampler(seed=s), "uniform random search (Optuna's RandomSampler)"),
    "tpe": (_tpe, "Optuna's default TPESampler (Optuna 5: multivariate; 10 random start trials)"),
    "tpe-starts20": (_tpe_starts20, "TPESampler(n_startup_trials=20): A-Tune's default random_starts, as atune-bridge tune gives TPE"),
    "tpe-indep": (_tpe_indep, "TPESampler(multivariate=False): one density per knob, Optuna 4's default"),
    "tpe-mv": (_tpe_mv, "TPESampler(multivariate=True, group=True); on a fixed space the same as 'tpe' in Optuna 5"),
    "gp": (_gp, "Optuna's GPSampler, knobs of more than 10,000 values searched as continuous and rounded (RoundedGPSampler; needs torch)"),
    "gbrt": (_gbrt, "A-Tune's gbrt engine: scikit-optimize's GBRT optimiser, 10 random starts"),
    "sobol-tpe": (_search("sobol-tpe"), "SobolTPESampler: TPE whose 10 start-up trials (the baseline and 9) are a scrambled Sobol design over every knob"),
    "sobol-gp": (_search("sobol-gp"), "SobolGPSampler: the Sobol start-up, then Optuna's GP with wide knobs rounded (needs torch; about a second per trial)"),
    "smac": (_peer("smac"), "SMAC3's hyperparameter-optimisation facade (random forest, Sobol initial design), each configuration measured once"),
    "smac-noisy": (_peer("smac-noisy"), "SMAC3's facade with its noisy-objective intensifier: it measures incumbents again, up to 3 times"),
    "hebo": (_peer("hebo"), "HEBO (Sobol start of 1 + knobs, GP with input warping and fitted noise, MACE acquisitions); seconds per trial"),
    "ngopt": (_peer("ngopt"), "Nevergrad's NGOpt: picks its algorithm from the budget, the dimension and the knob types"),
    "tpe-ngopt": (_search("tpe-ngopt"), "InTurnsSampler: TPE's 10 random start-up trials, then NGOpt and TPE by turns of two trials (the 'tpe-ngopt' search)"),
}

PEERS = ("smac", "smac-noisy", "hebo", "ngopt")
"""The arms that run another library's optimiser (:mod:`optbench.peers`)."""

LLM_ARMS: dict[str, str] = {
    "llm:random": "LLMSampler over TPE; the model is the 'random' stand-in (NOT a model: uniform random replies)",
    "llm:expert": "LLMSampler over TPE; the model is scripted nginx or MariaDB advice (NOT a model; those surfaces only)",
    "llm:local": "LLMSampler over TPE with SmolLM2-135M-Instruct on llama.cpp (a real, weak model)",
    "llm:SPEC": "LLMSampler over TPE with any make_chat_model spec (tongyi:MODEL, openai:MODEL@URL)",
}


def _alternating() -> dict[str, Any]:
    from optuna_llm_sampler import AlternatingSchedule

    return {"schedule": AlternatingSchedule()}


def _adaptive_schedule(**settings: Any) -> dict[str, Any]:
    """An AdaptiveSchedule with ``settings``; ``base_startup`` None (every base trial is the
    bar) unless given, as the schedules these options pin were measured."""
    from optuna_llm_sampler import AdaptiveSchedule

    return {"schedule": AdaptiveSchedule(**{"base_startup": None, **settings})}


_WHOLE_ROUNDS = {"early_round_trials": None, "early_on_evidence": False, "score": "earlier", "model_first": True,
                 "early_share": 0.5}
"""The start-up settings ``+adaptive`` pins: whole start-up rounds from trial 1 (half of the
early blocks) whatever they deliver, each trial scored against the trials before it.
"""

_ONE_SHOT = {"early_round_trials": 1, "early_on_evidence": True, "score": "pooled"}
"""One configuration per start-up round, the early share following the model's written trials,
each trial scored against every complete trial before the block (LLMSampler's defaults)."""

_ONE_SHOT_FROM_TRIAL_1 = {**_ONE_SHOT, "model_first": True, "early_share": 0.5}
"""The start-up settings ``+one-shot`` pins: those rounds from trial 1, half of the early blocks."""


def _whole_rounds(**options: Any) -> dict[str, Any]:
    """An AdaptiveSchedule with ``+adaptive``'s whole start-up rounds, with ``options`` changed."""
    return _adaptive_schedule(**{**_WHOLE_ROUNDS, **options})


def _adaptive() -> dict[str, Any]:
    return _whole_rounds()


def _adaptive_early() -> dict[str, Any]:
    return _whole_rounds(early_share=1.0)


def _no_floor() -> dict[str, Any]:
    return _whole_rounds(floor=0.0)


def _early_evidence() -> dict[str, Any]:
    return _whole_rounds(early_on_evidence=True)


def _base_first() -> dict[str, Any]:
    return _whole_rounds(model_first=False)


def _one_early_block() -> dict[str, Any]:
    return _whole_rounds(early_share=0.25)


def _pooled_evidence() -> dict[str, Any]:
    return _whole_rounds(early_on_evidence=True, score="pooled")


def _early_singles() -> dict[str, Any]:
    return _whole_rounds(early_round_trials=1)


def _one_shot() -> dict[str, Any]:
    return _adaptive_schedule(**_ONE_SHOT_FROM_TRIAL_1)


def _one_shot_base_first() -> dict[str, Any]:
    return _adaptive_schedule(**{**_ONE_SHOT_FROM_TRIAL_1, "model_first": False})


def _late_shot(**changes: Any) -> dict[str, Any]:
    """``+late-shot``: the model's one start-up configuration is trial 7; later blocks are judged
    against every trial of TPE's, its random start-up too (no ``base_startup``); with ``changes``."""
    return _adaptive_schedule(**{**_ONE_SHOT, "model_first": False, "early_share": 0.25, **changes})


def _starts20() -> dict[str, Any]:
    return {_BASE_STARTUP: ATUNE_RANDOM_STARTS}


_BASE_STARTUP = "base_n_startup_trials"
"""The key an option sets to change the base TPE's start-up trials (:func:`make_arm` builds
the base sampler with the run's seed, so an option cannot build it)."""


_BASE_SEARCH = "base_search"
"""The key an option sets to replace the base TPE: a factory of ``(problem, seed, trials)``, as
the model-free arms' (:func:`make_arm` builds it with the run's seed)."""


def _screen() -> dict[str, Any]:
    from optuna_llm_sampler import Screen

    return {"screen": Screen(), "choose": None}


def _choose() -> dict[str, Any]:
    from optuna_llm_sampler import Choose

    return {"choose": Choose(from_trial=0, write_when_ahead=False, vet_writes=False)}


def _hybrid() -> dict[str, Any]:
    from optuna_llm_sampler import Choose

    return {"choose": Choose(write_when_ahead=False, vet_writes=False)}


def _choose_of(**changes: Any) -> dict[str, Any]:
    """``+unvetted``: ``Choose(from_trial=10, write_when_ahead=True)`` without vetting, with ``changes``."""
    from optuna_llm_sampler import Choose

    return {"choose": Choose(**{"from_trial": 10, "write_when_ahead": True, "vet_writes": False,
                                **changes})}


def _write() -> dict[str, Any]:
    return {"choose": None}


def _evidence() -> dict[str, Any]:
    from optuna_llm_sampler import Evidence

    return {"evidence": Evidence()}


#: LLMSampler options an ``llm:`` arm can switch on with ``+NAME`` suffixes
#: (``llm:random+adaptive``): name -> (LLMSampler keyword arguments, one line for --list)
LLM_OPTIONS: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "alternating": (_alternating, "schedule=AlternatingSchedule(): two model trials, two TPE trials, repeating (the schedule of the 'alternating' preset)"),
    "adaptive": (_adaptive, "schedule=AdaptiveSchedule(early_round_trials=None, early_on_evidence=False, score='earlier', model_first=True, early_share=0.5, base_startup=None): the model's share follows its results, whole start-up rounds from trial 1 whatever they deliver, each trial scored against the trials before it (the options below up to +early-singles change this one)"),
    "adaptive-early": (_adaptive_early, "+adaptive with early_share=1.0: the model proposes TPE's start-up trials"),
    "no-floor": (_no_floor, "+adaptive with floor=0.0: after the start-up the model gets blocks only while its trials are ahead"),
    "early-evidence": (_early_evidence, "+adaptive with early_on_evidence=True: a model whose trials are behind TPE's random start-up draws loses its early share"),
    "base-first": (_base_first, "+adaptive with model_first=False: TPE takes the first block, so the model's first round sees more than the baseline"),
    "one-early-block": (_one_early_block, "+adaptive with early_share=0.25: the model gets one block of TPE's start-up (trials 3-4) instead of two (1-2, 5-6)"),
    "pooled-evidence": (_pooled_evidence, "+adaptive with early_on_evidence=True, score='pooled': early blocks follow the evidence, every trial scored against all trials so far (not the model's first against the baseline alone)"),
    "early-singles": (_early_singles, "+adaptive with early_round_trials=1: the model's start-up rounds are one configuration each (trials 1 and 5), TPE takes the rest"),
    "one-shot": (_one_shot, "schedule=AdaptiveSchedule(early_round_trials=1, early_on_evidence=True, score='pooled', model_first=True, early_share=0.5): one configuration per start-up round from trial 1, the second start-up round only if the first was level or ahead"),
    "one-shot-base-first": (_one_shot_base_first, "schedule=AdaptiveSchedule(early_round_trials=1, early_on_evidence=True, score='pooled', model_first=False, early_share=0.5): +one-shot, but TPE takes trials 1-2, so the model's first configuration (trial 3) sees two random draws beside the baseline"),
    "late-shot": (_late_shot, "schedule=AdaptiveSchedule(early_round_trials=1, early_on_evidence=True, score='pooled', model_first=False, early_share=0.25): the model's one start-up configuration is trial 7, written after the baseline and six of TPE's random draws, still inside its start-up; later blocks are judged against every TPE trial, its random start-up draws included (LLMSampler's default schedule is this one with base_startup set)"),
    "start-only": (partial(_late_shot, floor=0.0, ceiling=0.0), "schedule=AdaptiveSchedule(floor=0, ceiling=0) on +late-shot's settings: the model's one start-up trial (7) and none after it, a diagnostic of what the start-up trial alone does to a long study"),
    "starts20": (_starts20, "base_sampler=TPESampler(n_startup_trials=20): A-Tune's default random_starts, as atune-bridge tune builds it, under LLMSampler's defaults (the default schedule's base_startup follows it: 20; +starts20+late-shot runs the schedule without base_startup)"),
    "window": (partial(_late_shot, window=20), "schedule=AdaptiveSchedule(window=20) on +late-shot's settings: each block is decided on the trials of the last 20 alone (the share, and what write_when_ahead judges), still scored against the whole field"),
    "screen": (_screen, "screen=Screen(): 3x the candidates, a random forest on the history keeps the best"),
    "choose": (_choose, "choose=Choose(): TPE draws 4 candidates per trial, the model picks (it writes no values)"),
    "hybrid": (_hybrid, "choose=Choose(from_trial=10): the model writes its rounds in TPE's random start-up (trials 1-9), picks among TPE's candidates after"),
    "write-when-ahead": (_choose_of, "choose=Choose(from_trial=10, write_when_ahead=True): the hybrid, but a round after trial 10 is written while the adaptive share's evidence says the model's trials are ahead (the same as +unvetted)"),
    "choose-first": (partial(_choose_of, write_after=2), "choose=Choose(from_trial=10, write_when_ahead=True, write_after=2): +unvetted, but a round the study reaches with fewer than 2 complete trials (the baseline alone) picks among TPE's draws instead of writing (with +one-shot, whose trial 1 is the model's: under the default schedule no model round comes that early)"),
    "late-pick": (partial(_choose_of, write_after=8), "choose=Choose(from_trial=10, write_when_ahead=True, write_after=8): +unvetted, but a round the study reaches with fewer than 8 complete trials picks among TPE's draws: under the default schedule the model's one start-up trial (7) is picked, not written"),
    "vet": (partial(_choose_of, vet_writes=True), "choose=Choose(from_trial=10, write_when_ahead=True, vet_writes=True): a round that writes is vetted: the model's configuration joins three of TPE's draws and the model picks one of the four (two model calls per written round); LLMSampler's default choose"),
    "unvetted": (_choose_of, "choose=Choose(from_trial=10, write_when_ahead=True): the default choose without vetting: one model call per written round"),
    "write": (_write, "choose=None: the model writes every round (the choose of the 'write' preset)"),
    "evidence": (_evidence, "evidence=Evidence(): per-knob evidence in the prompt (the stand-ins do not read it)"),
    "sobol-tpe": (lambda: {_BASE_SEARCH: _search("sobol-tpe")}, "base_sampler=SobolTPESampler(seed): TPE whose start-up trials are a scrambled Sobol design over every knob, categorical ones included, instead of random draws"),
    "sobol-gp": (lambda: {_BASE_SEARCH: _search("sobol-gp")}, "base_sampler=SobolGPSampler(seed): the Sobol start-up, then Optuna's Gaussian process with wide knobs rounded (needs torch; about a second per trial)"),
    "tpe-ngopt": (lambda: {_BASE_SEARCH: _search("tpe-ngopt")}, "base_sampler=InTurnsSampler(TPE, NGOpt): TPE's random start-up, then NGOpt and TPE by turns of two trials, each learning from every trial, the model's included (the 'tpe-ngopt' search)"),
    "ngopt": (lambda: {_BASE_SEARCH: _search("ngopt")}, "base_sampler=NevergradSampler(budget=trials, seed): Nevergrad's NGOpt under the model (the 'ngopt' search), told every finished trial, the model's and the baseline included"),
}


def split_arm(name: str) -> tuple[str, list[str]]:
    """``llm:SPEC+opt+opt`` -> (``llm:SPEC``, [opt, opt]); other names have no options."""
    if not name.startswith("llm:"):
        return name, []
    base, *options = name.split("+")
    return base, options


def arm_names() -> list[str]:
    return [*MODEL_FREE, *(k for k in LLM_ARMS if k != "llm:SPEC")]


def check_arm(name: str, problem: Problem) -> None:
    """Raise :class:`ArmError` when ``name`` is unknown or cannot run on ``problem`` here."""
    if name in MODEL_FREE:
        if name == "gp" and importlib.util.find_spec("torch") is None:
            raise ArmError("arm 'gp' needs torch (GPSampler); install the bench extra with scripts/bootstrap.sh")
        if name == "gbrt" and importlib.util.find_spec("skopt") is None:
            raise ArmError("arm 'gbrt' needs scikit-optimize (the bench extra)")
        if name in PEERS:
            _check_peer(name)
        if name == "sobol-gp" and importlib.util.find_spec("torch") is None:
            raise ArmError("arm 'sobol-gp' needs torch (GPSampler); install the bench extra with scripts/bootstrap.sh")
        return
    if not name.startswith("llm:") or not name[4:]:
        raise ArmError(f"unknown arm {name!r}: choose from {', '.join(arm_names())} or llm:SPEC")
    name, options = split_arm(name)
    for option in options:
        if option not in LLM_OPTIONS:
            raise ArmError(f"arm {name + '+' + '+'.join(options)!r}: unknown option {option!r}; "
                           f"choose from {', '.join(LLM_OPTIONS)} (e.g. llm:random+adaptive)")
    if len(set(options)) != len(options):
        raise ArmError(f"arm {name + '+' + '+'.join(options)!r} names an option twice")
    if name == "llm:expert":
        from optbench.expert import ExpertUnavailableError, check_expert

        try:
            check_expert(problem.space)
        except ExpertUnavailableError as e:
            raise ArmError(f"arm 'llm:expert' is unavailable on {problem.name}: {e}") from None
        return
    from optuna_llm_sampler import LLMSamplerError, make_chat_model

    try:
        make_chat_model(name[4:])  # builds only: a local model loads at its first call
    except LLMSamplerError as e:
        raise ArmError(f"arm {name!r}: {e}") from None


def make_arm(name: str, problem: Problem, seed: int, *, trials: int = 30, llm_timeout: float | None = 300.0,
             llm_threads: int | None = None) -> Arm:
    """Build arm ``name`` for one run of ``problem`` with ``seed`` and ``trials`` trials (the
    budget SMAC and NGOpt are told); ``llm_threads`` for ``llm:local``."""
    check_arm(name, problem)
    if name in MODEL_FREE:
        return Arm(name, MODEL_FREE[name][0](problem, seed, trials))
    from optuna_llm_sampler import LLMSampler, make_chat_model

    base_name, options = split_arm(name)
    spec = base_name[4:]
    if spec == "expert":
        from optbench.expert import ExpertChatModel

        from optbench.expert import check_expert

        model: Any = ExpertChatModel(seed=seed, service=check_expert(problem.space))
    elif spec == "local" and llm_threads is not None:
        model = make_chat_model(spec, seed=seed, n_threads=llm_threads)
    elif spec in ("random", "local"):
        model = make_chat_model(spec, seed=seed)
    else:
        model = make_chat_model(spec)
    settings = {k: v for option in options for k, v in LLM_OPTIONS[option][0]().items()}
    startup = settings.pop(_BASE_STARTUP, None)
    search = settings.pop(_BASE_SEARCH, None)
    if search is not None and startup is not None:
        raise ArmError(f"arm {name!r}: +starts20 sets TPE's start-up, and a base search option replaces TPE")
    if search is not None:
        base: BaseSampler = search(problem, seed, trials)
    else:
        base = TPESampler(seed=seed) if startup is None else TPESampler(seed=seed, n_startup_trials=startup)
    sampler = LLMSampler(
        model,
        base_sampler=base,
        search_space=problem.space,
        knowledge=problem.knowledge or None,
        descriptions=problem.descriptions or None,
        baseline=problem.baseline,
        seed=seed,
        timeout=llm_timeout,
        **settings,
    )
    return Arm(name, sampler, model, uses_model=True)
