"""The runner applies A-Tune's less/greater/multiple relations before anything is set: a value
that breaks one is repaired (and the trial says so), a factor becomes its product, and a
relation no value keeps is scored with the thresholds as atuned does, or fails the trial."""

from __future__ import annotations

from pathlib import Path

import pytest
from optuna.trial import TrialState

from atune_bridge._runner import parameter_descriptions

from toy_project import ORIGINAL, Toy, copy_toy, rps

EXTRA = """  -
    name: "buffer"
    relationships:
      - type: "less"
        target: "cache"
    info:
      get: "sh get_kv.sh buffer"
      set: "sh set_kv.sh buffer $value"
      needrestart: "false"
      type: "discrete"
      scope: [64, 512]
      step: 64
      dtype: "int"
  -
    name: "conns"
    relationships:
      - type: "multiple"
        target: "workers"
    info:
      get: "sh get_kv.sh conns"
      set: "sh set_kv.sh conns $value"
      needrestart: "false"
      type: "discrete"
      scope: [1, 4]
      dtype: "int"
"""
WITH = {"buffer": "128", "conns": "2"}  # what the system holds at the start


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    toy = copy_toy(tmp_path)
    (toy.root / "tied_server.yaml").write_text(toy.server_path.read_text() + EXTRA)
    with (toy.root / "service.conf").open("a") as conf:
        conf.write("".join(f"{k}={v}\n" for k, v in WITH.items()))
    return toy


def run(toy: Toy, *params: dict[str, object], client: str = "toy_client.yaml", **kwargs: object):
    server = toy.root / "tied_server.yaml"
    toy.runner(client, server=server, n_trials=1).run()
    toy.enqueue(*params)
    return toy.runner(client, server=server, n_trials=1 + len(params), **kwargs).run()


def test_a_value_breaking_less_is_lowered_before_it_is_set_and_the_repair_recorded(toy: Toy) -> None:
    result = run(toy, {"workers": 2, "cache": 256, "mode": "safe", "ratio": 0.5, "buffer": 512, "conns": 1})
    trial = toy.study().trials[1]
    assert trial.state is TrialState.COMPLETE
    assert trial.params["buffer"] == 512  # the sampler's proposal stays as proposed
    assert trial.user_attrs["relation_repairs"] == ["buffer must be at most cache (256): 512 -> 256"]
    assert "buffer=256" in trial.user_attrs["params_text"].split(",")
    assert "buffer=256" in toy.log("set.log") and "buffer=512" not in toy.log("set.log")
    assert trial.user_attrs["metrics"] == {"rps": rps(2, 256, "safe", 0.5)}
    assert not any("not applied" in w for w in result.warnings)
    assert toy.conf() == {**ORIGINAL, **WITH}


def test_a_multiple_factor_is_set_as_its_product(toy: Toy) -> None:
    run(toy, {"workers": 3, "cache": 512, "mode": "safe", "ratio": 0.5, "buffer": 64, "conns": 4})
    trial = toy.study().trials[1]
    assert trial.user_attrs["set_values"] == {"conns": "12"}
    assert "conns=12" in toy.log("set.log")
    assert "conns=4" in trial.user_attrs["params_text"].split(",")  # A-Tune's line keeps the factor


def test_apply_best_and_confirm_set_the_repaired_configuration(toy: Toy) -> None:
    best = {"workers": 6, "cache": 256, "mode": "very fast", "ratio": 0.3, "buffer": 512, "conns": 2}
    result = run(toy, best, apply_best=True, confirm=2)
    assert result.confirm is not None
    assert result.confirm["best_config"]["buffer"] == "256" and result.confirm["best_config"]["conns"] == "12"
    assert toy.conf()["buffer"] == "256" and toy.conf()["conns"] == "12"


def tied_broken(toy: Toy) -> None:
    """buffer must now be at least cache: with cache above 512 (buffer's largest), no value keeps it."""
    text = (toy.root / "tied_server.yaml").read_text().replace('type: "less"', 'type: "greater"')
    (toy.root / "tied_server.yaml").write_text(text)


def test_a_relation_no_value_keeps_fails_the_trial_before_any_command_without_thresholds(toy: Toy) -> None:
    tied_broken(toy)
    run(toy, {"workers": 2, "cache": 768, "mode": "safe", "ratio": 0.5, "buffer": 64, "conns": 1})
    trial = toy.study().trials[1]
    assert trial.state is TrialState.FAIL and trial.user_attrs["failed_step"] == "relations"
    assert trial.user_attrs["fail_reason"] == (
        "refused before any command ran: buffer must be at least cache (768), but no value of its domain is; "
        "it is 64 (A-Tune scores such a configuration with each evaluation's threshold; the client file gives none)")
    assert toy.log("set.log") == []  # nothing was set (the baseline is what the system holds)
    assert len(toy.log("bench.log")) == 1  # the baseline only


def threshold_client(toy: Toy, threshold: int) -> str:
    """A client whose evaluation gives ``threshold``, the score of a configuration no value repairs."""
    text = (toy.root / "toy_client.yaml").read_text().replace("weight: 100", f"weight: 100\n      threshold: {threshold}")
    (toy.root / "threshold_client.yaml").write_text(text)
    return "threshold_client.yaml"


BROKEN = {"workers": 2, "cache": 768, "mode": "safe", "ratio": 0.5, "buffer": 64, "conns": 1}
STEADY = {"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.3, "buffer": 512, "conns": 1}  # 1060 rps
RUNNER_UP = {**STEADY, "workers": 5}  # 1050 rps


def test_with_thresholds_a_broken_configuration_is_scored_as_atuned_scores_it(toy: Toy) -> None:
    tied_broken(toy)
    run(toy, BROKEN, client=threshold_client(toy, 100))
    trial = toy.study().trials[1]
    assert trial.state is TrialState.COMPLETE and trial.user_attrs["threshold_scored"] is True
    assert trial.user_attrs["metrics"] == {"rps": 100.0} and trial.values == [100.0]
    assert len(toy.log("bench.log")) == 1 and toy.log("set.log") == []


def test_a_best_trial_scored_with_the_thresholds_is_not_confirmed(toy: Toy) -> None:
    tied_broken(toy)
    result = run(toy, BROKEN, STEADY, client=threshold_client(toy, 5000), confirm=2)
    assert result.confirm is None
    assert ("confirmation skipped: the best trial 1 breaks a relation and was scored with the thresholds, "
            "not measured") in result.warnings
    assert len(toy.log("bench.log")) == 2  # the baseline and trial 2: nothing measured again


def test_a_trial_scored_with_the_thresholds_is_no_re_ranking_candidate(toy: Toy) -> None:
    tied_broken(toy)
    result = run(toy, BROKEN, STEADY, RUNNER_UP, client=threshold_client(toy, 1055), confirm=2, rerank=3)
    assert result.confirm is not None  # trial 1 (1055, never measured) ranks between trials 2 and 3
    assert [c["trial"] for c in result.confirm["rerank"]["candidates"]] == [2, 3]


def test_the_model_is_told_the_relations() -> None:
    from atune_bridge._format import Knob, Relationship

    knobs = [Knob("buffer", "discrete", "int", scope=(64, 512), step=64, set="x",
                  relationships=(Relationship("less", "cache"),)),
             Knob("conns", "discrete", "int", scope=(1, 4), set="x", relationships=(Relationship("multiple", "workers"),))]
    assert parameter_descriptions(knobs) == {
        "buffer": "must be at most cache (a larger value is lowered to it)",
        "conns": "a factor: the value set is workers times it",
    }
