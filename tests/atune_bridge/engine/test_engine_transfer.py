"""``history_path``: earlier studies' best trials seed a new task as prior data, marked, never
counted as its evaluations nor replied as its best; what does not fit is a note, not an error."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from atune_bridge import EngineConfig, EngineRequestError, OptimizerEngine

from test_engine import KNOBS, begin, drive


@pytest.fixture
def engine() -> OptimizerEngine:
    return OptimizerEngine(EngineConfig(storage=None, seed=7))


def history(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if t.user_attrs.get("atune_source") == "history"]


def test_an_earlier_task_seeds_the_new_one_with_its_best_trials(engine: OptimizerEngine) -> None:
    first, reply = begin(engine)
    drive(engine, first, first=reply["param"])
    earlier = engine.study(first)
    own = sorted((t for t in earlier.trials if t.state is TrialState.COMPLETE
                  and t.user_attrs.get("atune_source") != "baseline"), key=lambda t: (t.value, t.number))[:3]

    second, reply = begin(engine, history_path=[first])
    seeded = history(engine.study(second))
    assert [(t.params, t.value) for t in seeded] == [(t.params, t.value) for t in own]
    assert [t.user_attrs["warm_start_from"] for t in seeded] == [f"task {first} trial {t.number}" for t in own]
    last = drive(engine, second, first=reply["param"])
    study = engine.study(second)
    measured = [t for t in study.trials if t.state is TrialState.COMPLETE and t.user_attrs.get("atune_source") != "history"]
    assert len(measured) == 1 + 6  # the baseline and max_eval evaluations: the seeds are not counted
    best_own = min(measured, key=lambda t: (t.value, t.number))
    replied = dict(kv.split("=", 1) for kv in last["param"].split(","))
    assert replied["worker_connections"] == str(best_own.params["worker_connections"])


def runner_like_study(tmp_path: Path) -> str:
    """A study as the runner keeps one: maximised rps, A-Tune's objective in a user attribute."""
    storage = f"sqlite:///{tmp_path / 'runner.db'}"
    study = optuna.create_study(study_name="nginx", storage=storage, direction="maximize")
    dists = {"worker_processes": CategoricalDistribution(["1", "2", "4", "auto"]),
             "worker_connections": IntDistribution(64, 4096, step=64),
             "keepalive_timeout": IntDistribution(0, 120), "ratio": FloatDistribution(0.1, 0.9, step=0.05),
             "sendfile": CategoricalDistribution(["on", "off"])}
    rows = [
        ({"worker_processes": "auto", "worker_connections": 512, "keepalive_timeout": 65, "ratio": 0.5,
          "sendfile": "on"}, 9000.0, "baseline"),
        ({"worker_processes": "2", "worker_connections": 1024, "keepalive_timeout": 30, "ratio": 0.7,
          "sendfile": "off"}, 11300.0, "llm"),
        ({"worker_processes": "4", "worker_connections": 960, "keepalive_timeout": 20, "ratio": 0.65,
          "sendfile": "on"}, 11200.0, "TPESampler"),  # ratio 0.65 is not on the task's 0.1 grid
        ({"worker_processes": "1", "worker_connections": 640, "keepalive_timeout": 40, "ratio": 0.6,
          "sendfile": "on"}, 10100.0, "TPESampler"),
    ]
    for params, rps, source in rows:
        study.add_trial(create_trial(params=params, distributions=dists, value=rps,
                                     user_attrs={"source": source, "atune_objective": -rps}))
    return f"nginx@{storage}"


@pytest.mark.parametrize("name", ["runner.db", "absolute"])
def test_a_runner_study_in_the_history_folder_seeds_with_atunes_objective_and_what_does_not_fit_is_a_note(
        tmp_path: Path, name: str) -> None:
    engine = OptimizerEngine(EngineConfig(storage=None, seed=7, history_dir=str(tmp_path)))
    source = runner_like_study(tmp_path)
    if name == "runner.db":
        source = "nginx@runner.db"
    created = engine.create_task(max_eval=6, knobs=KNOBS, engine="Bayesian_Transfer", history_path=[
        source, str(tmp_path / "atune_records.csv"), "no-such-task"])
    seeded = history(engine.study(created["task_id"]))
    assert [(t.params["worker_connections"], t.value) for t in seeded] == [(1024, -11300.0), (640, -10100.0)]
    message = created["message"]
    label = source
    assert f"history_path: {label} trial 1: sendfile dropped: not a parameter of this study" in message
    assert f"history_path: {label} trial 2: ratio=0.65 dropped: outside this study's domain" in message
    assert f"history_path: {label} trial 2 left out: it does not set every knob" in message
    assert "A-Tune's record files are not read" in message
    assert "history_path 'no-such-task' left out: no study 'no-such-task' in the engine's storage" in message
    assert "not implemented" not in message


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_history_path_opens_nothing_outside_the_history_folder_and_tells_nothing_of_the_filesystem(
        tmp_path: Path) -> None:
    folder, outside = tmp_path / "history", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    runner_like_study(outside)  # a real study, but outside the folder
    (outside / "empty.db").write_bytes(b"")
    (folder / "empty.db").write_bytes(b"")  # an existing empty file: never made a database
    (folder / "link.db").symlink_to(outside / "runner.db")
    os.mkfifo(folder / "fifo.db")  # opening it for reading would block
    plain = sqlite3.connect(folder / "plain.db")  # a SQLite file that is not Optuna's: never changed
    plain.execute("create table t (x)")
    plain.commit()
    plain.close()
    before = {**snapshot(folder), **snapshot(outside)}
    hostile = ["nginx@" + str(outside / "runner.db"), f"nginx@sqlite:///{outside / 'runner.db'}",
               "nginx@../outside/runner.db", "nginx@link.db", "nginx@empty.db", "nginx@fifo.db", "nginx@plain.db",
               f"nginx@sqlite:///{folder / 'new.db'}", f"nginx@{outside / 'new.db'}", "nginx@nothing-here.db",
               "nginx@postgresql://user@localhost/db", "nginx@sqlite:///:memory:"]
    for history_dir in (str(folder), None):
        engine = OptimizerEngine(EngineConfig(storage=None, seed=7, history_dir=history_dir))
        expected = ("no study 'nginx' in the engine's history folder" if history_dir
                    else "STUDY@FILE names a study in the engine's history folder, and it has none "
                         "(atune-bridge serve --history-dir DIR)")
        for batch in (hostile[:6], hostile[6:]):
            start = time.perf_counter()
            created = engine.create_task(max_eval=6, knobs=KNOBS, history_path=batch)
            assert time.perf_counter() - start < 10
            assert history(engine.study(created["task_id"])) == []
            notes = [n for n in created["message"].split("; ") if n.startswith("history_path '")]
            assert [note.split(" left out: ")[1] for note in notes] == [expected] * len(batch)
    assert {**snapshot(folder), **snapshot(outside)} == before  # nothing created, nothing changed
    assert not (folder / "new.db").exists() and not (outside / "new.db").exists()


def test_history_path_is_bounded(engine: OptimizerEngine) -> None:
    with pytest.raises(EngineRequestError, match="history_path: 9 entries is more than 8"):
        engine.create_task(max_eval=6, knobs=KNOBS, history_path=[f"t{i}" for i in range(9)])
    with pytest.raises(EngineRequestError, match=r"history_path\[1\]: longer than 512 characters"):
        engine.create_task(max_eval=6, knobs=KNOBS, history_path=["t", "x" * 513])
    assert engine.list_tasks() == []
