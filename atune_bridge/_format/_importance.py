"""Which of Optuna's parameter importance evaluators to use, where it depends on what is installed.

Both the runner's report and the engine's ``rank`` ask it, so it lives below both. Imports
nothing of ``atune_bridge``.
"""

from __future__ import annotations

from typing import Any


MAX_FANOVA_CHOICES = 8
"""fANOVA's time grows exponentially with a categorical parameter's choices (20 choices take
25 s on 20 trials): past this many, PED-ANOVA ranks instead."""


def importance_evaluator(study: Any = None) -> Any:
    """fANOVA when scikit-learn is there (extras ``report``, ``engine``), else PED-ANOVA, which
    needs none; PED-ANOVA too when a categorical parameter of ``study`` has more than
    :data:`MAX_FANOVA_CHOICES` choices. Used by the runner's report and the engine's ``rank``."""
    import importlib.util

    import optuna

    if importlib.util.find_spec("sklearn") is not None and not _many_choices(study):
        return optuna.importance.FanovaImportanceEvaluator(seed=0)
    return optuna.importance.PedAnovaImportanceEvaluator()


def _many_choices(study: Any) -> bool:
    if study is None:
        return False
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        for dist in trial.distributions.values():
            if isinstance(dist, CategoricalDistribution) and len(dist.choices) > MAX_FANOVA_CHOICES:
                return True
    return False
