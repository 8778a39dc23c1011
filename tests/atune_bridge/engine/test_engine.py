"""The optimizer engine's task logic through its Python API (no HTTP): sequences, seeding,
restarts on the same storage, engine table, rank."""

from __future__ import annotations

import math
import threading
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from atune_bridge import (
    EngineConfig,
    EngineRequestError,
    InvalidKnobError,
    OptimizerEngine,
    OutOfOrderError,
    UnknownTaskError,
    UnsupportedEngineError,
    engine_names,
    parse_params,
)
from atune_bridge._engine._protocol import parse_value
from atune_bridge._engine._samplers import SamplerContext, build_plan, finite_grid, gp_available
from atune_bridge._format._space import search_space
from atune_bridge._format._spec import knobs_from_engine

# Knobs as atuned posts them (common/models/optimizer.go: every field present, nil slices null).
KNOBS: list[dict[str, Any]] = [
    {"dtype": "string", "name": "worker_processes", "options": ["1", "2", "4", "auto"],
     "type": "discrete", "range": None, "items": None, "step": 0, "ref": "auto"},
    {"dtype": "int", "name": "worker_connections", "options": None, "type": "discrete",
     "range": [64, 4096], "items": None, "step": 64, "ref": "512"},
    {"dtype": "int", "name": "keepalive_timeout", "options": None, "type": "continuous",
     "range": [0, 120], "items": None, "step": 0, "ref": "65"},
    {"dtype": "float", "name": "ratio", "options": None, "type": "discrete",
     "range": [0.1, 1.0], "items": None, "step": 0.1, "ref": "0.5"},
]
NAMES = [k["name"] for k in KNOBS]


def objective(params: dict[str, Any]) -> float:
    """A made-up benchmark: the negated requests per second (lower is better)."""
    workers = {"1": 1, "2": 2, "4": 4, "auto": 2}[params["worker_processes"]]
    rps = 10_000 + 800 * min(workers, 2) + 0.5 * min(params["worker_connections"], 1024)
    rps -= 3 * abs(params["keepalive_timeout"] - 30) + 500 * abs(params["ratio"] - 0.7)
    return -round(rps, 2)


@pytest.fixture
def engine() -> OptimizerEngine:
    return OptimizerEngine(EngineConfig(storage=None, seed=7))


def _typed(engine: OptimizerEngine, param: str) -> dict[str, Any]:
    return parse_params(param, knobs_from_engine(KNOBS))


def drive(engine: OptimizerEngine, task: str, *, start: int = 1, stop: int | None = None,
          first: str | None = None, seen: list | None = None) -> dict[str, Any]:
    """PUT iterations start.. with objective values until finished (or ``stop``); the last reply."""
    reply = {"param": first}
    k = start
    while True:
        value = objective(_typed(engine, reply["param"]))
        if seen is not None:
            seen.append((reply["param"], value))
        reply = engine.put(task, iterations=k, value=str(value))
        if reply["finished"] or (stop is not None and k >= stop):
            return reply
        k += 1


def begin(eng: OptimizerEngine, **post: Any) -> tuple[str, dict[str, Any]]:
    body = {"max_eval": 6, "knobs": KNOBS, "engine": "tpe", "random_starts": 2, **post}
    task = eng.create_task(**body)["task_id"]
    assert eng.put(task, iterations=-1, value="", line=f"project demo {body['engine']} 6\n") == {}
    baseline = {"worker_processes": "auto", "worker_connections": 512, "keepalive_timeout": 65, "ratio": 0.5}
    line = "0|||evaluations=x|rps=x|" + ",".join(f"{k}={v}" for k, v in baseline.items())
    line = line.replace("x", str(objective(baseline)))
    reply = eng.put(task, iterations=0, value=str(objective(baseline)), line=line)
    return task, reply


# ---------------------------------------------------------------------- the sequence


def test_full_sequence_ends_with_best_and_rank(engine: OptimizerEngine) -> None:
    task, reply = begin(engine)
    assert reply["finished"] is False and set(_typed(engine, reply["param"])) == set(NAMES)
    seen: list = []
    last = drive(engine, task, first=reply["param"], seen=seen)
    assert last["finished"] is True
    assert len(seen) == 6  # max_eval evaluations after the baseline
    study = engine.study(task)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 7  # the baseline too
    baseline = "worker_processes=auto,worker_connections=512,keepalive_timeout=65,ratio=0.5"
    best_param, best_value = min([(baseline, complete[0].value), *seen], key=lambda pv: pv[1])
    assert last["param"] == best_param and study.best_value == best_value
    # rank: every knob once, "name: score" that atuned's strconv.ParseFloat accepts
    names, scores = zip(*(item.split(":") for item in last["rank"].split(",")))
    assert sorted(n.strip() for n in names) == sorted(NAMES)
    assert all(math.isfinite(float(s)) for s in scores) and "%" not in last["rank"]
    assert list(map(float, scores)) == sorted(map(float, scores), reverse=True)


def test_baseline_measurement_completes_the_enqueued_ref_trial(engine: OptimizerEngine) -> None:
    task, reply = begin(engine)
    study = engine.study(task)
    first = study.trials[0]
    assert first.state == TrialState.COMPLETE and first.user_attrs["atune_source"] == "baseline"
    assert first.params == {"worker_processes": "auto", "worker_connections": 512, "keepalive_timeout": 65, "ratio": 0.5}
    # the first suggestion is not the baseline again
    assert _typed(engine, reply["param"]) != first.params


def test_baseline_from_line_when_it_differs_from_refs(engine: OptimizerEngine) -> None:
    task = engine.create_task(max_eval=3, knobs=KNOBS, engine="random")["task_id"]
    line = "0|||evaluations=-1|rps=-1|worker_processes=2,skipped_knob=9,worker_connections=128,keepalive_timeout=10,ratio=0.3"
    reply = engine.put(task, iterations=0, value="-1", line=line)
    study = engine.study(task)
    measured = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert measured[0].params["worker_connections"] == 128 and measured[0].value == -1
    # the refs were not measured: they are the first suggestion
    assert _typed(engine, reply["param"])["worker_processes"] == "auto"


def test_out_of_order_puts_are_409(engine: OptimizerEngine) -> None:
    task = engine.create_task(max_eval=3, knobs=KNOBS, engine="random")["task_id"]
    with pytest.raises(OutOfOrderError, match="expects iteration 0"):
        engine.put(task, iterations=2, value="-1")
    engine.put(task, iterations=0, value="-1")
    with pytest.raises(OutOfOrderError, match="already recorded"):
        engine.put(task, iterations=0, value="-1")
    with pytest.raises(OutOfOrderError, match="registration"):
        engine.put(task, iterations=-1, value="")
    with pytest.raises(OutOfOrderError, match="expects iteration 1"):
        engine.put(task, iterations=3, value="-1")
    engine.put(task, iterations=1, value="-2")
    with pytest.raises(OutOfOrderError, match="expects iteration 2"):
        engine.put(task, iterations=4, value="-1")
    engine.put(task, iterations=2, value="-3")
    assert engine.put(task, iterations=3, value="-4")["finished"] is True
    with pytest.raises(OutOfOrderError, match="finished"):
        engine.put(task, iterations=4, value="-1")


def test_value_checks(engine: OptimizerEngine) -> None:
    task = engine.create_task(max_eval=3, knobs=KNOBS, engine="random")["task_id"]
    engine.put(task, iterations=0, value="")
    for bad in ("abc", "1,,2", "nan", "inf", "1_000", "-1.5;2"):
        with pytest.raises(EngineRequestError, match="value"):
            engine.put(task, iterations=1, value=bad)
    with pytest.raises(EngineRequestError, match="empty"):
        engine.put(task, iterations=1, value="")
    with pytest.raises(EngineRequestError, match="line"):
        engine.put(task, iterations=1, value="-1", line="2|a|b|evaluations=-1|m=-1|x=1")
    with pytest.raises(EngineRequestError, match="6 '|'-separated"):
        engine.put(task, iterations=1, value="-1", line="1|a|b")
    engine.put(task, iterations=1, value="-1")  # the failed PUTs changed nothing


def test_parse_value_sums_metrics() -> None:
    assert parse_value("-1234.56") == -1234.56
    assert parse_value("-1.5,-2.5") == -4.0
    assert parse_value(" 3 , 4 ") == 7.0
    assert parse_value("") is None and parse_value(12) == 12.0


def test_several_metrics_are_summed(engine: OptimizerEngine) -> None:
    task = engine.create_task(max_eval=2, knobs=KNOBS, engine="random")["task_id"]
    engine.put(task, iterations=0, value="")
    engine.put(task, iterations=1, value="-1.5,-2.5")
    values = [t.value for t in engine.study(task).trials if t.state == TrialState.COMPLETE]
    assert values == [-4.0]


def test_threshold_reput_of_same_iteration_is_the_value_of_the_pending_parameters(engine: OptimizerEngine) -> None:
    # atuned does not increment its iteration when a reply breaks the YAML relationships:
    # it sends the threshold value for those parameters under the same iteration number.
    task, reply = begin(engine)
    pending = engine.put(task, iterations=1, value="-100", line=_line(1, reply["param"], -100))["param"]
    # the threshold for the reply's parameters, named in the line
    engine.put(task, iterations=1, value="999999", line=_line(1, pending, 999999))
    study = engine.study(task)
    told = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert [t.value for t in told][-2:] == [-100, 999999]
    engine.put(task, iterations=2, value="-5")
    assert engine.study(task).user_attrs["atune_state"]["evaluations"] == 3


def _line(k: int, param: str, value: float) -> str:
    return f"{k}|t0|t1|evaluations={value}|rps={value}|{param}"


def _values(engine: OptimizerEngine, task: str) -> list[float]:
    return [t.value for t in engine.study(task).trials if t.state == TrialState.COMPLETE]


def test_a_put_sent_again_after_a_lost_reply_gets_the_same_reply_and_records_nothing(tmp_path) -> None:
    # PUT 1 is committed, its reply lost; atuned resends PUT 1 with the same line.
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    engine = OptimizerEngine(EngineConfig(storage=url, seed=7))
    task, reply0 = begin(engine, max_eval=3)
    value1 = objective(_typed(engine, reply0["param"]))
    reply1 = engine.put(task, iterations=1, value=str(value1), line=_line(1, reply0["param"], value1))
    values = _values(engine, task)
    again = engine.put(task, iterations=1, value=str(value1), line=_line(1, reply0["param"], value1))
    assert again == reply1 and _values(engine, task) == values
    # also after the engine restarts on the same storage, and for the baseline PUT 0
    engine = OptimizerEngine(EngineConfig(storage=url))
    assert engine.put(task, iterations=1, value=str(value1), line=_line(1, reply0["param"], value1)) == reply1
    baseline = "worker_processes=auto,worker_connections=512,keepalive_timeout=65,ratio=0.5"
    with pytest.raises(OutOfOrderError, match="iteration 0 .* was already recorded"):
        engine.put(task, iterations=0, value="-1", line=_line(0, baseline, -1))
    value2 = objective(_typed(engine, reply1["param"]))
    reply2 = engine.put(task, iterations=2, value=str(value2), line=_line(2, reply1["param"], value2))
    assert _values(engine, task) == [*values, value2]
    # the last PUT again, after the task finished: the same finishing reply
    value3 = objective(_typed(engine, reply2["param"]))
    last = engine.put(task, iterations=3, value=str(value3), line=_line(3, reply2["param"], value3))
    assert last["finished"] is True
    assert engine.put(task, iterations=3, value=str(value3), line=_line(3, reply2["param"], value3)) == last
    assert len(_values(engine, task)) == 4


def test_the_baseline_put_sent_again_gets_the_same_reply(engine: OptimizerEngine) -> None:
    task = engine.create_task(max_eval=3, knobs=KNOBS, engine="random")["task_id"]
    baseline = "worker_processes=auto,worker_connections=512,keepalive_timeout=65,ratio=0.5"
    reply = engine.put(task, iterations=0, value="-1", line=_line(0, baseline, -1))
    assert engine.put(task, iterations=0, value="-1", line=_line(0, baseline, -1)) == reply
    assert _values(engine, task) == [-1]


def test_a_repeated_put_for_parameters_the_engine_neither_sent_nor_recorded_is_409(engine: OptimizerEngine) -> None:
    task, reply0 = begin(engine)
    engine.put(task, iterations=1, value="-100", line=_line(1, reply0["param"], -100))
    other = "worker_processes=1,worker_connections=64,keepalive_timeout=0,ratio=0.1"
    with pytest.raises(OutOfOrderError, match="send iteration 2"):
        engine.put(task, iterations=1, value="-100", line=_line(1, other, -100))


def test_unknown_task_and_delete(engine: OptimizerEngine) -> None:
    with pytest.raises(UnknownTaskError, match="not found"):
        engine.put("nope", iterations=0, value="")
    task = engine.create_task(max_eval=3, knobs=KNOBS, engine="random")["task_id"]
    assert engine.list_tasks() == [task] and engine.get_task(task) == [task]
    engine.put(task, iterations=0, value="-1")
    assert engine.delete_task(task) == {}
    assert engine.list_tasks() == []
    for call in (lambda: engine.get_task(task), lambda: engine.delete_task(task),
                 lambda: engine.put(task, iterations=1, value="-1")):
        with pytest.raises(UnknownTaskError):
            call()


def test_delete_keeps_the_trials_unless_purged(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    engine = OptimizerEngine(EngineConfig(storage=url, seed=1))
    task = engine.create_task(max_eval=3, knobs=KNOBS, engine="random")["task_id"]
    engine.put(task, iterations=0, value="-1")
    engine.delete_task(task)
    study = optuna.load_study(study_name=task, storage=url)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL]
    purging = OptimizerEngine(EngineConfig(storage=url, purge_on_delete=True))
    other = purging.create_task(max_eval=3, knobs=KNOBS, engine="random")["task_id"]
    purging.delete_task(other)
    assert other not in optuna.get_all_study_names(url)


# ---------------------------------------------------------------------- POST checks and seeding


@pytest.mark.parametrize(
    ("post", "error", "match"),
    [
        ({"max_eval": 0}, EngineRequestError, "max_eval"),
        ({"knobs": []}, EngineRequestError, "at least one knob"),
        ({"engine": "whitebox"}, UnsupportedEngineError, "not supported; use one of: random"),
        ({"knobs": [{"name": "a", "type": "continuous", "dtype": "int", "range": [9, 1]}]}, InvalidKnobError, "'a'"),
        ({"knobs": [KNOBS[0], KNOBS[0]]}, InvalidKnobError, "duplicate"),
        ({"x_ref": [["worker_processes=1"]]}, EngineRequestError, "go together"),
        ({"x_ref": [["worker_processes=1"]], "y_ref": ["-1"]}, EngineRequestError, "x_ref\\[0\\]"),
        ({"x_ref": [[]], "y_ref": ["-1", "-2"]}, EngineRequestError, "entries"),
        ({"knobs": [{"name": "a", "type": "discrete", "dtype": "string", "options": ["x,y", "z"]}]},
         EngineRequestError, "','"),
        ({"engine": "llm"}, UnsupportedEngineError, "--llm"),
    ],
)
def test_create_rejects(engine: OptimizerEngine, post: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        engine.create_task(**{"max_eval": 5, "knobs": KNOBS, "engine": "tpe", **post})
    assert engine.list_tasks() == []


def test_x_ref_y_ref_become_completed_trials_and_resume_put(engine: OptimizerEngine) -> None:
    x_ref = [
        ["worker_processes=1", "worker_connections=128", "keepalive_timeout=5", "ratio=0.2"],
        ["worker_processes=2", "worker_connections=1024", "keepalive_timeout=30", "ratio=0.7"],
        ["worker_processes=4", "worker_connections=99999", "keepalive_timeout=30", "ratio=0.7"],  # outside
    ]
    y_ref = ["-9000.5", "-11900", "-1"]
    reply = engine.create_task(max_eval=5, knobs=KNOBS, engine="tpe", x_ref=x_ref, y_ref=y_ref)
    assert "x_ref[2] left out" in reply["message"]
    task = reply["task_id"]
    study = engine.study(task)
    assert [t.value for t in study.trials] == [-9000.5, -11900]  # no baseline enqueued on a resume
    engine.put(task, iterations=-1, value="", line="project demo tpe 5\n")
    with pytest.raises(OutOfOrderError, match="iteration 3 with an empty value"):
        engine.put(task, iterations=2, value="")
    # atuned after `atune-adm tuning --restart`: PUT iterations=len(x_ref), empty value and line
    reply = engine.put(task, iterations=3, value="", line="")
    assert reply["finished"] is False
    reply = engine.put(task, iterations=4, value="-10000")
    assert reply["finished"] is False
    last = engine.put(task, iterations=5, value="-10001")
    assert last["finished"] is True  # 3 earlier results + 2 new = max_eval
    assert last["param"] == "worker_processes=2,worker_connections=1024,keepalive_timeout=30,ratio=0.7"


def test_knob_without_ref_means_no_baseline_trial(engine: OptimizerEngine) -> None:
    knobs = [dict(KNOBS[1], ref=""), KNOBS[2]]
    reply = engine.create_task(max_eval=3, knobs=knobs, engine="tpe")
    assert "no baseline trial" in reply["message"]
    task = reply["task_id"]
    assert engine.study(task).trials == []
    engine.put(task, iterations=0, value="-5", line="0|||e=-5|m=-5|worker_connections=64,keepalive_timeout=1")
    assert [t.params for t in engine.study(task).trials if t.state == TrialState.COMPLETE] == [
        {"worker_connections": 64, "keepalive_timeout": 1}
    ]


# ---------------------------------------------------------------------- restart on the same storage


def test_a_new_engine_on_the_same_storage_carries_on(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    first = OptimizerEngine(EngineConfig(storage=url, seed=3))
    task, reply = begin(first)
    reply = drive(first, task, first=reply["param"], stop=2)
    pending = reply["param"]
    del first  # the engine stops; only the SQLite file remains
    second = OptimizerEngine(EngineConfig(storage=url))
    assert second.list_tasks() == [task]
    with pytest.raises(OutOfOrderError, match="expects iteration 3"):
        second.put(task, iterations=5, value="-1")
    value = objective(_typed(second, pending))
    reply = second.put(task, iterations=3, value=str(value))
    study = second.study(task)
    told = [t for t in study.trials if t.user_attrs.get("atune_sent_at_iteration") == 2]
    assert told and told[0].value == value  # the parameters sent before the restart got the value
    assert drive(second, task, start=4, first=reply["param"])["finished"] is True
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 7


def test_rebuild_fails_orphaned_running_trials(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    first = OptimizerEngine(EngineConfig(storage=url, seed=3))
    task, _ = begin(first)
    first.study(task).ask()  # as if the engine died between ask and saving its state
    second = OptimizerEngine(EngineConfig(storage=url))
    states = [t.state for t in second.study(task).trials]
    assert states.count(TrialState.RUNNING) == 1 and states.count(TrialState.FAIL) == 1


def test_tasks_run_concurrently(tmp_path) -> None:
    engine = OptimizerEngine(EngineConfig(storage=f"sqlite:///{tmp_path / 'engine.db'}", seed=5))
    errors: list[BaseException] = []
    finished: list[str] = []

    def run() -> None:
        try:
            task, reply = begin(engine, max_eval=5)
            finished.append(drive(engine, task, first=reply["param"])["param"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(finished) == 4 and len(engine.list_tasks()) == 4


# ---------------------------------------------------------------------- the engine table


def _ctx(knobs: list[dict[str, Any]] = KNOBS, **kw: Any) -> SamplerContext:
    parsed = knobs_from_engine(knobs)
    space = search_space(parsed)
    baseline = {"worker_processes": "auto", "worker_connections": 512, "keepalive_timeout": 65, "ratio": 0.5}
    return SamplerContext(parsed, space, kw.pop("baseline", baseline), kw.pop("max_eval", 20), 1, **kw)


def test_every_atune_engine_name_is_in_the_table() -> None:
    atune = ["random", "forest", "gbrt", "extraTrees", "bayes", "abtest", "lhs", "tpe",
             "gridsearch", "traverse", "ppo", "Bayesian_Transfer"]
    assert list(engine_names())[: len(atune)] == atune and "llm" in engine_names()


@pytest.mark.parametrize(
    ("engine_name", "sampler"),
    [("random", "RandomSampler"), ("tpe", "TPESampler"), ("forest", "TPESampler"),
     ("gbrt", "TPESampler"), ("extraTrees", "TPESampler"), ("ppo", "TPESampler"),
     ("Bayesian_Transfer", "TPESampler"), ("lhs", "QMCSampler"), ("TPE", "TPESampler")],
)
def test_engine_maps_to_sampler(engine_name: str, sampler: str) -> None:
    plan = build_plan(engine_name, _ctx())
    assert type(plan.sampler).__name__ == sampler and plan.iters == 20


def test_bayes_is_gp_or_tpe_with_a_warning() -> None:
    plan = build_plan("bayes", _ctx())
    if gp_available():  # the bench extra installs torch
        # GPSampler that searches a knob wider than 10,000 values as continuous, rounded
        assert type(plan.sampler).__name__ == "RoundedGPSampler" and plan.warning is None
        assert isinstance(plan.sampler, optuna.samplers.GPSampler)
    else:
        assert type(plan.sampler).__name__ == "TPESampler" and "PyTorch" in (plan.warning or "")


def test_gridsearch_needs_a_finite_small_grid() -> None:
    with pytest.raises(UnsupportedEngineError, match="knob 'f' is a continuous float"):
        build_plan("gridsearch", _ctx([*KNOBS[:2], {"name": "f", "type": "continuous", "dtype": "float", "range": [0, 1]}]))
    grid = finite_grid(_ctx(KNOBS[:1] + KNOBS[3:]).space)
    assert grid["ratio"] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    plan = build_plan("gridsearch", _ctx(KNOBS[:1] + KNOBS[3:], max_eval=100))
    assert plan.iters == 4 * 9 and type(plan.sampler).__name__ == "_AskTellGridSampler"
    with pytest.raises(UnsupportedEngineError, match="more than"):
        build_plan("gridsearch", _ctx([{"name": f"k{i}", "type": "continuous", "dtype": "int", "range": [0, 99]} for i in range(3)]))


def test_gridsearch_task_visits_distinct_points(engine: OptimizerEngine) -> None:
    knobs = [KNOBS[0], {"name": "b", "type": "discrete", "dtype": "int", "range": [1, 3], "step": 1, "ref": "1"}]
    reply = engine.create_task(max_eval=50, knobs=knobs, engine="gridsearch")
    assert reply["iters"] == 12
    task = reply["task_id"]
    params = [engine.put(task, iterations=0, value="-1")["param"]]
    k = 1
    while True:
        reply = engine.put(task, iterations=k, value=str(-k))
        if reply["finished"]:
            break
        params.append(reply["param"])
        k += 1
    assert k == 12 and len(set(params)) == 12


def test_traverse_plan_varies_one_knob_at_a_time(engine: OptimizerEngine) -> None:
    plan = build_plan("traverse", _ctx())
    baseline = _ctx().baseline
    for config in plan.fixed:
        assert sum(config[n] != baseline[n] for n in NAMES) == 1
    # strings: every other option; numbers: highest and lowest
    assert len(plan.fixed) == 3 + 2 + 2 + 2 and plan.iters == min(20, len(plan.fixed) + 1)
    with pytest.raises(UnsupportedEngineError, match="ref"):
        build_plan("traverse", _ctx(baseline={}))
    task, reply = begin(engine, engine="traverse", max_eval=50)
    last = drive(engine, task, first=reply["param"], seen=[])
    assert last["finished"] is True
    assert len(engine.study(task).get_trials(states=(TrialState.COMPLETE,))) == 1 + len(plan.fixed)


def test_abtest_plan_uses_split_count_levels() -> None:
    plan = build_plan("abtest", _ctx(split_count=4))
    changed = [next(n for n in NAMES if c[n] != _ctx().baseline[n]) for c in plan.fixed]
    assert changed.count("worker_processes") == 3
    assert 1 <= changed.count("keepalive_timeout") <= 4


def test_llm_engine_wires_llm_sampler(model_first: None) -> None:
    sampler_mod = pytest.importorskip("optuna_llm_sampler", reason="optuna_llm_sampler is not importable yet")
    if not hasattr(sampler_mod, "LLMSampler"):
        pytest.skip("optuna_llm_sampler has no LLMSampler yet")
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    model = FakeListChatModel(responses=['{"worker_processes": "2", "worker_connections": 1024, "keepalive_timeout": 30, "ratio": 0.7}'] * 50)
    engine = OptimizerEngine(EngineConfig(storage=None, seed=1), chat_model=model)
    task, reply = begin(engine, engine="llm", max_eval=4)
    assert type(engine.study(task).sampler).__name__ == "LLMSampler"
    assert drive(engine, task, first=reply["param"])["finished"] is True
    sources = [t.user_attrs.get(sampler_mod.attrs.ATTR_SOURCE) for t in engine.study(task).trials]
    assert sampler_mod.attrs.SOURCE_LLM in sources  # the scripted reply became a trial


def test_the_engines_schedule_is_the_model_role_it_was_started_with() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    model = FakeListChatModel(responses=['{"worker_processes": "2", "worker_connections": 1024, "keepalive_timeout": 30, "ratio": 0.7}'] * 50)
    engine = OptimizerEngine(EngineConfig(storage=None, seed=1, schedule="alternating"),
                             chat_model=model)
    task, reply = begin(engine, engine="llm", max_eval=6)
    assert type(engine.study(task).sampler.schedule).__name__ == "AlternatingSchedule"
    assert engine.study(task).sampler.choose is None  # the model writes its rounds


@pytest.mark.parametrize(("search", "base"), [(None, "TPESampler"), ("sobol-tpe", "SobolTPESampler"), ("tpe", "TPESampler")])
def test_the_llm_engine_puts_the_model_over_the_engines_search(search: str | None, base: str) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    model = FakeListChatModel(responses=["{}"] * 5)
    engine = OptimizerEngine(EngineConfig(storage=None, seed=1, search=search), chat_model=model)
    task, _ = begin(engine, engine="llm", max_eval=4)
    assert type(engine.study(task).sampler.base_sampler).__name__ == base
    with pytest.raises(UnsupportedEngineError, match="unknown search 'bogus'"):  # serve's --search refuses it first
        build_plan("llm", _ctx(search="bogus"))


def test_a_deleted_llm_task_leaves_no_proposal_waiting(two_trial_rounds: None) -> None:
    import json

    from optuna_llm_sampler import is_discarded
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    def two(i: int) -> str:
        return json.dumps({"configurations": [
            {"params": {"worker_processes": "2", "worker_connections": 64 * (i + 2), "keepalive_timeout": 30,
                        "ratio": 0.7}, "rationale": "a"},
            {"params": {"worker_processes": "4", "worker_connections": 64 * (i + 20), "keepalive_timeout": 20,
                        "ratio": 0.6}, "rationale": "b"}]})

    model = FakeListChatModel(responses=[two(i) for i in range(50)])
    engine = OptimizerEngine(EngineConfig(storage=None, seed=1), chat_model=model)
    task, reply = begin(engine, engine="llm", max_eval=10)
    drive(engine, task, first=reply["param"], stop=4)  # stops inside the model's round 5-6
    study = engine.study(task)
    waiting = [t.number for t in study.trials if t.state is TrialState.WAITING]
    assert waiting, "the round's second proposal should be waiting when the task is deleted"
    engine.delete_task(task)
    for number in waiting:
        trial = study.trials[number]
        assert trial.state is TrialState.FAIL and is_discarded(trial)
        assert "the task was deleted" in trial.user_attrs["llm_discarded"]
