"""``atune-bridge tune``: its flags, its progress lines, its output and its exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from atune_bridge._cli import build_parser
from atune_bridge._runner import TrialReport
from atune_bridge._tune_cmd import progress_line

from toy_project import ORIGINAL, Toy, copy_toy, noisy_client


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return copy_toy(tmp_path)


def test_the_flags_and_their_defaults() -> None:
    args = build_parser().parse_args(["tune", "--server", "s.yaml", "--client", "c.yaml"])
    assert (args.server, args.client) == ("s.yaml", "c.yaml")
    assert args.storage == "sqlite:///atune-bridge.db"
    assert (args.study, args.llm, args.trials, args.knowledge) == (None, "local", None, None)
    assert (args.multi_objective, args.apply_best, args.seed, args.output) == (False, False, None, None)
    assert (args.benchmark_timeout, args.command_timeout) == (1800.0, 120.0)
    assert (args.confirm, args.target_gain, args.patience, args.warm_start) == (3, None, None, [])
    assert (args.rerank, args.rerank_repeats) == (None, 1)  # None: 3 when confirming, else off
    assert args.artifact_dir is None
    assert args.schedule == "adaptive"
    args = build_parser().parse_args([
        "tune", "--server", "s", "--client", "c", "--storage", "sqlite:///x.db", "--study", "n",
        "--llm", "none", "--trials", "7", "--knowledge", "k.txt", "--multi-objective", "--seed", "3",
        "--apply-best", "--output", "out", "--benchmark-timeout", "60", "--command-timeout", "5",
        "--workdir", "w",
    ])
    assert (args.storage, args.study, args.llm, args.trials, args.knowledge) == ("sqlite:///x.db", "n", "none", 7, "k.txt")
    assert (args.multi_objective, args.seed, args.apply_best, args.output) == (True, 3, True, "out")
    assert (args.benchmark_timeout, args.command_timeout, args.workdir) == (60.0, 5.0, "w")


def test_importing_the_command_stays_cheap() -> None:
    code = ("import sys, atune_bridge._tune_cmd; "
            "print(sorted(m for m in ('plotly', 'langchain_core', 'llama_cpp') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def report(**kwargs: object) -> TrialReport:
    base: dict[str, object] = dict(
        number=3, state="COMPLETE", source="llm", metrics={"rps": 912.5}, values=(912.5,), reason=None,
        restarted=True, finished=4, budget=20, best_number=2, best_metrics={"rps": 990.0}, best_values=(990.0,),
    )
    base.update(kwargs)
    return TrialReport(**base)  # type: ignore[arg-type]


def test_a_progress_line_names_trial_proposer_metric_and_best() -> None:
    assert progress_line(report(), ["rps"]) == \
        "trial  3 [ 4/20] llm          rps=912.50 (restarted) | best rps=990.00 (trial 2)"
    failed = report(state="FAIL", source="TPESampler", metrics={}, reason="benchmark exited with status 3")
    assert progress_line(failed, ["rps"]) == \
        "trial  3 [ 4/20] TPESampler   FAILED: benchmark exited with status 3 | best rps=990.00 (trial 2)"
    weighted = report(metrics={"rps": 912.5, "latency": 3.0}, values=(12.345,), restarted=False,
                      best_metrics={"rps": 990.0, "latency": 2.0}, best_values=(20.0,))
    assert progress_line(weighted, ["rps", "latency"]) == (
        "trial  3 [ 4/20] llm          rps=912.50 latency=3.00 (+12.35% weighted)"
        " | best rps=990.00 latency=2.00 (+20.00%) (trial 2)"
    )


def test_a_run_prints_progress_the_best_configuration_and_where_to_look(toy: Toy) -> None:
    # no --storage and no --output: the defaults land in the working directory
    args = [a for a in toy.cli_args("--trials", "4")]
    for flag in ("--storage", "--output"):
        i = args.index(flag)
        del args[i:i + 2]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=toy.root)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Tuning project 'toy' as study 'toy' in sqlite:///atune-bridge.db (4 trials, llm none)"
    progress = [line for line in lines if line.startswith("trial ")]
    assert [line.split()[1] for line in progress] == ["0", "1", "2", "3"]
    assert progress[0].startswith("trial 0 [1/4] baseline     rps=656.00 | best rps=656.00 (trial 0)")
    assert "Left applied: original values." in lines
    best_line = next(line for line in lines if line.startswith("Best configuration (A-Tune): "))
    folder = toy.root / "atune-bridge-output" / "toy"
    assert f"Report: {Path('atune-bridge-output/toy/index.html')}" in lines
    assert "Open the same study: optuna-dashboard sqlite:///atune-bridge.db" in lines
    assert (toy.root / "atune-bridge.db").exists()
    assert (folder / "best.txt").read_text().strip() == best_line.split(": ", 1)[1]
    assert json.loads((folder / "summary.json").read_text())["study_name"] == "toy"
    assert (folder / "index.html").stat().st_size > 0
    assert toy.conf() == ORIGINAL


def test_artifact_dir_keeps_each_model_calls_prompt_and_reply_there(toy: Toy, tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    # 8 trials: the default schedule's first model trial is trial 7.
    args = toy.cli_args("--trials", "8", "--llm", "random:0", "--artifact-dir", str(folder))
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=toy.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len([f for f in folder.rglob("*") if f.is_file()]) >= 2  # the round's prompt and reply
    args = toy.cli_args("--trials", "8", "--llm", "random:0", "--artifact-dir", "none",
                        "--storage", f"sqlite:///{tmp_path / 'other.db'}")
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=toy.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "other.artifacts").exists()


def test_schedule_alternating_runs_the_two_and_two(toy: Toy) -> None:
    import optuna

    done = toy.cli("--trials", "9", "--llm", "random:0", "--schedule", "alternating", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    study = optuna.load_study(study_name="toy", storage=toy.storage)
    sources = [t.user_attrs.get("source") for t in sorted(study.trials, key=lambda t: t.number)]
    assert sources[:9] == ["baseline", "llm", "llm", "TPESampler", "TPESampler",
                           "llm", "llm", "TPESampler", "TPESampler"]
    # Rounds of two, the model writing both configurations: no picks among TPE's draws.
    assert not any("llm_choice" in t.user_attrs for t in study.trials)


def test_the_schedules_are_the_samplers_presets() -> None:
    from optuna_llm_sampler import PRESETS

    from atune_bridge._runner._config import SCHEDULES

    assert SCHEDULES == tuple(PRESETS)


def test_an_unknown_schedule_is_refused_naming_the_choices(toy: Toy) -> None:
    done = toy.cli("--schedule", "fast")
    assert done.returncode == 2
    assert "adaptive" in done.stderr and "alternating" in done.stderr


def test_a_file_that_is_not_a_project_is_an_error_naming_it(toy: Toy) -> None:
    args = toy.cli_args()
    args[args.index("--client") + 1] = str(toy.server_path)  # a server file given as the client
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=toy.root)
    assert done.returncode == 1
    assert done.stderr.startswith(f"atune-bridge tune: error: {toy.server_path}: not an A-Tune client file")


def test_a_bad_trial_count_is_refused(toy: Toy) -> None:
    done = toy.cli("--trials", "0")
    assert done.returncode == 1 and "--trials must be at least 1, got 0" in done.stderr
    assert not (toy.root / "study.db").exists()


def test_a_failing_baseline_exits_1_with_the_reason(toy: Toy) -> None:
    (toy.root / "running.conf").write_text("workers=1\n")
    done = toy.cli("--trials", "3")
    assert done.returncode == 1
    assert "the baseline (trial 0) failed: benchmark exited with status 3: toy: service crashed" in done.stderr


def test_a_failed_restore_exits_3_naming_what_was_left_changed(toy: Toy) -> None:
    # cache's set refuses the original value 128: tuning works, setting it back fails.
    server = toy.server_path.read_text().replace(
        'set: "sh set_kv.sh cache $value"', 'set: "test $value != 128 && sh set_kv.sh cache $value"')
    toy.server_path.write_text(server)
    assert toy.cli("--trials", "1").returncode == 0  # the baseline: nothing to set back
    toy.enqueue({"workers": 2, "cache": 256, "mode": "safe", "ratio": 0.5})
    done = toy.cli("--trials", "2")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "could not set the values back: set of cache=128" in done.stderr
    assert "Left changed: cache=unknown" in done.stderr
    assert toy.conf()["cache"] == "256"


def test_a_stopped_run_says_why_and_the_confirmation_is_printed(toy: Toy) -> None:
    assert toy.cli("--trials", "1").returncode == 0
    toy.enqueue({"workers": 2, "cache": 448, "mode": "safe", "ratio": 0.5})  # +26.7% over the baseline
    done = toy.cli("--trials", "10", "--target-gain", "10", "--confirm", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert ("Stopped before the budget (target_gain): trial 1 reached a gain of +26.68% over the "
            "baseline (target 10%).") in lines
    assert lines[lines.index(next(x for x in lines if x.startswith("Confirmed (trial 1"))) + 1] == (
        "  rps: best 831.00 ± 0.00 (n=2), baseline 656.00 ± 0.00 (n=2): gain +26.68% [+26.68%, +26.68%] -> improved"
    )
    assert toy.conf() == ORIGINAL


def test_meaningless_confirm_patience_and_target_are_refused(toy: Toy) -> None:
    for flags, message in ((("--confirm", "1"), "--confirm must be 0 (off) or at least 2, got 1"),
                           (("--patience", "0"), "--patience must be at least 1, got 0"),
                           (("--target-gain", "-3"), "--target-gain must be a positive percentage, got -3.0")):
        done = toy.cli(*flags)
        assert done.returncode == 1 and message in done.stderr


def test_by_default_a_confirmed_run_re_ranks_its_top_3_and_says_which_it_crowned(toy: Toy) -> None:
    client = noisy_client(toy, [1.0, 1.3])  # the baseline as it is, trial 1 x1.3 once, then as they are
    assert toy.cli("--trials", "1", client=client).returncode == 0
    steady = {"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.3}  # 1060 rps
    toy.enqueue({**steady, "mode": "safe", "cache": 192}, steady, {**steady, "workers": 5})  # 875, 1060, 1050
    done = toy.cli("--trials", "4", "--confirm", "2", "--apply-best", client=client)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    crowned = "trial 2 crowned after re-measuring the top 3 (trial 1 had the best single measurement: a lucky draw)"
    assert f"Re-ranked (rps as measured, mean of each trial's measurement and the new ones): {crowned}." in lines
    assert "  trial 1: mean 1006.25 (n=2; trials 1137.50; again 875.00)" in lines
    assert "Left applied: best configuration (trial 2, crowned over trial 1 by re-measuring the top trials)." in lines
    assert "Best: trial 2 (enqueued), crowned over trial 1 by re-measuring: rps=1060.00" in lines
    assert any(line.startswith("Verified gain: ") and line.endswith(crowned) for line in lines)
    assert (toy.root / "report" / "best.txt").read_text() == "workers=6,cache=512,mode=very fast,ratio=0.3\n"
    assert toy.conf() == {"workers": "6", "cache": "512", "mode": "very fast", "ratio": "0.3"}


def test_meaningless_re_ranking_settings_are_refused(toy: Toy) -> None:
    for flags, message in ((("--confirm", "3", "--rerank", "1"), "--rerank must be 0 (off) or at least 2, got 1"),
                           (("--rerank", "3"), "--rerank 3 needs --confirm: the crowned configuration's gain is "
                                               "what it verifies; give --confirm 3 or --rerank 0"),
                           (("--confirm", "3", "--rerank-repeats", "0"), "--rerank-repeats must be at least 1, got 0")):
        done = toy.cli(*flags)
        assert done.returncode == 1 and message in done.stderr, done.stderr
    assert not (toy.root / "study.db").exists()  # refused before anything ran
