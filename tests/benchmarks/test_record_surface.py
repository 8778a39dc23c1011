"""benchmarks/record_surface.py: a design measured through the A-Tune runner, written as a surface folder."""

from __future__ import annotations

import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

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


def test_a_toy_project_is_recorded_and_loads_as_a_surface(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("3\n")
    (tmp_path / "mode").write_text("slow\n")
    (tmp_path / "server.yaml").write_text(textwrap.dedent("""\
        project: "toy"
        object:
          - name: "x"
            info: {get: "cat x", set: "echo $value > x", needrestart: "false", type: "discrete",
                   dtype: "int", scope: [1, 9], step: 1}
          - name: "mode"
            info: {get: "cat mode", set: "echo $value > mode", needrestart: "false", type: "discrete",
                   dtype: "string", options: ["slow", "fast"]}
        """))
    (tmp_path / "client.yaml").write_text(textwrap.dedent("""\
        project: "toy"
        benchmark: "echo $(( 100 - ($(cat x) - 6) * ($(cat x) - 6) + $( [ $(cat mode) = fast ] && echo 20 || echo 0) ))"
        evaluations:
          - name: "score"
            info: {get: "echo '$out'", type: "negative", weight: 100}
        """))
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
        assert value == 100 - (params["x"] - 6) ** 2 + (20 if params["mode"] == "fast" else 0)
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
