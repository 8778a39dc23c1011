"""LLMSampler on OptunaHub: the sampler of the ``optuna-llm-sampler`` package from PyPI.

The code lives in that package (``pip install optuna-llm-sampler``); this module re-exports its
public face, so that ``optunahub.load_module("samplers/llm_sampler").LLMSampler`` is the same
class as ``optuna_llm_sampler.LLMSampler``.
"""

try:
    from optuna_llm_sampler import AdaptiveSchedule
    from optuna_llm_sampler import AlternatingSchedule
    from optuna_llm_sampler import Choose
    from optuna_llm_sampler import discard_waiting_proposals
    from optuna_llm_sampler import Evidence
    from optuna_llm_sampler import LLMSampler
    from optuna_llm_sampler import make_chat_model
    from optuna_llm_sampler import ModelBudget
    from optuna_llm_sampler import Screen
    from optuna_llm_sampler import sqlite_storage
except ModuleNotFoundError as exc:
    if exc.name != "optuna_llm_sampler":
        raise
    raise ModuleNotFoundError(
        "samplers/llm_sampler needs the optuna-llm-sampler package: run "
        "`pip install -r https://hub.optuna.org/samplers/llm_sampler/requirements.txt` "
        "or `pip install 'optuna-llm-sampler[llm]'`.",
        name=exc.name,
    ) from exc


__all__ = [
    "AdaptiveSchedule",
    "AlternatingSchedule",
    "Choose",
    "Evidence",
    "LLMSampler",
    "ModelBudget",
    "Screen",
    "discard_waiting_proposals",
    "make_chat_model",
    "sqlite_storage",
]
