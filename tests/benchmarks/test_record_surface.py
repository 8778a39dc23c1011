"""benchmarks/record_surface.py: a design measured through the A-Tune runner, written as a surface folder."""

from __future__ import annotations

import csv
import json
import math
import statistics
import sys
import textwrap
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from atune_bridge import load_server
from optbench.quiet import QuietOptions
from optbench.surface import SurfaceModel, load_surface

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import record_surface  # noqa: E402


def test_the_plan_spreads_the_repeats_through_the_design() -> None:
    plan = record_surface.make_plan(512, 3, 10)
    repeats = Counter(c for kind, c in plan if kind == "repeat")
    assert repeats == {"baseline": 9, "d0000": 10, "d0001": 10, "d0002": 10}  # + the runner's trial 0
    assert [c for kind, c in plan if kind == "design"] == [f"d{i:04d}" for i in range(512)]
    positions = [i for i, (kind, _) in enumerate(plan) if kind == "repeat"]
    assert positions[0] < 20 and positions[-1] > len(plan) - 20
    gaps = [b - a for a, b in zip(positions, positions[1:])]
    assert max(gaps) - min(gaps) <= 2


@pytest.mark.parametrize(
    "dist",
    [IntDistribution(64, 4096, step=64), IntDistribution(1, 1000, log=True), FloatDistribution(0.0, 2.0),
     FloatDistribution(0.0, 1.0, step=0.25), CategoricalDistribution(["on", "off", "static"])],
)
def test_unit_values_map_onto_every_point_of_a_domain(dist) -> None:
    values = [record_surface.from_unit(dist, u / 1000) for u in range(1001)]
    for v in values:
        assert dist._contains(dist.to_internal_repr(v))
    if isinstance(dist, CategoricalDistribution):
        assert set(values) == set(dist.choices)
    else:
        assert min(values) == dist.low and max(values) == pytest.approx(dist.high, rel=1e-9)


def write_toy_project(folder: Path) -> None:
    """A service of two knobs whose score is a known function of them: no noise at all."""
    (folder / "x").write_text("3\n")
    (folder / "mode").write_text("slow\n")
    (folder / "server.yaml").write_text(textwrap.dedent("""\
        project: "toy"
        object:
          - name: "x"
            info: {get: "cat x", set: "echo $value > x", needrestart: "false", type: "discrete",
                   dtype: "int", scope: [1, 9], step: 1}
          - name: "mode"
            info: {get: "cat mode", set: "echo $value > mode", needrestart: "false", type: "discrete",
                   dtype: "string", options: ["slow", "fast"]}
        """))
    (folder / "client.yaml").write_text(textwrap.dedent("""\
        project: "toy"
        benchmark: "echo $(( 100 - ($(cat x) - 6) * ($(cat x) - 6) + $( [ $(cat mode) = fast ] && echo 20 || echo 0) ))"
        evaluations:
          - name: "score"
            info: {get: "echo '$out'", type: "negative", weight: 100}
        """))


def toy_score(params: dict) -> float:
    return 100 - (params["x"] - 6) ** 2 + (20 if params["mode"] == "fast" else 0)


def test_a_toy_project_is_recorded_and_loads_as_a_surface(tmp_path: Path) -> None:
    write_toy_project(tmp_path)
    out = tmp_path / "surface"
    code = record_surface.main([
        "--server", str(tmp_path / "server.yaml"), "--client", str(tmp_path / "client.yaml"), "--metric", "score",
        "--out", str(out), "--points", "16", "--repeat-configs", "1", "--repeats", "3",
        "--setup", f"test -d {tmp_path}", "--version", "echo toy 1.0", "--workdir", str(tmp_path),
    ])
    assert code == 0
    surface = load_surface(out)
    assert surface.maximize and surface.metric == "score"
    assert surface.baseline == {"x": 3, "mode": "slow"}
    assert len(surface.values) == 1 + 16 + 2 + 3  # baseline, design, repeats of baseline and d0000
    for params, value in zip(surface.params, surface.values):
        assert value == toy_score(params)
    assert surface.recorded["versions"] == {"echo toy 1.0": "toy 1.0"}
    assert surface.recorded["machine"]["cores"] >= 1
    assert (tmp_path / "x").read_text() == "3\n"  # the runner set the original value back
    assert SurfaceModel(surface).noise == 0.0  # a deterministic service has no noise

    # a second run measures nothing new and writes the same files
    before = (out / "measurements.csv").read_text()
    assert record_surface.main([
        "--server", str(tmp_path / "server.yaml"), "--client", str(tmp_path / "client.yaml"), "--metric", "score",
        "--out", str(out), "--points", "16", "--repeat-configs", "1", "--repeats", "3", "--workdir", str(tmp_path),
    ]) == 0
    assert (out / "measurements.csv").read_text() == before


def test_a_configuration_the_service_refuses_twice_is_left_out(tmp_path: Path) -> None:
    write_toy_project(tmp_path)
    client = (tmp_path / "client.yaml").read_text()
    (tmp_path / "client.yaml").write_text(client.replace('benchmark: "', 'benchmark: "[ $(cat mode) = slow ] && '))
    out = tmp_path / "surface"
    code = record_surface.main([
        "--server", str(tmp_path / "server.yaml"), "--client", str(tmp_path / "client.yaml"), "--metric", "score",
        "--out", str(out), "--points", "4", "--repeat-configs", "0", "--repeats", "0", "--workdir", str(tmp_path),
    ])
    assert code == 0
    with (out / "measurements.csv").open() as f:
        rows = list(csv.DictReader(f))
    design = record_surface.sobol_design(load_server(tmp_path / "server.yaml").search_space(), 4, 0)
    fast = sorted(f"d{i:04d}" for i, point in enumerate(design) if point["mode"] == "fast")
    assert fast, "the design has fast points"
    assert sorted(row["config"] for row in rows) == sorted(
        ["baseline"] + [f"d{i:04d}" for i in range(4) if f"d{i:04d}" not in fast])
    assert json.loads((out / "surface.json").read_text())["recorded"]["failed"] == fast
    study = optuna.load_study(study_name="surface-toy", storage=f"sqlite:///{out / 'recording.db'}")
    assert sum(t.state == optuna.trial.TrialState.FAIL for t in study.trials) == 2 * len(fast)


# --------------------------------------------------------------------------- quiet mode


class ScriptedGate:
    """Stands in for optbench.quiet.QuietGate: the machine is quiet before every measurement,
    and busy during the measurements (counted from 1) listed in ``busy``."""

    def __init__(self, options: QuietOptions, *, say, busy: set[int]) -> None:
        self.options = options
        self.waited = 0.0
        self.busy = busy
        self.waits = 0
        self.measured = 0
        self._say = say
        self._running = False

    def wait(self) -> float:
        self.waits += 1
        return 0.01

    def start(self) -> None:
        self._running = True

    def finish(self) -> float | None:
        if not self._running:
            return None
        self._running = False
        self.measured += 1
        return 1.5 if self.measured in self.busy else 0.05


def record_quietly(tmp_path: Path, monkeypatch, busy: set[int], *extra: str) -> tuple[int, ScriptedGate, Path]:
    write_toy_project(tmp_path)
    gates: list[ScriptedGate] = []
    monkeypatch.setattr(record_surface, "QuietGate",
                        lambda options, say: gates.append(ScriptedGate(options, say=say, busy=busy)) or gates[-1])
    out = tmp_path / "surface"
    code = record_surface.main([
        "--server", str(tmp_path / "server.yaml"), "--client", str(tmp_path / "client.yaml"), "--metric", "score",
        "--out", str(out), "--workdir", str(tmp_path), "--quiet", "0.25", "--quiet-own", "/srv/toy", *extra,
    ])
    return code, gates[0], out


def test_a_measurement_taken_while_the_machine_was_busy_is_taken_again(tmp_path: Path, monkeypatch) -> None:
    # measurement 1 is the baseline (trial 0), 4 a design point: both are measured again
    code, gate, out = record_quietly(tmp_path, monkeypatch, {1, 4}, "--points", "4", "--repeat-configs", "1",
                                     "--repeats", "2")
    assert code == 0
    planned = 1 + 4 + 1 + 2  # baseline, design, repeats of the baseline and of d0000
    assert gate.measured == planned + 2 and gate.waits == gate.measured  # a wait before each measurement
    with (out / "measurements.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == planned
    configs = [row["config"] for row in rows]
    assert sorted(c for c in configs if c.startswith("d")) == sorted([f"d{i:04d}" for i in range(4)] + ["d0000"] * 2)
    assert configs.count("baseline") == 2
    for row in rows:
        assert float(row["score"]) == toy_score({"x": int(row["x"]), "mode": row["mode"]})
    assert all(float(row["other_cpu"]) == 0.05 for row in rows)  # the busy ones are left out
    assert rows[0]["kind"] == "baseline" and rows[0]["trial"] != "0"  # the baseline measured again
    recorded = json.loads((out / "surface.json").read_text())["recorded"]
    assert recorded["quiet"]["threshold"] == 0.25 and recorded["quiet"]["own"] == ["/srv/toy"]
    assert recorded["quiet"]["retaken"] == 2 and recorded["quiet"]["other_cpu_max"] == 0.05

    study = optuna.load_study(study_name="surface-toy", storage=f"sqlite:///{out / 'recording.db'}")
    retaken = [t for t in study.trials if t.user_attrs.get("quiet_retake")]
    assert [t.number for t in retaken] == [0, 3]
    assert all(t.user_attrs["other_cpu"] == 1.5 for t in retaken)
    assert study.trials[1].user_attrs["other_cpu_before"] == 0.01


def test_a_configuration_measured_busy_too_often_is_kept_with_its_load(tmp_path: Path, monkeypatch) -> None:
    code, gate, out = record_quietly(tmp_path, monkeypatch, {2, 3, 4}, "--points", "2", "--repeat-configs", "0",
                                     "--repeats", "0", "--quiet-retakes", "2")
    assert code == 0
    assert gate.measured == 3 + 2
    with (out / "measurements.csv").open() as f:
        loads = [float(row["other_cpu"]) for row in csv.DictReader(f)]
    assert sorted(loads) == [0.05] * 2 + [1.5]


def test_quiet_options_are_checked() -> None:
    for bad in (["--quiet", "-1"], ["--quiet", "0.2", "--quiet-window", "0"], ["--quiet-retakes", "-1"]):
        with pytest.raises(SystemExit):
            record_surface.parse_args(["--server", "s", "--client", "c", "--metric", "m", "--out", "o", *bad])


def test_the_repeats_give_each_configurations_relative_sd_and_the_pooled_log_noise() -> None:
    from record_surface import repeat_noise

    rows = [{"config": "baseline", "rps": v} for v in (90.0, 100.0, 110.0)]
    rows += [{"config": "d0000", "rps": v} for v in (1000.0, 1000.0)] + [{"config": "d0001", "rps": 5.0}]
    noise = repeat_noise(rows, "rps")
    assert set(noise["repeats"]) == {"baseline", "d0000"}  # a configuration measured once is no repeat
    assert noise["repeats"]["baseline"] == {"n": 3, "mean": 100.0, "rsd": 0.1}
    assert noise["repeats"]["d0000"]["rsd"] == 0.0
    # Pooled over both: the baseline's log variance with 2 degrees of freedom, d0000's 0 with 1.
    logs = [math.log(v) for v in (90.0, 100.0, 110.0)]
    assert noise["pooled_log_sd"] == round(math.sqrt(statistics.variance(logs) * 2 / 3), 4)
