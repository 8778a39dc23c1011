"""Screen: ask the model for more configurations than a round has trials, keep the most promising.

A surrogate fitted on the study's complete trials (a scikit-learn random forest on the
parameters, numbers scaled to [0, 1] and categories one-hot) ranks the model's candidates;
the round keeps the best-ranked. While the history is short, or without scikit-learn, the
model's own order is kept: its first candidates are the ones it was asked for first.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
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
    from optuna.trial import FrozenTrial

    from optuna_llm_sampler._proposal._repair import Proposal


BY_SURROGATE = "random_forest"
BY_MODEL_ORDER = "model_order"


@dataclasses.dataclass(frozen=True)
class Screen:
    """Over-generate, then screen: ``factor`` times the round's configurations, the best kept.

    Each kept trial records ``llm_screen``: its ``rank`` among the ``of`` usable candidates,
    ``by`` what they were ranked (``random_forest`` or ``model_order``) and the surrogate's
    ``predicted`` objective value.

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import LLMSampler, Screen, make_chat_model

            sampler = LLMSampler(
                make_chat_model("random:0"),
                search_space={"x": optuna.distributions.IntDistribution(1, 64)},
                screen=Screen(factor=4, min_trials=8),
            )
            study = optuna.create_study(sampler=sampler)
            study.optimize(lambda t: (t.suggest_int("x", 1, 64) - 24) ** 2, n_trials=16)
            print([t.user_attrs.get("llm_screen") for t in study.trials])

    Args:
        factor:
            Candidates asked for per trial of the round. Default 3: enough choice for the
            surrogate, a reply a small model can still write.
        min_trials:
            Complete trials the surrogate needs before it ranks; before that the model's order
            is kept. Default 8.
        n_estimators:
            Trees of the random forest. Default 100.
    """

    factor: int = 3
    min_trials: int = 8
    n_estimators: int = 100

    def __post_init__(self) -> None:
        for name, minimum in (("factor", 1), ("min_trials", 2), ("n_estimators", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")

    def select(
        self,
        proposals: Sequence[Proposal],
        n: int,
        trials: Sequence[FrozenTrial],
        search_space: Mapping[str, BaseDistribution],
        directions: Sequence[StudyDirection],
    ) -> list[tuple[Proposal, dict[str, Any]]]:
        """The ``n`` best of ``proposals``, best first, each with its ``llm_screen`` record."""
        predicted = self._predict(proposals, trials, search_space, directions)
        if predicted is None:
            order = list(range(len(proposals)))
            by = BY_MODEL_ORDER
        else:
            order = sorted(range(len(proposals)), key=lambda i: (predicted[i], i))
            by = BY_SURROGATE
        sign = -1.0 if directions[0] is StudyDirection.MAXIMIZE else 1.0
        out = []
        for rank, i in enumerate(order[:n], start=1):
            record: dict[str, Any] = {"rank": rank, "of": len(proposals), "by": by}
            if predicted is not None:
                record["predicted"] = round(sign * predicted[i], 6)
            out.append((proposals[i], record))
        return out

    def _predict(
        self,
        proposals: Sequence[Proposal],
        trials: Sequence[FrozenTrial],
        search_space: Mapping[str, BaseDistribution],
        directions: Sequence[StudyDirection],
    ) -> list[float] | None:
        """Predicted objective of each proposal, lower is better; None to keep the model's order."""
        if len(directions) != 1 or len(proposals) < 2:
            return None
        sign = -1.0 if directions[0] is StudyDirection.MAXIMIZE else 1.0
        xs, ys = [], []
        for trial in trials:
            if trial.state is not TrialState.COMPLETE or trial.values is None:
                continue
            y = sign * trial.values[0]
            if math.isfinite(y):
                xs.append(encode(trial.params, search_space))
                ys.append(y)
        if len(xs) < self.min_trials or importlib.util.find_spec("sklearn") is None:
            return None
        import numpy as np
        from sklearn.ensemble import RandomForestRegressor

        train = _impute(np.array(xs, dtype=float))
        forest = RandomForestRegressor(n_estimators=self.n_estimators, random_state=0)
        forest.fit(train, np.array(ys))
        candidates = np.array([encode(p.params, search_space) for p in proposals], dtype=float)
        means = np.nanmean(train, axis=0)
        candidates = np.where(np.isnan(candidates), means, candidates)
        return [float(v) for v in forest.predict(candidates)]


def encode(params: Mapping[str, Any], search_space: Mapping[str, BaseDistribution]) -> list[float]:
    """Numbers scaled to [0, 1] (log scale where the distribution is), categories one-hot.

    A parameter that is absent or outside its distribution is NaN (one NaN per choice).
    """
    row: list[float] = []
    for name, dist in search_space.items():
        value = params.get(name)
        if isinstance(dist, CategoricalDistribution):
            try:
                index = dist.to_internal_repr(value) if name in params else None
            except ValueError:
                index = None
            if index is None:
                row.extend([math.nan] * len(dist.choices))
            else:
                row.extend(1.0 if i == index else 0.0 for i in range(len(dist.choices)))
        elif isinstance(dist, (IntDistribution, FloatDistribution)):
            row.append(_scale(value, dist))
        else:
            row.append(math.nan)
    return row


def _scale(value: Any, dist: IntDistribution | FloatDistribution) -> float:
    try:
        x, low, high = float(value), float(dist.low), float(dist.high)
    except (TypeError, ValueError):
        return math.nan
    if dist.log:
        x, low, high = math.log(max(x, 1e-300)), math.log(low), math.log(high)
    return 0.5 if high == low else (x - low) / (high - low)


def _impute(x: Any) -> Any:
    import numpy as np

    if not np.isnan(x).any():
        return x
    means = np.nanmean(np.where(np.isnan(x).all(axis=0), 0.0, x), axis=0)
    return np.where(np.isnan(x), means, x)
