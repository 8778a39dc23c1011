"""A recorded surface loads with errors that name the file and the field; its surrogate is faithful and fast."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from optbench.problems import make_problem
from optbench.surface import CompiledForest, SurfaceError, SurfaceModel, load_surface
from surface_fixture import BASELINE, truth, write_surface

ROOT = Path(__file__).resolve().parents[2]


def test_a_surface_folder_loads_with_its_space_baseline_and_repeats(tmp_path: Path) -> None:
    surface = load_surface(write_surface(tmp_path / "s", n=40, repeats=5))
    assert list(surface.space) == ["workers", "buffer", "mode"]
    assert surface.baseline == BASELINE
    assert surface.maximize and surface.metric == "rps"
    assert surface.descriptions == {"workers": "worker processes"}
    assert len(surface.values) == 45
    assert list(surface.repeats()) == ["baseline"] and len(surface.repeats()["baseline"]) == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(direction="up"), "'direction' must be 'maximize' or 'minimize'"),
        (lambda m: m.pop("metric"), "missing field 'metric'"),
        (lambda m: m["knobs"][0].pop("high"), r"knobs\[0\] \(workers\): missing field 'high'"),
        (lambda m: m["knobs"][2].update(type="enum"), r"knobs\[2\] \(mode\): 'type' must be int, float or categorical"),
        (lambda m: m["baseline"].pop("mode"), "'baseline' lacks knob 'mode'"),
        (lambda m: m["baseline"].update(workers=99), r"baseline.workers: 99 is outside \[1, 8\]"),
        (lambda m: m.update(knowledge="nowhere.md"), "knowledge file 'nowhere.md' not found"),
    ],
)
def test_bad_metadata_is_refused_naming_the_file_and_field(tmp_path: Path, change, message: str) -> None:
    folder = write_surface(tmp_path / "s", n=20)
    meta = json.loads((folder / "surface.json").read_text())
    change(meta)
    (folder / "surface.json").write_text(json.dumps(meta))
    with pytest.raises(SurfaceError, match=message) as info:
        load_surface(folder)
    assert "surface.json" in str(info.value)


def test_bad_rows_are_refused_naming_the_line_and_column(tmp_path: Path) -> None:
    folder = write_surface(tmp_path / "s", n=20)
    lines = (folder / "measurements.csv").read_text().splitlines()
    lines[3] = lines[3].replace(",fast,", ",warp,").replace(",slow,", ",warp,").replace(",off,", ",warp,")
    (folder / "measurements.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(SurfaceError, match=r"measurements.csv: line 4, column mode: 'warp' is not one of"):
        load_surface(folder)


def test_missing_files_and_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(SurfaceError, match="surface.json: no such file"):
        load_surface(tmp_path)
    folder = write_surface(tmp_path / "s", n=20)
    text = (folder / "measurements.csv").read_text().replace(",rps", ",throughput", 1)
    (folder / "measurements.csv").write_text(text)
    with pytest.raises(SurfaceError, match="missing column"):
        load_surface(folder)


def test_the_compiled_forest_predicts_exactly_what_scikit_learn_does(tmp_path: Path) -> None:
    model = SurfaceModel(load_surface(write_surface(tmp_path / "s")))
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.integers(1, 9, 200), rng.random(200), np.eye(3)[rng.integers(0, 3, 200)]])
    expected = model._forest.predict(X)
    np.testing.assert_allclose(model.compiled.predict(X), expected, rtol=1e-12)
    np.testing.assert_allclose([model.compiled.predict_one(x) for x in X[:20]], expected[:20], rtol=1e-12)
    assert isinstance(model.compiled, CompiledForest) and model.compiled.depth > 0


def test_noise_is_the_pooled_spread_of_the_repeats_on_the_log_scale(tmp_path: Path) -> None:
    surface = load_surface(write_surface(tmp_path / "s", noise=0.1, repeats=8))
    model = SurfaceModel(surface)
    assert model.log
    assert model.noise == pytest.approx(np.std(np.log(surface.repeats()["baseline"]), ddof=1))
    draws = [model.sample(BASELINE, np.random.default_rng(i)) for i in range(300)]
    spread = np.std(np.log(draws))
    assert 0.07 < spread < 0.13
    assert np.exp(np.mean(np.log(draws))) == pytest.approx(model.mean(BASELINE), rel=0.03)


def test_the_surrogate_ranks_held_out_configurations_like_the_truth(tmp_path: Path) -> None:
    model = SurfaceModel(load_surface(write_surface(tmp_path / "s", n=200, noise=0.02)))
    quality = model.quality(folds=5)
    assert quality.spearman > 0.85 and quality.r2 > 0.6
    assert quality.configs == 201 and quality.rows == 206
    best = {"workers": 6, "buffer": 0.8, "mode": "fast"}
    assert model.mean(best) > model.mean(BASELINE) * 1.5
    assert math.isclose(model.mean(best), truth(best), rel_tol=0.25)


SHIPPED = {
    # surface folder: (problem name, tools whose versions are recorded, a word of its knowledge file)
    "nginx": ("nginx-surface", ("nginx", "wrk"), "gzip"),
    "mariadb": ("mariadb-surface", ("mariadbd", "sysbench"), "innodb_buffer_pool_size"),
}


@pytest.mark.parametrize("folder", sorted(SHIPPED))
def test_a_shipped_surface_is_a_full_quiet_recording(folder: str) -> None:
    path = ROOT / "benchmarks" / "surfaces" / folder
    if not (path / "surface.json").exists():
        pytest.skip(f"benchmarks/surfaces/{folder} is not recorded yet")
    problem_name, tools, word = SHIPPED[folder]
    surface = load_surface(path)
    kinds: dict[str, int] = {}
    for config in surface.configs:
        kinds[config] = kinds.get(config, 0) + 1
    assert sum(1 for c in kinds if c.startswith("d")) >= 400
    assert kinds["baseline"] >= 10
    assert sum(1 for n in kinds.values() if n >= 10) >= 3
    recorded = surface.recorded
    assert recorded["date"] and recorded["machine"]["cores"] and recorded["machine"]["kernel"]
    for tool in tools:
        assert any(tool in v for v in recorded["versions"].values()), tool
    # recorded in quiet mode: the load of other processes beside every measurement
    assert recorded["quiet"]["threshold"] > 0
    # the noise the repeats measured, stated with the surface
    assert recorded["noise"]["pooled_log_sd"] > 0 and recorded["noise"]["repeats"]["baseline"]["n"] >= 10
    with (path / "measurements.csv").open() as f:
        loads = [row["other_cpu"] for row in csv.DictReader(f)]
    assert len(loads) == len(surface.values) and all(load != "" for load in loads)
    assert word in surface.knowledge  # the study's knowledge file travels with it
    model = SurfaceModel(surface)
    assert 0 < model.noise < 1
    problem = make_problem(problem_name)
    assert problem.surface is not None and problem.mean(problem.baseline) > 0
