"""Evidence: what the study's trials say about each knob, in a few lines for the prompt.

Small models copy what they see: showing them single trials invites copying the baseline, so
this part shows what works instead, the way the optimiser sees it. For each categorical knob
each choice's count and its best and mean objective; for each number where the good trials
(the best quarter, TPE's ``gamma``) lie and the trend; once enough trials exist the knobs'
importance (fANOVA with scikit-learn, else PED-ANOVA), most important knob first, so that
when the part is cut to its budget the least important knobs are the ones dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import statistics
import warnings
from typing import Any
from typing import TYPE_CHECKING

from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_llm_sampler._errors import ConfigError


if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial


_logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Evidence:
    """Per-knob evidence from the study's history, shown in the prompt above the trials.

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import Evidence, LLMSampler, make_chat_model

            sampler = LLMSampler(
                make_chat_model("random:0"),
                search_space={"x": optuna.distributions.IntDistribution(1, 64)},
                evidence=Evidence(good_fraction=0.25),
            )

    Args:
        good_fraction:
            Share of the complete trials counted as good. Default 0.25, about TPE's.
        min_trials:
            Complete trials needed before any evidence is shown. Default 4.
        importance_trials:
            Complete trials needed before importances are computed. Default 10.
        trend_threshold:
            Smallest absolute rank correlation between a number and the objective that is
            reported as a trend. Default 0.3.
        max_trials:
            The most complete trials the evidence reads: the most recent ones. Default 500:
            importances fit a forest on them, which on a 5,000-trial study took minutes a
            round; a few hundred trials say what the history says about each knob.
    """

    good_fraction: float = 0.25
    min_trials: int = 4
    importance_trials: int = 10
    trend_threshold: float = 0.3
    max_trials: int = 500

    def __post_init__(self) -> None:
        if isinstance(self.good_fraction, bool) or not (
            isinstance(self.good_fraction, (int, float)) and 0.0 < self.good_fraction <= 1.0
        ):
            raise ConfigError(f"good_fraction must be a number in (0, 1], got {self.good_fraction!r}")
        for name, minimum in (("min_trials", 2), ("importance_trials", 2), ("max_trials", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")
        t = self.trend_threshold
        if isinstance(t, bool) or not (isinstance(t, (int, float)) and 0.0 <= t <= 1.0):
            raise ConfigError(f"trend_threshold must be a number in [0, 1], got {t!r}")

    def render(
        self,
        study: Study,
        trials: Sequence[FrozenTrial],
        search_space: Mapping[str, BaseDistribution],
    ) -> str:
        """The evidence text, or ``""`` before ``min_trials`` or with several objectives."""
        if len(study.directions) != 1:
            return ""
        maximize = study.directions[0] is StudyDirection.MAXIMIZE
        complete = [
            t for t in trials if t.state is TrialState.COMPLETE and t.values is not None and math.isfinite(t.values[0])
        ]
        if len(complete) < self.min_trials:
            return ""
        complete = sorted(complete, key=lambda t: t.number)[-self.max_trials :]
        ranked = sorted(complete, key=lambda t: t.values[0], reverse=maximize)
        n_good = max(1, math.ceil(self.good_fraction * len(ranked)))
        good = ranked[:n_good]
        importances = _importances(study, complete, search_space) if len(complete) >= self.importance_trials else {}
        names = sorted(search_space, key=lambda n: -importances.get(n, 0.0))
        head = (
            f"From {len(complete)} complete trials ({'higher' if maximize else 'lower'} is "
            f"better); good = the best {n_good}."
        )
        lines = [head]
        if importances:
            top = [f"{n} {importances[n]:.2f}" for n in names if n in importances][:6]
            lines.append("Importance (share of the objective's variation): " + ", ".join(top))
        for name in names:
            dist = search_space[name]
            if isinstance(dist, CategoricalDistribution):
                line = _categorical(name, dist, complete, maximize)
            elif isinstance(dist, (IntDistribution, FloatDistribution)):
                line = _numeric(name, complete, good, maximize, self.trend_threshold)
            else:
                line = None
            if line:
                lines.append(line)
        return "\n".join(lines)


def _categorical(
    name: str,
    dist: CategoricalDistribution,
    complete: Sequence[FrozenTrial],
    maximize: bool,
) -> str | None:
    by_choice: dict[int, list[float]] = {}
    for trial in complete:
        if name in trial.params:
            try:
                index = dist.to_internal_repr(trial.params[name])
            except ValueError:
                continue
            by_choice.setdefault(int(index), []).append(trial.values[0])
    if not by_choice:
        return None
    best = max if maximize else min
    order = sorted(by_choice, key=lambda i: best(by_choice[i]), reverse=maximize)
    parts = [
        f"{_choice(dist.choices[i])} n={len(by_choice[i])} best={_num(best(by_choice[i]))} "
        f"mean={_num(statistics.fmean(by_choice[i]))}"
        for i in order
    ]
    untried = [_choice(c) for i, c in enumerate(dist.choices) if i not in by_choice]
    text = f"- {name}: " + "; ".join(parts)
    if untried:
        text += "; untried: " + ", ".join(untried)
    return text


def _numeric(
    name: str,
    complete: Sequence[FrozenTrial],
    good: Sequence[FrozenTrial],
    maximize: bool,
    threshold: float,
) -> str | None:
    pairs = [
        (float(t.params[name]), t.values[0])
        for t in complete
        if isinstance(t.params.get(name), (int, float)) and not isinstance(t.params[name], bool)
    ]
    good_values = sorted(float(t.params[name]) for t in good if isinstance(t.params.get(name), (int, float)))
    if len(pairs) < 2 or not good_values:
        return None
    xs = [x for x, _ in pairs]
    text = (
        f"- {name}: good trials {_num(good_values[0])}..{_num(good_values[-1])} "
        f"(median {_num(statistics.median(good_values))}); "
        f"tried {_num(min(xs))}..{_num(max(xs))}"
    )
    rho = _spearman(xs, [y for _, y in pairs])
    if rho is not None and abs(rho) >= threshold:
        better = (rho > 0) == maximize
        text += f"; {'higher' if better else 'lower'} values did better (rank corr. {rho:+.2f})"
    return text


def _importances(
    study: Study, trials: Sequence[FrozenTrial], search_space: Mapping[str, BaseDistribution]
) -> dict[str, float]:
    """Each knob's importance over ``trials`` alone (a study in memory holding them)."""
    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Built directly, not with create_study, which logs each study it creates.
            storage = optuna.storages.InMemoryStorage()
            storage.create_new_study(list(study.directions), "evidence")
            subset = optuna.study.Study(study_name="evidence", storage=storage)
            subset.add_trials(trials)
            found = optuna.importance.get_param_importances(
                subset, evaluator=_evaluator(), params=[n for n in search_space]
            )
    except Exception as e:  # Importances are a nicety: the prompt goes on without them.
        _logger.debug("No parameter importances: %s: %s", type(e).__name__, e)
        return {}
    return {k: float(v) for k, v in found.items() if math.isfinite(v)}


def _evaluator() -> Any:
    # fANOVA reads small histories far better than PED-ANOVA, which needs no extra package.
    import importlib.util

    import optuna

    if importlib.util.find_spec("sklearn") is not None:
        # 16 shallow trees rank the knobs as 64 deep ones do, at a tenth of the time.
        return optuna.importance.FanovaImportanceEvaluator(n_trees=16, max_depth=8, seed=0)
    return optuna.importance.PedAnovaImportanceEvaluator()


def _spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0
        i = j + 1
    return ranks


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def _choice(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)
