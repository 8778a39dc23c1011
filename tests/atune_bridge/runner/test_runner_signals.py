"""The runner as a process: killed with -9 it resumes; sent SIGTERM it sets the values back.

The toy benchmark sleeps on its N-th call when the file ``hang_at`` holds N, writing its pid
to ``hanging``: the tests wait for that file, so the signal lands mid-trial.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from toy_project import ORIGINAL, Toy, copy_toy, pid_alive


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return copy_toy(tmp_path)


def start_hanging(toy: Toy, at: int, *extra: str) -> tuple[subprocess.Popen[str], int]:
    """Start the CLI; return it and the pid of the benchmark hanging on its ``at``-th call."""
    (toy.root / "hang_at").write_text(f"{at}\n")
    proc = subprocess.Popen(toy.cli_args(*extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=toy.root)
    deadline = time.monotonic() + 60
    hanging = toy.root / "hanging"
    while not (hanging.exists() and hanging.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the benchmark never hung; runner output:\n{proc.communicate()[0]}")
        time.sleep(0.05)
    return proc, int(hanging.read_text())


@pytest.mark.timeout(120)
def test_a_killed_run_resumes_without_counting_twice_or_measuring_the_baseline_again(toy: Toy) -> None:
    proc, bench_pid = start_hanging(toy, 4, "--trials", "6")  # trials 0-2 done, trial 3 hangs
    proc.kill()  # kill -9: no chance to clean up
    proc.wait()
    deadline = time.monotonic() + 10
    while pid_alive(bench_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(bench_pid)  # its watcher ended the benchmark's process group
    left = toy.study().trials
    assert [t.state for t in left] == [TrialState.COMPLETE] * 3 + [TrialState.RUNNING]
    assert toy.conf() != ORIGINAL  # trial 3's configuration stayed applied

    again = toy.cli("--trials", "6")
    assert again.returncode == 0, again.stdout + again.stderr
    trials = toy.study().trials
    assert [(t.number, t.params) for t in trials[:4]] == [(t.number, t.params) for t in left]
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3 + [TrialState.FAIL] + [TrialState.COMPLETE] * 2
    assert trials[3].user_attrs["fail_reason"].startswith("left RUNNING by an earlier run")
    assert [t.user_attrs["source"] for t in trials].count("baseline") == 1
    assert len(toy.log("bench.log")) == 6  # baseline + 2 + the killed one + 2: no re-measurement
    assert "trial 4 [5/6]" in again.stdout and "trial 5 [6/6]" in again.stdout
    assert toy.conf() == ORIGINAL  # the resumed run set the original values back at its end
    assert toy.running()["workers"] == ORIGINAL["workers"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_sighup_mid_benchmark_sets_the_original_values_back(toy: Toy, sig: signal.Signals) -> None:
    # SIGHUP: the terminal the run was started from was closed.
    proc, bench_pid = start_hanging(toy, 3, "--trials", "10")  # trial 2 hangs
    applied = toy.conf()
    assert applied != ORIGINAL
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, output
    assert f"Interrupted by {sig.name}" in output
    assert toy.conf() == ORIGINAL
    if applied["workers"] != ORIGINAL["workers"]:
        assert toy.log("restarts.log")[-2:] == ["stop", "start"]
    assert toy.running()["workers"] == ORIGINAL["workers"]
    time.sleep(0.2)
    assert not pid_alive(bench_pid)  # the benchmark was stopped, not left behind
    trials = toy.study().trials
    assert len(trials) == 3
    assert trials[2].state is TrialState.FAIL
    assert trials[2].user_attrs["fail_reason"] == f"interrupted by {sig.name}"
    assert toy.study().user_attrs["atune_applied"] == "original values"


@pytest.mark.timeout(120)
def test_sigterm_with_apply_best_leaves_the_best_so_far_applied(toy: Toy) -> None:
    proc, _ = start_hanging(toy, 4, "--trials", "10", "--apply-best")
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, output
    study = toy.study()
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    best = max(done, key=lambda t: (t.values[0], -t.number))
    expected = ORIGINAL if best.number == 0 else {k: str(v) for k, v in best.params.items()}
    assert toy.conf() == expected
