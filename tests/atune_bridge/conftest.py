"""Shared by the bridge's tests in the folders below (``format/``, ``runner/``, ``engine/``,
mirroring ``atune_bridge``'s rooms) and the command tests here: ``toy_project``, the toy A-Tune
project the runner and the ``tune`` command run on, is imported from this folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def two_trial_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """LLMSampler as the runner and the engine build it, with rounds of two trials (1-2, 5-6, ...).

    For tests of what happens inside a round of two proposals: the default schedule gives the
    model one trial per start-up round, so its first round with two trials would come late.
    """
    import optuna_llm_sampler

    _default_schedule(monkeypatch, optuna_llm_sampler.AlternatingSchedule)


@pytest.fixture
def model_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """LLMSampler as the runner and the engine build it, with the model proposing trial 1.

    For tests of what happens on the model's trials (timeouts, artifacts, the engine's wiring):
    the default schedule gives the model trial 7 first, after six of TPE's draws:
    ``AdaptiveSchedule(model_first=True, early_share=0.5)`` gives it trial 1.
    """
    import optuna_llm_sampler

    _default_schedule(
        monkeypatch, lambda: optuna_llm_sampler.AdaptiveSchedule(model_first=True, early_share=0.5)
    )


@pytest.fixture
def unvetted(monkeypatch: pytest.MonkeyPatch) -> None:
    """LLMSampler as the runner and the engine build it, with the model's written rounds not vetted.

    For tests whose subject is not vetting (prompts, replies, artifacts, rounds): the default
    choose asks the model a second time on each round it writes, to pick among its own
    configurations and TPE's draws: ``Choose(vet_writes=False)`` asks once.
    """
    import optuna_llm_sampler

    _default(monkeypatch, "choose",
             lambda: optuna_llm_sampler.Choose(vet_writes=False))


def _default_schedule(monkeypatch: pytest.MonkeyPatch, make: Any) -> None:
    """Give every LLMSampler built without a ``schedule`` the one ``make()`` returns."""
    _default(monkeypatch, "schedule", make)


def _default(monkeypatch: pytest.MonkeyPatch, option: str, make: Any) -> None:
    """Give every LLMSampler built with ``option`` at its default (absent, or the default
    preset's name, which the runner and the engine pass) the value ``make()`` returns."""
    import optuna_llm_sampler

    original = optuna_llm_sampler.LLMSampler

    def build(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get(option, "adaptive") == "adaptive":
            kwargs[option] = make()
        return original(*args, **kwargs)

    monkeypatch.setattr(optuna_llm_sampler, "LLMSampler", build)
