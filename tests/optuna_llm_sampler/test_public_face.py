"""The package's public face: what users type, option classes without traps, named presets,
and the names that left the top level still working for a release, with a warning."""

from __future__ import annotations

import dataclasses
import warnings

import optuna
import pytest

import optuna_llm_sampler
from optuna_llm_sampler import AdaptiveSchedule
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import attrs
from optuna_llm_sampler import Choose
from optuna_llm_sampler import ConfigError
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import make_chat_model
from optuna_llm_sampler import PRESETS


SPACE = {"x": optuna.distributions.IntDistribution(1, 64)}


def test_the_top_level_exports_what_users_type_and_every_name_resolves() -> None:
    for name in ("LLMSampler", "make_chat_model", "AdaptiveSchedule", "AlternatingSchedule",
                 "Choose", "PromptConfig", "ModelBudget", "Schedule", "ConfigError", "attrs",
                 "sqlite_storage", "PRESETS"):
        assert name in optuna_llm_sampler.__all__
    assert len(optuna_llm_sampler.__all__) <= 40
    for name in optuna_llm_sampler.__all__:
        assert getattr(optuna_llm_sampler, name) is not None
    assert not [n for n in optuna_llm_sampler.__all__ if n.startswith(("ATTR_", "SOURCE_"))]


def test_attribute_names_live_in_one_namespace_module() -> None:
    assert attrs.ATTR_SOURCE == "source" and attrs.SOURCE_LLM == "llm"
    names = [name for name in attrs.__all__ if not name.startswith(("ATTR_", "SOURCE_"))]
    assert names == ["share_summary", "source_of"]  # the two readers of what they name


@pytest.mark.parametrize(("old", "new"), [
    ("ATTR_SOURCE", attrs.ATTR_SOURCE),
    ("SOURCE_LLM", attrs.SOURCE_LLM),
    ("ChooseConfigError", ConfigError),
    ("InvalidScheduleError", ConfigError),
])
def test_names_that_left_the_top_level_still_work_with_a_warning(old, new) -> None:
    with pytest.warns(FutureWarning, match=f"optuna_llm_sampler.{old} is deprecated"):
        assert getattr(optuna_llm_sampler, old) == new


def test_an_option_error_is_one_documented_class() -> None:
    with pytest.raises(ConfigError, match="ceiling"):
        AdaptiveSchedule(ceiling=2.0)
    with pytest.raises(ConfigError, match="candidates"):
        Choose(candidates=1)
    assert issubclass(ConfigError, ValueError)


def _fields(obj: object) -> dict:
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def test_one_field_changed_keeps_every_other_default() -> None:
    default, changed = _fields(AdaptiveSchedule()), _fields(AdaptiveSchedule(ceiling=0.3))
    assert {k for k in default if default[k] != changed[k]} == {"ceiling"}
    assert changed["base_startup"] == "auto"  # the base sampler's, read when it is bound
    assert dataclasses.replace(Choose(), candidates=6) == Choose(candidates=6)


def test_the_default_is_the_adaptive_preset() -> None:
    sampler = LLMSampler(make_chat_model("random", seed=0), search_space=SPACE)
    assert repr(sampler.schedule) == repr(AdaptiveSchedule()) and sampler.choose == Choose()
    assert PRESETS["adaptive"].choose == Choose()


def test_the_alternating_preset_is_the_two_and_two_with_written_rounds() -> None:
    sampler = LLMSampler(make_chat_model("random", seed=0), search_space=SPACE,
                         schedule="alternating")
    assert repr(sampler.schedule) == repr(AlternatingSchedule()) and sampler.choose is None


def test_an_unknown_preset_is_refused_naming_the_presets() -> None:
    with pytest.raises(ConfigError, match="'adaptive', 'alternating', 'write'"):
        LLMSampler(make_chat_model("random", seed=0), search_space=SPACE, schedule="fast")


def test_prefetch_with_the_default_is_refused_saying_what_to_pass() -> None:
    with pytest.raises(ConfigError, match="schedule='alternating'"):
        LLMSampler(make_chat_model("random", seed=0), search_space=SPACE, prefetch=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = LLMSampler(make_chat_model("random", seed=0), search_space=SPACE,
                             schedule="alternating", prefetch=True)
    assert sampler.choose is None
