"""The runner on the toy project: A-Tune's semantics, failures, the gate, restoration, resume.

Every expected number comes from the formulas in ``tests/atune_bridge/projects/toy/bench.sh`` (see toy_project).
Trials are enqueued where a test needs known configurations; TPE fills in the rest.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc
from optuna.trial import TrialState

from atune_bridge import (
    BaselineError,
    ProjectError,
    RunnerConfig,
    SamplerUnavailableError,
    StudyMismatchError,
    load_client,
    load_server,
)
from atune_bridge._runner import Runner, parameter_descriptions, project_knowledge

from toy_project import BASELINE_LATENCY, BASELINE_RPS, ORIGINAL, Toy, copy_toy, latency, rps

A = {"workers": 2, "cache": 512, "mode": "safe", "ratio": 0.5}  # only non-restart values differ
B = {"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.5}  # workers (needrestart) too
BEST = {"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.3}  # the optimum, 1060 rps


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return copy_toy(tmp_path)


def measured_baseline(toy: Toy, client: str = "toy_client.yaml", **kwargs: object) -> optuna.Study:
    """Run the budget of one trial: the baseline only, so tests can enqueue what follows."""
    toy.runner(client, n_trials=1, **kwargs).run()
    return toy.study()


# --------------------------------------------------------------------------- baseline


def test_trial_0_measures_the_baseline_without_setting_anything(toy: Toy) -> None:
    study = measured_baseline(toy)
    (trial,) = study.trials
    assert trial.number == 0 and trial.state is TrialState.COMPLETE
    assert trial.user_attrs["source"] == "baseline"
    assert trial.params == {"workers": 2, "cache": 128, "mode": "safe", "ratio": 0.5}
    assert trial.user_attrs["baseline_values"] == ORIGINAL
    assert trial.user_attrs["metrics"] == {"rps": BASELINE_RPS}
    assert trial.values == [BASELINE_RPS]
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE]
    assert study.user_attrs["atune_original"] == ORIGINAL
    assert toy.log("set.log") == [] and toy.log("restarts.log") == []


def test_ref_overrides_the_baseline_and_the_value_read_by_get_is_restored(toy: Toy) -> None:
    text = toy.server_path.read_text().replace('      scope: [64, 1024]', '      ref: 256\n      scope: [64, 1024]')
    server = toy.root / "ref_server.yaml"
    server.write_text(text)
    toy.runner(server=server, n_trials=1).run()
    (trial,) = toy.study().trials
    assert trial.params["cache"] == 256
    assert trial.user_attrs["metrics"]["rps"] == rps(2, 256, "safe", 0.5)
    assert toy.log("set.log") == ["cache=256", "cache=128"]  # baseline applied, then set back
    assert toy.conf()["cache"] == "128"


def test_a_failing_baseline_stops_the_run_and_is_measured_again_next_time(toy: Toy) -> None:
    (toy.root / "service.conf").write_text("workers=1\ncache=128\nmode=safe\nratio=0.5\n")
    (toy.root / "running.conf").write_text("workers=1\n")
    with pytest.raises(BaselineError, match="crashed with one worker"):
        toy.runner(n_trials=5).run()
    (trial,) = toy.study().trials
    assert trial.state is TrialState.FAIL and trial.user_attrs["source"] == "baseline"


# --------------------------------------------------------------------------- set / get / restart


def test_every_value_is_set_and_a_restart_happens_only_when_a_needrestart_value_changes(toy: Toy) -> None:
    measured_baseline(toy)
    toy.enqueue(A, B)
    toy.runner(n_trials=3).run()
    trials = toy.study().trials
    assert [t.params for t in trials[1:]] == [A, B]
    assert [t.user_attrs["restarted"] for t in trials] == [False, False, True]
    # A-Tune's RunSet sets every parameter each iteration, in the file's order
    assert toy.log("set.log")[:8] == [
        "workers=2", "cache=512", "mode=safe", "ratio=0.5",
        "workers=6", "cache=512", "mode=very fast", "ratio=0.5",
    ]
    # trial 2 restarted before its benchmark (workers is read from running.conf), and the
    # final restoration restarted again to go back to workers=2
    assert trials[1].values == [rps(**A)]
    assert trials[2].values == [rps(**B)]
    assert toy.log("restarts.log") == ["stop", "start", "stop", "start"]
    assert toy.conf() == ORIGINAL and toy.running()["workers"] == "2"


def test_at_the_end_the_original_values_are_set_back(toy: Toy) -> None:
    result = toy.runner(n_trials=5).run()
    assert result.applied == "original values"
    assert toy.conf() == ORIGINAL
    assert toy.running()["workers"] == "2"
    assert len(toy.study().trials) == 5


def test_apply_best_leaves_the_best_configuration_applied(toy: Toy) -> None:
    measured_baseline(toy)
    toy.enqueue(A, BEST, B)
    result = toy.runner(n_trials=4, apply_best=True).run()
    assert result.applied == "best configuration (trial 2)"
    assert toy.conf() == {"workers": "6", "cache": "512", "mode": "very fast", "ratio": "0.3"}
    assert toy.running()["workers"] == "6"
    assert toy.study().user_attrs["atune_applied"] == "best configuration (trial 2)"


def test_an_exception_in_the_loop_still_sets_the_original_values_back(toy: Toy) -> None:
    measured_baseline(toy)
    toy.enqueue(B)

    def boom(report: object) -> None:
        raise RuntimeError("observer failed")

    runner = Runner(load_server(toy.server_path), load_client(toy.client_path()), toy.config(n_trials=3),
                    on_trial=boom)
    with pytest.raises(RuntimeError, match="observer failed"):
        runner.run()
    assert "mode=very fast" in toy.log("set.log")  # trial 1 set B ...
    assert toy.conf() == ORIGINAL  # ... and it was undone
    assert toy.running()["workers"] == "2"


# --------------------------------------------------------------------------- failures


def test_a_failing_benchmark_or_an_unparsable_metric_fails_that_trial_and_the_study_goes_on(toy: Toy) -> None:
    measured_baseline(toy)
    toy.enqueue({**A, "workers": 1}, {**A, "cache": 1024}, A)
    toy.runner(n_trials=4).run()
    crash, garbled, fine = toy.study().trials[1:]
    assert crash.state is TrialState.FAIL
    assert crash.user_attrs["fail_reason"] == "benchmark exited with status 3: toy: service crashed with one worker"
    assert crash.user_attrs["failed_step"] == "benchmark"
    assert "crashed with one worker" in crash.user_attrs["failed_stdout"]  # combined output
    assert garbled.state is TrialState.FAIL
    assert garbled.user_attrs["fail_reason"] == "evaluation 'rps': its get printed 'n/a', which is not a number"
    assert garbled.user_attrs["failed_step"] == "evaluation rps"
    assert garbled.user_attrs["failed_stdout"] == "n/a\n"
    assert "TIMING: requests 5000 rps n/a" in garbled.user_attrs["benchmark_output"]
    assert fine.state is TrialState.COMPLETE and fine.values == [rps(**A)]
    assert toy.conf() == ORIGINAL


def test_a_timed_out_benchmark_fails_the_trial(toy: Toy) -> None:
    measured_baseline(toy)
    (toy.root / "hang_at").write_text("2\n")
    toy.enqueue(A)
    toy.runner(n_trials=2, benchmark_timeout=1).run()
    trial = toy.study().trials[1]
    assert trial.state is TrialState.FAIL
    assert trial.user_attrs["fail_reason"].startswith("benchmark timed out after")


# --------------------------------------------------------------------------- the gate


def test_a_value_outside_the_domain_never_reaches_a_shell(toy: Toy) -> None:
    measured_baseline(toy)
    with pytest.warns(UserWarning):  # Optuna warns about the out-of-range fixed value
        toy.enqueue({**A, "workers": 99})
        toy.enqueue({**A, "mode": "fast; touch pwned"})
        toy.runner(n_trials=3).run()
    out_of_range, hostile = toy.study().trials[1:]
    for trial in (out_of_range, hostile):
        assert trial.state is TrialState.FAIL
        assert trial.user_attrs["fail_reason"].startswith("refused before any command ran")
    assert "workers: 99 lies outside the declared domain" in out_of_range.user_attrs["fail_reason"]
    assert toy.log("set.log") == []  # not one set command ran
    assert not (toy.root / "pwned").exists()
    assert toy.conf() == ORIGINAL


def test_a_hostile_option_written_in_the_yaml_is_refused_too(toy: Toy) -> None:
    text = toy.server_path.read_text().replace('"very fast"]', '"very fast", "x$(touch pwned)"]')
    server = toy.root / "hostile_server.yaml"
    server.write_text(text)
    toy.runner(server=server, n_trials=1).run()
    toy.enqueue({**A, "mode": "x$(touch pwned)"})
    toy.runner(server=server, n_trials=2).run()
    trial = toy.study().trials[1]
    assert trial.state is TrialState.FAIL
    assert "outside A-Z a-z 0-9" in trial.user_attrs["fail_reason"]
    assert toy.log("set.log") == []
    assert not (toy.root / "pwned").exists()


# --------------------------------------------------------------------------- objectives


def test_several_metrics_are_scored_by_atunes_weighted_improvement_rate(toy: Toy) -> None:
    client = "toy_two_metrics_client.yaml"
    measured_baseline(toy, client)
    cfg = {"workers": 4, "cache": 512, "mode": "fast", "ratio": 0.3}
    toy.enqueue(cfg)
    toy.runner(client, n_trials=2).run()
    study = toy.study()
    baseline, trial = study.trials
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE]
    assert study.metric_names == ["weighted improvement % (A-Tune)"]
    assert baseline.values == [0.0] and str(baseline.user_attrs["atune_objective"]) == "0.0"
    assert trial.user_attrs["metrics"] == {"rps": rps(**cfg), "latency": latency(**cfg)}
    rate_rps = (-rps(**cfg) - -BASELINE_RPS) / -BASELINE_RPS * 100  # base <= 0, better
    rate_latency = (BASELINE_LATENCY - latency(**cfg)) / BASELINE_LATENCY * 100  # base > 0, worse
    expected = rate_rps * 70 / 100 + rate_latency * 30 / 100
    assert trial.values[0] == pytest.approx(expected)
    assert trial.user_attrs["atune_objective"] == pytest.approx(-expected)
    assert trial.user_attrs["atune_evaluations"] == f"rps={-rps(**cfg):.2f},latency={latency(**cfg):.2f}"


def test_multi_objective_optimises_the_metrics_as_a_pareto_front(toy: Toy) -> None:
    client = "toy_two_metrics_client.yaml"
    measured_baseline(toy, client, multi_objective=True)
    toy.enqueue(BEST, B)
    result = toy.runner(client, n_trials=6, multi_objective=True).run()
    study = toy.study()
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert study.metric_names == ["rps", "latency"]
    assert study.trials[1].values == [rps(**BEST), latency(**BEST)]
    assert all(t.user_attrs.get("atune_objective") is not None for t in study.trials if t.values)
    from atune_bridge._runner._report import best_trial

    best = best_trial(study, result.scoring)
    assert best is not None and best in study.best_trials


def test_an_existing_study_is_not_continued_with_other_objectives(toy: Toy) -> None:
    measured_baseline(toy, "toy_two_metrics_client.yaml")
    with pytest.raises(StudyMismatchError, match="--multi-objective"):
        toy.runner("toy_two_metrics_client.yaml", n_trials=3, multi_objective=True).run()


# --------------------------------------------------------------------------- resume


def test_running_again_resumes_keeps_trials_and_reuses_the_baseline(toy: Toy) -> None:
    toy.runner(n_trials=3).run()
    first = [(t.number, t.params) for t in toy.study().trials]
    toy.runner(n_trials=5).run()
    trials = toy.study().trials
    assert [(t.number, t.params) for t in trials[:3]] == first
    assert len(trials) == 5
    assert sum(t.user_attrs["source"] == "baseline" for t in trials) == 1
    assert len(toy.log("bench.log")) == 5  # the baseline was measured once
    toy.runner(n_trials=5).run()  # budget already reached: nothing runs
    assert len(toy.study().trials) == 5 and len(toy.log("bench.log")) == 5


# --------------------------------------------------------------------------- model inputs


def test_the_knowledge_holds_the_machine_the_project_each_desc_and_the_users_file(toy: Toy) -> None:
    server, client = load_server(toy.server_path), load_client(toy.client_path())
    text = project_knowledge(server, client, "Workers above 6 thrash the cache.")
    assert f"{os.cpu_count()} CPU cores" in text and "GiB memory" in text and os.uname().release in text
    assert "Project: toy" in text and "rps (higher is better, weight 100)" in text
    assert "- workers in 1..8, needs a service restart: worker processes of the toy service" in text
    assert "- mode in {safe, fast, very fast}: request handling mode" in text
    assert text.endswith("Workers above 6 thrash the cache.")
    # given to the sampler, the parameters go as descriptions shown next to each range
    short = project_knowledge(server, client, "Workers above 6 thrash the cache.", with_parameters=False)
    assert "Parameters:" not in short and "Project: toy" in short
    assert parameter_descriptions(server.tunable) == {
        "workers": "worker processes of the toy service; read only at start; changing it restarts the service",
        "cache": "cache size in MB",
        "mode": "request handling mode",
        "ratio": "share of requests served from cache",
    }


class ScriptedModel:
    """A chat model that records its prompts and proposes fixed configurations."""

    def __init__(self, *proposals: dict[str, object]) -> None:
        self.proposals = proposals
        self.prompts: list[str] = []

    def invoke(self, messages: list[tuple[str, str]]) -> str:
        self.prompts.append("\n".join(content for _, content in messages))
        return json.dumps({"configurations": [
            {"params": p, "rationale": f"try {p['workers']} workers"} for p in self.proposals
        ]})


def test_llm_proposals_are_measured_and_the_model_sees_what_the_runner_knows(
    toy: Toy, monkeypatch: pytest.MonkeyPatch, two_trial_rounds: None, unvetted: None,
) -> None:
    import optuna_llm_sampler

    model = ScriptedModel(BEST, {**B, "workers": 99})  # the second is repaired into the domain
    specs: list[str] = []
    monkeypatch.setattr(optuna_llm_sampler, "make_chat_model", lambda spec: specs.append(spec) or model)
    knowledge = toy.root / "knowledge.txt"
    knowledge.write_text("Workers above 6 thrash the cache.")
    toy.runner(llm="scripted", n_trials=3, knowledge=str(knowledge)).run()
    assert specs == ["scripted"]
    (prompt,) = model.prompts
    assert f"{os.cpu_count()} CPU cores" in prompt and "Project: toy" in prompt
    assert "Workers above 6 thrash the cache." in prompt
    assert "worker processes of the toy service; read only at start; changing it restarts the service" in prompt
    assert '#0 [baseline] value=656' in prompt
    trials = toy.study().trials
    assert [t.user_attrs["source"] for t in trials] == ["baseline", "llm", "llm"]
    assert trials[1].params == BEST and trials[1].values == [rps(**BEST)]
    assert trials[1].user_attrs["llm_rationale"] == "try 6 workers"
    assert trials[2].params["workers"] == 8 and trials[2].state is TrialState.COMPLETE  # clipped by the sampler
    assert toy.conf() == ORIGINAL


class SlowModel(ScriptedModel):
    def invoke(self, messages: list[tuple[str, str]]) -> str:
        time.sleep(3)
        return super().invoke(messages)


def test_a_model_slower_than_llm_timeout_sends_its_trial_to_tpe(
    toy: Toy, monkeypatch: pytest.MonkeyPatch, model_first: None,
) -> None:
    import optuna_llm_sampler

    monkeypatch.setattr(optuna_llm_sampler, "make_chat_model", lambda spec: SlowModel(BEST))
    toy.runner(llm="scripted", n_trials=2, llm_timeout=0.5).run()
    trial = toy.study().trials[1]
    assert trial.user_attrs["source"] == "TPESampler"
    assert "0.5" in trial.user_attrs["llm_error"] and trial.state is TrialState.COMPLETE


def test_an_unknown_model_is_a_clear_error_before_anything_is_set(toy: Toy) -> None:
    with pytest.raises(SamplerUnavailableError, match="--llm nosuchprovider:x"):
        toy.runner(llm="nosuchprovider:x", n_trials=2).run()
    assert toy.log("set.log") == [] and toy.log("bench.log") == []


def test_a_project_with_nothing_to_tune_is_refused(toy: Toy) -> None:
    text = toy.server_path.read_text().replace('needrestart: "true"', 'needrestart: "true"\n      skip: true')
    for name in ("cache", "mode", "ratio"):
        text = text.replace(f'name: "{name}"\n    info:\n', f'name: "{name}"\n    info:\n      skip: true\n')
    server = toy.root / "empty_server.yaml"
    server.write_text(text)
    with pytest.raises(ProjectError, match="no tunable object"):
        toy.runner(server=server).run()


def test_default_budget_is_the_client_iterations_plus_the_baseline(toy: Toy) -> None:
    runner = Runner(load_server(toy.server_path), load_client(toy.client_path()), RunnerConfig(llm="none"))
    assert runner.budget == 11
    assert runner.study_name == "toy"
    assert runner.config.storage == "sqlite:///atune-bridge.db"


@pytest.mark.parametrize(
    "field, value", [("command_timeout", 0), ("benchmark_timeout", -1), ("llm_timeout", 0), ("n_trials", 0)]
)
def test_a_config_value_out_of_range_is_refused_naming_the_field(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"RunnerConfig.{field} must be"):
        RunnerConfig(**{field: value})  # type: ignore[arg-type]


def test_a_second_run_started_while_the_baseline_is_measured_is_refused(toy: Toy) -> None:
    # The baseline's benchmark waits for the file "go", written once the second run is over.
    client = toy.client_path().read_text().replace(
        'benchmark: "sh bench.sh"', 'benchmark: "while [ ! -f go ]; do sleep 0.1; done; sh bench.sh"')
    toy.client_path().write_text(client)
    first = subprocess.Popen(toy.cli_args("--trials", "1"), cwd=toy.root, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    running_seen = time.monotonic()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the first run's baseline trial exists
            # Not there yet (KeyError), or the poll opened the SQLite file while the first run
            # was creating its tables, and both wrote Optuna's schema version (IntegrityError,
            # seen once in CI): poll again.
            with contextlib.suppress(KeyError, sqlalchemy.exc.IntegrityError):
                if toy.study().get_trials(states=(TrialState.RUNNING,)):
                    break
            time.sleep(0.2)
        running_seen = time.monotonic()
        second = toy.cli("--trials", "1")
        assert second.returncode == 1, second.stdout + second.stderr
        assert f"another run holds it: `atune-bridge tune`, process {first.pid} on this host" in second.stderr
    finally:
        # Held at least a second after the baseline was seen running, however fast the second
        # run was refused, so that its duration below does not depend on the machine's speed.
        time.sleep(max(0.0, running_seen + 1.0 - time.monotonic()))
        (toy.root / "go").write_text("")
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err
    (baseline,) = toy.study().trials
    assert baseline.state is TrialState.COMPLETE and baseline.user_attrs["source"] == "baseline"
    # a real duration: from before the second run started to after it ended
    assert (baseline.datetime_complete - baseline.datetime_start).total_seconds() >= 1
