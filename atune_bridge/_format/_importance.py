"""Which of Optuna's parameter importance evaluators to use, where it depends on what is installed.

Both the runner's report and the engine's ``rank`` ask it, so it lives below both. Imports
nothing of ``atune_bridge``.
"""

from __future__ import annotations

from typing import Any


def importance_evaluator() -> Any:
    """fANOVA when scikit-learn is there (extras ``report``, ``engine``), else PED-ANOVA, which
    needs none. Used by the runner's report and the engine's ``rank``."""
    import importlib.util

    import optuna

    if importlib.util.find_spec("sklearn") is not None:
        return optuna.importance.FanovaImportanceEvaluator(seed=0)
    return optuna.importance.PedAnovaImportanceEvaluator()
