"""The runner's base search: ``--search`` names it, the project's ``random_starts`` is its start-up."""

from __future__ import annotations

import importlib.util

import optuna
import pytest

from atune_bridge._cli import build_parser
from atune_bridge._runner._errors import SamplerUnavailableError
from atune_bridge._runner._sampler import build_sampler

SPACE = {"workers": optuna.distributions.IntDistribution(1, 8)}


def _build(search: str | None, llm: str = "none", startup: int = 20) -> optuna.samplers.BaseSampler:
    return build_sampler(llm, space=SPACE, knowledge="", descriptions={}, baseline={"workers": 1}, seed=0,
                         n_startup_trials=startup, search=search)


def test_the_default_search_is_tpe_with_the_projects_random_starts_and_sobol_tpe_starts_from_a_design() -> None:
    assert type(_build(None)).__name__ == "TPESampler" and _build(None)._n_startup_trials == 20
    sampler = _build("sobol-tpe")
    assert type(sampler).__name__ == "SobolTPESampler" and isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._n_startup_trials == 20
    assert _build("tpe", startup=0)._n_startup_trials == 1  # the baseline at least, as before
    assert type(_build("random")).__name__ == "RandomSampler"


def test_the_model_is_put_over_the_named_search() -> None:
    sampler = _build("tpe", llm="random")
    assert type(sampler).__name__ == "LLMSampler" and type(sampler.base_sampler).__name__ == "TPESampler"
    assert type(_build("sobol-tpe", llm="random").base_sampler).__name__ == "SobolTPESampler"


def test_an_unknown_search_is_refused_naming_the_choices() -> None:
    with pytest.raises(SamplerUnavailableError, match="--search bogus: unknown search 'bogus'; choose one of tpe, sobol-tpe"):
        _build("bogus")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="the gp searches need torch")
def test_the_gaussian_process_searches_round_wide_knobs() -> None:
    assert type(_build("gp")).__name__ == "RoundedGPSampler"
    assert type(_build("sobol-gp")).__name__ == "SobolGPSampler"


def test_tune_takes_search_on_its_command_line() -> None:
    args = build_parser().parse_args(["tune", "--server", "s", "--client", "c"])
    assert args.search == "tpe"
    args = build_parser().parse_args(["tune", "--server", "s", "--client", "c", "--search", "sobol-tpe"])
    assert args.search == "sobol-tpe"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["tune", "--server", "s", "--client", "c", "--search", "bogus"])
    assert build_parser().parse_args(["serve", "--search", "gp"]).search == "gp"


@pytest.mark.skipif(importlib.util.find_spec("nevergrad") is None, reason="the ngopt search needs nevergrad")
def test_the_ngopt_search_is_told_the_runs_trials_as_its_budget() -> None:
    sampler = build_sampler("none", space=SPACE, knowledge="", descriptions={}, baseline={"workers": 1}, seed=0,
                            n_startup_trials=20, budget=25, search="ngopt")
    assert type(sampler).__name__ == "NevergradSampler" and sampler._budget == 25
    assert build_parser().parse_args(["tune", "--server", "s", "--client", "c", "--search", "ngopt"]).search == "ngopt"
