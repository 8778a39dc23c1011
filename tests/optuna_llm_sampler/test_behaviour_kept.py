"""The sampler's trials stay what they were: fixed-seed studies replayed against a recording.

Each case runs a 30-trial study on the contract space with a fixed seed, the ``random``
stand-in (not a model) or scripted replies, and compares every trial's parameters and
``source`` with ``data/trials_kept.json``. A refactoring that moves code must leave these
trials exactly as they were; a deliberate change of behaviour re-records the file
(``python tests/optuna_llm_sampler/test_behaviour_kept.py --record``) in the same commit and
says why.

The cases: LLMSampler's default; the two-and-two of the experiment the project grew from
(``AlternatingSchedule()`` with the model writing every one of its rounds); and the two option
classes built by a user with one field changed, ``AdaptiveSchedule(ceiling=0.3)`` and
``Choose(candidates=6)``, which keep every other default the sampler uses: the recording
for them is the default with that one field changed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from llm_fakes import SPACE, ScriptedChatModel, objective, prompt_n  # noqa: E402

from optuna_llm_sampler.attrs import source_of
from optuna_llm_sampler import (  # noqa: E402
    AdaptiveSchedule,
    AlternatingSchedule,
    Choose,
    LLMSampler,
    make_chat_model,
)

RECORDING = Path(__file__).resolve().parent / "data" / "trials_kept.json"
TRIALS = 30
SEEDS = (0, 1)
BASELINE = {"workers": 8, "backlog": 512, "buffer_kb": 64, "ratio": 0.5, "timeout_s": 5.0,
            "learning_rate": 1e-3, "mode": "safe"}


def advice(prompt: str, index: int) -> str:
    """Scripted replies (not a model): configurations near the objective's optimum, and when
    asked to choose, the last candidate listed."""
    if "Choose" in prompt and "candidate" in prompt:
        numbers = [int(line.split(".", 1)[0]) for line in prompt.splitlines()
                   if line[:1].isdigit() and ". {" in line]
        return json.dumps({"choices": [{"candidate": max(numbers or [1]), "rationale": "last"}]})
    configs = [
        {"params": {"workers": 24 + i, "backlog": 1024, "buffer_kb": 64 + index, "ratio": 0.9,
                    "timeout_s": 0.5, "learning_rate": 1e-3, "mode": "fast"},
         "rationale": f"near the optimum ({index})"}
        for i in range(prompt_n(prompt))
    ]
    return json.dumps({"configurations": configs})


def _model(kind: str, seed: int) -> Any:
    if kind == "random":
        return make_chat_model("random", seed=seed)
    return ScriptedChatModel(replier=advice)


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "default": lambda: {},
    "two-and-two": lambda: {"schedule": AlternatingSchedule(), "choose": None},
    # A user's AdaptiveSchedule with one field changed takes the base sampler's start-up
    # (base_startup="auto") as the default does: its trials are the default's with that field
    # changed, recorded as AdaptiveSchedule(ceiling=0.3, base_startup=10) before that was so.
    "adaptive-ceiling-0.3": lambda: {"schedule": AdaptiveSchedule(ceiling=0.3)},
    # Choose's own defaults are the sampler's: recorded as Choose(candidates=6, from_trial=10,
    # write_when_ahead=True, vet_writes=True) before they were.
    "choose-6-candidates": lambda: {"choose": Choose(candidates=6)},
}
"""Each case's LLMSampler options; the recording's trials are what they run."""

PRESET_CASES = {"default": "adaptive", "two-and-two": "alternating"}
"""The presets that name a case's options exactly: the same trials."""


def run_case(case: str, kind: str, seed: int) -> list[list[Any]]:
    """``[params, source]`` of every trial of one study."""
    sampler = LLMSampler(
        _model(kind, seed),
        search_space=SPACE,
        baseline=BASELINE,
        seed=seed,
        **CASES[case](),
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=TRIALS)
    return [[t.params, source_of(t, "TPESampler")] for t in study.trials]


def _key(case: str, kind: str, seed: int) -> str:
    return f"{case}/{kind}/{seed}"


def record() -> dict[str, Any]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return {
        _key(case, kind, seed): run_case(case, kind, seed)
        for case in CASES for kind in ("random", "scripted") for seed in SEEDS
    }


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["random", "scripted"])
@pytest.mark.parametrize("case", list(CASES))
def test_trials_are_the_recorded_ones(case: str, kind: str, seed: int) -> None:
    recorded = json.loads(RECORDING.read_text())[_key(case, kind, seed)]
    ran = json.loads(json.dumps(run_case(case, kind, seed)))
    assert ran == recorded
    # The case exercises what it names: the model proposed some of the trials.
    assert any(source == "llm" for _, source in ran)


@pytest.mark.parametrize("kind", ["random", "scripted"])
@pytest.mark.parametrize("case", list(PRESET_CASES))
def test_a_preset_runs_the_trials_of_the_options_it_names(case: str, kind: str) -> None:
    recorded = json.loads(RECORDING.read_text())[_key(case, kind, 0)]
    sampler = LLMSampler(_model(kind, 0), search_space=SPACE, baseline=BASELINE, seed=0,
                         schedule=PRESET_CASES[case])
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=TRIALS)
    ran = json.loads(json.dumps([[t.params, source_of(t, "TPESampler")] for t in study.trials]))
    assert ran == recorded


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    RECORDING.parent.mkdir(exist_ok=True)
    RECORDING.write_text(json.dumps(record(), indent=None, sort_keys=True) + "\n")
    print(f"recorded {RECORDING}")
