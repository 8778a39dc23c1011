"""One run at a time on a study: the claim, its holder's identity, takeover after a crash,
and ``atune-bridge restore``.

The process tests hold a run at a chosen moment (its model call, a re-ranking or confirmation
measurement, its baseline) with a gate, a file the run waits for, and start a second
``atune-bridge`` meanwhile: it must exit 1 naming the holder, without a traceback, having read
and set nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from atune_bridge import StudyBusyError
from atune_bridge._runner import _claim
from atune_bridge._runner._claim import STUDY_CLAIM, Holder, StudyClaim, process_start

from toy_project import ORIGINAL, Toy, copy_toy

A = {"workers": 2, "cache": 512, "mode": "safe", "ratio": 0.5}
B = {"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.5}
BEST = {"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.3}


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return copy_toy(tmp_path)


def record(pid: int, started: int | None, *, host: str | None = None, heartbeat: float | None = None) -> dict:
    now = time.time()
    return {"host": host or socket.gethostname(), "pid": pid, "started": started, "boot": _claim._boot_id(),
            "purpose": "tune", "since": now, "heartbeat": now if heartbeat is None else heartbeat}


@pytest.fixture
def sleeper() -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


# --------------------------------------------------------------------------- the claim


def test_a_second_claim_on_a_study_is_refused_naming_the_holder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    first = StudyClaim(url, "s", "tune")
    first.lock()
    try:
        with pytest.raises(StudyBusyError, match=rf"another run holds it: `atune-bridge tune`, process {os.getpid()} on this host"):
            StudyClaim(url, "s", "restore").lock()
        other = StudyClaim(url, "other study", "tune")
        other.lock()  # another study of the same file is free
        other.release()
    finally:
        first.release()
    assert [p.name for p in tmp_path.iterdir() if ".claim-" in p.name] == []  # the lock file is removed
    again = StudyClaim(url, "s", "tune")
    again.lock()
    again.release()


def test_a_killed_holders_claim_is_free_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    code = ("import sys, time; from atune_bridge._runner._claim import StudyClaim; "
            f"StudyClaim({url!r}, 's', 'tune').lock(); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StudyBusyError, match=f"process {holder.pid} on this host"):
            StudyClaim(url, "s", "tune").lock()
    finally:
        holder.kill()  # kill -9: no chance to let go
        holder.wait()
    claim = StudyClaim(url, "s", "tune")
    claim.lock()  # the kernel let go of the lock with the process
    claim.release()


def test_a_recorded_holder_is_alive_only_with_its_process_id_and_start_time(sleeper: subprocess.Popen[bytes]) -> None:
    started = process_start(sleeper.pid)
    assert started is not None
    assert Holder.parse(record(sleeper.pid, started)).alive()
    # the same id with another start time: the holder died and the id was given to another process
    assert not Holder.parse(record(sleeper.pid, started - 100)).alive()
    assert not Holder.parse(dict(record(sleeper.pid, started), boot="an-earlier-boot")).alive()
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert not Holder.parse(record(dead.pid, None)).alive()


def test_another_hosts_record_holds_while_its_heartbeat_is_fresh() -> None:
    assert Holder.parse(record(1, 5, host="elsewhere", heartbeat=time.time() - 10)).alive()
    assert not Holder.parse(record(1, 5, host="elsewhere", heartbeat=time.time() - _claim.LEASE_SECONDS - 1)).alive()


def test_the_record_is_renewed_while_held_and_cleared_on_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_claim, "HEARTBEAT_SECONDS", 0.05)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = optuna.create_study(storage=url, study_name="s")
    claim = StudyClaim(url, "s", "tune")
    claim.lock()
    claim.record(study._storage, study._study_id)
    first = study._storage.get_study_user_attrs(study._study_id)[STUDY_CLAIM]
    assert first["pid"] == os.getpid() and first["started"] == process_start(os.getpid())
    time.sleep(0.5)
    later = study._storage.get_study_user_attrs(study._study_id)[STUDY_CLAIM]
    assert later["heartbeat"] > first["heartbeat"]
    claim.release()
    assert study._storage.get_study_user_attrs(study._study_id)[STUDY_CLAIM] is None


# --------------------------------------------------------------------------- the runner


def test_a_study_held_by_a_live_run_is_not_touched(toy: Toy, sleeper: subprocess.Popen[bytes]) -> None:
    toy.runner(n_trials=1).run()
    toy.study().set_user_attr(STUDY_CLAIM, record(sleeper.pid, process_start(sleeper.pid)))
    sets, benches = len(toy.log("set.log")), len(toy.log("bench.log"))
    with pytest.raises(StudyBusyError, match=f"process {sleeper.pid} on this host"):
        toy.runner(n_trials=3).run()
    assert len(toy.study().trials) == 1
    assert (len(toy.log("set.log")), len(toy.log("bench.log"))) == (sets, benches)


def test_a_dead_runs_process_id_given_to_another_process_does_not_block_resume(
        toy: Toy, sleeper: subprocess.Popen[bytes]) -> None:
    # A run killed with -9 mid-trial left its claim record and a RUNNING trial; the system gave
    # its process id to an unrelated process (here: the sleeper, with another start time).
    toy.runner(n_trials=1).run()
    study = toy.study()
    trial = study.ask()
    trial.set_user_attr("runner", {"pid": sleeper.pid, "host": socket.gethostname()})
    study.set_user_attr(STUDY_CLAIM, record(sleeper.pid, process_start(sleeper.pid) - 1000))
    result = toy.runner(n_trials=3).run()
    trials = toy.study().trials
    assert trials[1].state is TrialState.FAIL
    assert trials[1].user_attrs["fail_reason"].startswith("left RUNNING by an earlier run")
    assert len(trials) == 3 and result.applied == "original values"
    assert toy.conf() == ORIGINAL
    assert toy.study().user_attrs[STUDY_CLAIM] is None


def test_values_that_do_not_read_back_as_set_are_not_reported_restored(toy: Toy) -> None:
    # cache's set exits 0 without writing the original value 128: only reading it back tells.
    server = toy.server_path.read_text().replace(
        'set: "sh set_kv.sh cache $value"', 'set: "[ $value = 128 ] || sh set_kv.sh cache $value"')
    toy.server_path.write_text(server)
    toy.runner(n_trials=1).run()
    toy.enqueue({"workers": 2, "cache": 256, "mode": "safe", "ratio": 0.5})
    result = toy.runner(n_trials=2).run()
    assert result.restore_error == "read back with each get after setting them, cache is 256 (set 128)"
    assert result.left_changed == {"cache": "256"} and result.applied == ""
    assert toy.study().user_attrs["atune_applied"].startswith("left changed: cache=256 (setting the original values failed")


# --------------------------------------------------------------------------- real processes


def gated_client(toy: Toy, at: int) -> str:
    """A client whose ``at``-th benchmark call writes ``waiting`` and waits for the file ``go``."""
    (toy.root / "gate.sh").write_text(
        "echo call >> gate.log\n"
        f"if [ \"$(wc -l < gate.log)\" -eq {at} ]; then\n"
        "  touch waiting; while [ ! -f go ]; do sleep 0.05; done\nfi\n")
    text = toy.client_path().read_text().replace('benchmark: "sh bench.sh"', 'benchmark: "sh gate.sh && sh bench.sh"')
    (toy.root / "gated_client.yaml").write_text(text)
    return "gated_client.yaml"


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)


def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"{path.name} never appeared; the run said:\n{out}\n{err}")
        time.sleep(0.05)


def service_state(toy: Toy) -> tuple:
    return toy.conf(), toy.running(), toy.log("set.log"), toy.log("bench.log"), toy.log("restarts.log")


def assert_refused(done: subprocess.CompletedProcess[str], holder: int) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"another run holds it: `atune-bridge tune`, process {holder} on this host" in done.stderr
    assert "Nothing was read or set by this one" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


MODEL_DRIVER = """\
import pathlib, sys, time
import optuna_llm_sampler
root = pathlib.Path(sys.argv[1])
class Gated:  # blocks its call until the file go exists
    def invoke(self, messages):
        (root / "waiting").write_text("")
        while not (root / "go").exists():
            time.sleep(0.05)
        return '{"configurations": [{"params": %s, "rationale": "r"}]}'
optuna_llm_sampler.make_chat_model = lambda spec, **kwargs: Gated()
base = optuna_llm_sampler.LLMSampler
def model_first(*args, **kwargs):
    if kwargs.get("schedule", "adaptive") == "adaptive":  # the runner passes the default's name
        kwargs["schedule"] = optuna_llm_sampler.AdaptiveSchedule(model_first=True, early_share=0.5)
    return base(*args, **kwargs)
optuna_llm_sampler.LLMSampler = model_first
from atune_bridge._cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.timeout(180)
def test_a_second_run_during_the_first_runs_model_call_is_refused_and_changes_nothing(toy: Toy) -> None:
    import json

    driver = toy.root / "driver.py"
    driver.write_text(MODEL_DRIVER % json.dumps(BEST))
    args = toy.cli_args("--trials", "3", "--llm", "gated")
    first = start([sys.executable, str(driver), str(toy.root), *args[3:]], toy.root)
    wait_for(toy.root / "waiting", first)
    # Inside study.ask(): trial 1 is RUNNING, but nothing on it names its run yet.
    (asked,) = toy.study().get_trials(states=(TrialState.RUNNING,))
    assert "runner" not in asked.user_attrs
    before = service_state(toy)
    second = toy.cli("--trials", "5")
    assert service_state(toy) == before
    (toy.root / "go").write_text("")
    out, err = first.communicate(timeout=120)
    assert_refused(second, first.pid)
    assert first.returncode == 0, out + err
    assert "Traceback" not in out + err
    trials = toy.study().trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert trials[1].user_attrs["source"] == "llm" and trials[1].params == BEST
    assert len(toy.log("bench.log")) == 3 and toy.conf() == ORIGINAL


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("phase", "flags", "at"), [
    ("re-ranking", ("--confirm", "2", "--rerank", "2"), 5),  # calls 1-3: trials; 4-5: the re-ranking
    ("confirmation", ("--confirm", "2", "--rerank", "0"), 5),  # calls 4-7: best, baseline, best, baseline
])
def test_a_second_run_during_the_re_ranking_or_confirmation_is_refused(
        toy: Toy, phase: str, flags: tuple[str, ...], at: int) -> None:
    client = gated_client(toy, at)
    assert toy.cli("--trials", "1", client=client).returncode == 0  # the baseline: call 1
    toy.enqueue(A, B)  # two configurations to re-rank, whatever TPE would draw: calls 2-3
    first = start(toy.cli_args("--trials", "3", *flags, client=client), toy.root)
    wait_for(toy.root / "waiting", first)
    assert not toy.study().get_trials(states=(TrialState.RUNNING,))  # nothing else marks the study busy
    before = service_state(toy)
    second = toy.cli("--trials", "3", *flags)
    refused_restore = subprocess.run(
        [sys.executable, "-m", "atune_bridge", "restore", "--server", str(toy.server_path),
         "--storage", toy.storage, "--workdir", str(toy.root)], capture_output=True, text=True, timeout=60)
    assert service_state(toy) == before
    (toy.root / "go").write_text("")
    out, err = first.communicate(timeout=120)
    assert_refused(second, first.pid)
    assert refused_restore.returncode == 1 and "another run holds it" in refused_restore.stderr
    assert first.returncode == 0, out + err
    confirm = toy.study().user_attrs["atune_bridge:confirm"]
    assert not confirm.get("interrupted") and confirm["n"] == 2
    assert len(toy.log("gate.log")) == {"re-ranking": 9, "confirmation": 7}[phase]  # nobody else measured
    assert toy.conf() == ORIGINAL


@pytest.mark.timeout(180)
def test_runs_started_together_on_a_new_file_one_per_study_the_others_refused(toy: Toy) -> None:
    client = gated_client(toy, 1)  # the baseline of whichever run takes study toy waits
    (toy.root / "study.db").unlink(missing_ok=True)
    runs = [start(toy.cli_args("--trials", "2", *extra, client=client), toy.root)
            for extra in ((), (), ("--study", "other", "--client", str(toy.client_path()), "--trials", "1"))]
    deadline = time.monotonic() + 90
    while sum(r.poll() is not None for r in runs) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    (toy.root / "go").write_text("")
    done = [(r.pid, r.wait(90), *r.communicate()) for r in runs]
    for pid, code, out, err in done:
        assert "Traceback" not in out + err, out + err
    toy_runs = sorted(done[:2], key=lambda d: d[1])
    assert [code for _, code, _, _ in toy_runs] == [0, 1], done
    assert f"process {toy_runs[0][0]} on this host" in toy_runs[1][3]
    assert done[2][1] == 0, done[2]
    assert len(toy.study("toy").trials) == 2 and len(toy.study("other").trials) == 1


@pytest.mark.timeout(180)
def test_restore_sets_a_killed_runs_originals_back_and_reads_them(toy: Toy) -> None:
    client = gated_client(toy, 3)  # trial 2 waits
    first = start(toy.cli_args("--trials", "6", client=client), toy.root)
    wait_for(toy.root / "waiting", first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    left = toy.conf()
    assert left != ORIGINAL
    restore = [sys.executable, "-m", "atune_bridge", "restore", "--server", str(toy.server_path),
               "--storage", toy.storage, "--workdir", str(toy.root)]
    done = subprocess.run(restore, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Took the study over from `atune-bridge tune`, process {first.pid}" in done.stdout
    assert "Failed the trial(s) it left running: 2." in done.stdout
    assert "(read back with each get: they match)." in done.stdout
    assert toy.conf() == ORIGINAL and toy.running()["workers"] == ORIGINAL["workers"]
    trial = toy.study().trials[2]
    assert trial.state is TrialState.FAIL and "set back by atune-bridge restore" in trial.user_attrs["fail_reason"]
    assert toy.study().user_attrs["atune_applied"] == "original values (set back by atune-bridge restore)"
    again = subprocess.run(restore, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "Nothing to set back" in again.stdout
    missing = subprocess.run([*restore, "--study", "nope"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no study 'nope'" in missing.stderr and "Traceback" not in missing.stderr
