"""benchmarks/compare.py: every arm runs, the results file keeps its contract, a rerun resumes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from optbench.problems import make_problem
from optbench.protocol import RunStore, run_once
from surface_fixture import BASELINE, write_surface

ROOT = Path(__file__).resolve().parents[2]
COMPARE = ROOT / "benchmarks" / "compare.py"
MODEL_FREE = ["random", "tpe", "tpe-indep", "tpe-mv", "gp", "gbrt"]


def compare(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(COMPARE), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def toy_surface(tmp_path_factory) -> Path:
    return write_surface(tmp_path_factory.mktemp("surface") / "toy", n=80)


def test_list_names_every_problem_and_arm() -> None:
    out = compare("--list")
    assert out.returncode == 0, out.stderr
    for name in ["nginx-surface", "mariadb-surface", "ackley-mixed", "styblinski-tang-mixed", *MODEL_FREE,
                 "smac", "hebo", "ngopt",
                 "llm:random", "llm:expert"]:
        assert name in out.stdout
    assert "NOT a model" in out.stdout


@pytest.mark.skipif(importlib.util.find_spec("torch") is None or importlib.util.find_spec("skopt") is None,
                    reason="the gp and gbrt arms need the bench extra (torch, scikit-optimize)")
def test_a_smoke_run_of_every_model_free_arm_and_the_random_stand_in(tmp_path: Path, toy_surface: Path) -> None:
    arms = [*MODEL_FREE, "llm:random"]
    # 8 trials: the model's first under the default schedule is trial 7.
    out = compare("--problem", str(toy_surface), "--arms", ",".join(arms), "--seeds", "2", "--trials", "8",
                  "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    result = json.loads((tmp_path / "results.json").read_text())
    assert result["direction"] == "maximize"
    assert set(result["arms"]) == set(arms)
    for arm in arms:
        assert set(result["arms"][arm]) == {"0", "1"}
        for values in result["arms"][arm].values():
            assert len(values) == 8 and all(isinstance(v, float) and v > 0 for v in values)
    # trial 0 is the baseline in every arm, with the same noise draw for the same seed
    for seed in ("0", "1"):
        firsts = {result["arms"][arm][seed][0] for arm in arms}
        assert len(firsts) == 1
    assert result["sources"]["llm:random"]["0"][0] == "baseline"
    assert "llm" in result["sources"]["llm:random"]["0"]
    assert result["labels"]["llm:random"] == "llm:random (stand-in, not a model)"
    table = (tmp_path / "results.md").read_text()
    assert "llm:random (stand-in, not a model)" in table and "Reproduce:" in table
    assert (tmp_path / "convergence.png").read_bytes()[:4] == b"\x89PNG"
    assert result["surrogate"]["spearman"] > 0.5

    again = compare("--problem", str(toy_surface), "--arms", "tpe,llm:random", "--seeds", "2", "--trials", "8",
                    "--out", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert "4 runs, 4 already" in again.stdout
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 2 * len(arms)


def test_a_synthetic_problem_minimises_and_reports_the_gap_closed(tmp_path: Path) -> None:
    out = compare("--problem", "styblinski-tang-mixed", "--arms", "random,tpe", "--seeds", "2", "--trials", "6",
                  "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    result = json.loads((tmp_path / "results.json").read_text())
    assert result["direction"] == "minimize"
    assert result["optimum"] < result["best_known"] < result["baseline"]
    assert "% of gap closed" in (tmp_path / "results.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--problem", "no-such-problem"], "unknown problem 'no-such-problem'"),
        (["--problem", "ackley-mixed", "--arms", "tpe,hyperband"], "unknown arm 'hyperband'"),
        (["--problem", "ackley-mixed", "--arms", "llm:expert"], "'llm:expert' is unavailable on ackley-mixed"),
        (["--problem", "ackley-mixed", "--arms", "llm:nosuch:x"], "unknown model provider 'nosuch'"),
        (["--problem", "ackley-mixed", "--arms", "tpe", "--reference", "tpe-starts20"],
         "--reference 'tpe-starts20' is not one of --arms (tpe)"),
    ],
)
def test_bad_problems_and_arms_are_refused_before_anything_runs(tmp_path: Path, args: list[str], message: str) -> None:
    out = compare(*args, "--out", str(tmp_path))
    assert out.returncode == 2
    assert message in out.stderr
    assert not (tmp_path / "runs.jsonl").exists()


def test_every_arm_is_set_against_the_reference_arm(tmp_path: Path) -> None:
    out = compare("--problem", "ackley-mixed", "--arms", "tpe-starts20,tpe", "--reference", "tpe-starts20",
                  "--seeds", "2", "--trials", "6", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    report = (tmp_path / "results.md").read_text()
    assert "Against `tpe-starts20` at each checkpoint" in report
    assert "the mean as a multiple of `tpe-starts20`'s" in report
    assert "--reference tpe-starts20" in report  # in the command that reproduces it
    assert (tmp_path / "against-tpe-starts20.png").exists()


def test_a_run_store_line_cut_by_a_kill_is_measured_again(tmp_path: Path, toy_surface: Path) -> None:
    problem = make_problem(str(toy_surface))
    store = RunStore(tmp_path / "runs.jsonl")
    store.add(run_once(problem, "random", 0, 4))
    with (tmp_path / "runs.jsonl").open("a") as f:
        f.write('{"problem": "toy", "arm": "tpe", "se')
    reread = RunStore(tmp_path / "runs.jsonl")
    assert reread.get(("toy", "random", 0, 4)) is not None
    assert reread.get(("toy", "tpe", 0, 4)) is None


def test_the_baseline_is_trial_zero_and_common_noise_is_shared_by_seed(toy_surface: Path) -> None:
    problem = make_problem(str(toy_surface))
    a = run_once(problem, "random", 5, 4)
    b = run_once(problem, "tpe", 5, 4)
    assert a.values[0] == b.values[0]
    assert a.means[0] == pytest.approx(problem.mean(BASELINE))
    assert a.sources[0] == "baseline"


def test_a_run_keeps_the_settings_its_llm_sampler_was_built_with(toy_surface: Path) -> None:
    problem = make_problem(str(toy_surface))
    record = run_once(problem, "llm:random", 0, 4)
    assert record.settings.startswith("schedule=AdaptiveSchedule(") and "choose=Choose(" in record.settings
    assert run_once(problem, "tpe", 0, 4).settings == ""


def test_a_folder_whose_llm_runs_were_built_otherwise_is_refused_not_mixed(tmp_path: Path, toy_surface: Path) -> None:
    # Runs of llm:random recorded when the default schedule was another: one name, two arms.
    problem = make_problem(str(toy_surface))
    store = RunStore(tmp_path / "runs.jsonl")
    old = run_once(problem, "llm:random+adaptive", 0, 4)
    old.arm = "llm:random"
    store.add(old)
    out = compare("--problem", str(toy_surface), "--arms", "tpe,llm:random", "--seeds", "2", "--trials", "4",
                  "--out", str(tmp_path))
    assert out.returncode == 2
    assert "holds runs of llm:random built with schedule=AdaptiveSchedule(" in out.stderr
    assert "early_round_trials=None" in out.stderr and "give a new --out folder" in out.stderr
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 1  # nothing ran
    # Runs recorded before settings were kept say nothing, and the folder is resumed.
    old.settings = ""
    (tmp_path / "runs.jsonl").write_text(json.dumps(asdict(old)) + "\n")
    assert compare("--problem", str(toy_surface), "--arms", "llm:random", "--seeds", "1", "--trials", "4",
                   "--out", str(tmp_path)).returncode == 0


def test_runs_recorded_before_a_field_was_added_at_its_default_are_the_same_arm(tmp_path: Path, toy_surface: Path) -> None:
    from optbench.protocol import same_settings

    problem = make_problem(str(toy_surface))
    now = run_once(problem, "llm:random+unvetted", 0, 4)  # vet_writes at Choose's default, False
    assert ", vet_writes=False)" in now.settings
    before = now.settings.replace(", vet_writes=False)", ")")  # as recorded without the field
    assert same_settings(before, now.settings)
    assert not same_settings(before, now.settings.replace("vet_writes=False", "vet_writes=True"))
    assert not same_settings(before.replace("from_trial=10", "from_trial=9"), now.settings)
    # compare.py resumes such a folder.
    old = run_once(problem, "llm:random+unvetted", 0, 4)
    old.settings = before
    (tmp_path / "runs.jsonl").write_text(json.dumps(asdict(old)) + "\n")
    assert compare("--problem", str(toy_surface), "--arms", "llm:random+unvetted", "--seeds", "2",
                   "--trials", "4", "--out", str(tmp_path)).returncode == 0
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 2


def test_several_problems_run_in_one_invocation_each_into_its_own_folder(tmp_path: Path) -> None:
    out = compare("--problem", "ackley-mixed,styblinski-tang-mixed", "--arms", "random,tpe", "--seeds", "2",
                  "--trials", "5", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    for problem in ("ackley-mixed", "styblinski-tang-mixed"):
        result = json.loads((tmp_path / problem / "results.json").read_text())
        assert result["problem"] == problem and set(result["arms"]) == {"random", "tpe"}
        # the command that reproduces a table names every problem of the invocation
        assert "--problem ackley-mixed,styblinski-tang-mixed" in result["settings"]["command"]
    assert not (tmp_path / "results.json").exists()
    assert "compare: 1 problem" not in out.stdout and out.stdout.count("compare: ") >= 4


@pytest.mark.skipif(importlib.util.find_spec("nevergrad") is None, reason="needs the bench extra (nevergrad)")
def test_every_other_arm_is_set_against_the_peers_at_each_checkpoint(tmp_path: Path) -> None:
    out = compare("--problem", "ackley-mixed", "--arms", "tpe,ngopt,llm:random+ngopt", "--seeds", "3",
                  "--trials", "6", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    report = (tmp_path / "results.md").read_text()
    assert "Against each of the field's optimisers at each checkpoint" in report
    section = report.split("Against each of the field's optimisers", 1)[1].split("\n\n")[1]  # its table
    assert "| arm | @5 | @6 |" in section
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| arm")]
    assert [row.split(" |")[0] for row in rows] == ["| tpe", "| llm:random+ngopt (stand-in, not a model)"]
    assert all(row.count("`ngopt`") == 2 for row in rows)  # one peer: it is named in every cell
    assert all("3 seeds" in row for row in rows)
