"""The MariaDB study's contract: a private server its scripts start and stop, knobs that round-trip
into the running server, a benchmark that measures, and run.sh tuning it through
``atune-bridge tune`` and setting the values in force back on every exit.

Each test gets its own work folder and a free loopback port, so it never meets the study's
default work folder, another test's server or the system's MariaDB. The data directory and
sysbench's (small) tables are made once per module and copied into each test's folder.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from atune_bridge import load_client, load_server
from service_helpers import StudyShell, answers, free_port, have, live_pids_using, other_value

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "studies" / "mariadb"
SCRIPTS = STUDY / "scripts"
SERVER = STUDY / "mariadb_server.yaml"
CLIENT = STUDY / "mariadb_client.yaml"


pytestmark = [
    pytest.mark.mariadb,
    pytest.mark.skipif(
        not (have("mariadbd") and have("mariadb-install-db") and have("sysbench")),
        reason="the MariaDB study needs mariadb-server and sysbench from Debian's packages: "
               "apt-get install -y mariadb-server sysbench",
    ),
]


def _study_env(work: Path, port: int) -> dict[str, str]:
    return dict(os.environ, MARIADB_STUDY_DIR=str(work), MARIADB_STUDY_PORT=str(port),
                MARIADB_STUDY_TABLES="2", MARIADB_STUDY_TABLE_SIZE="1000",
                MARIADB_STUDY_DURATION="1", MARIADB_STUDY_WARMUP="0", MARIADB_STUDY_THREADS="4")


class Study(StudyShell):
    """One private study instance: a work folder, a port, and its scripts."""

    def __init__(self, work: Path, port: int) -> None:
        super().__init__(SCRIPTS, _study_env(work, port))
        self.work = work
        self.port = port

    def sql(self, query: str) -> str:
        return subprocess.run(
            ["mariadb", "--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", str(self.port), "-u", "sbtest",
             "-psbtest", "--batch", "--skip-column-names", "-e", query, "sbtest"],
            text=True, capture_output=True, check=True, timeout=30).stdout.strip()

    def server_pids(self) -> list[int]:
        return [p for p in live_pids_using(self.work)
                if f"--defaults-file={self.work}/conf/my.cnf" in Path(f"/proc/{p}/cmdline").read_text().replace("\0", " ")]

    def params(self) -> str:
        path = self.work / "params.env"
        return path.read_text() if path.exists() else ""


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A work folder with its data directory and sysbench's tables, made once (server stopped)."""
    work = tmp_path_factory.mktemp("mdb") / "work"
    s = Study(work, free_port())
    s.script("start.sh")
    s.script("stop.sh")
    assert s.server_pids() == []
    return work


@pytest.fixture
def study(template: Path, tmp_path: Path):
    work = tmp_path / "work"
    shutil.copytree(template, work, symlinks=True)
    s = Study(work, free_port())
    yield s
    s.script("stop.sh", check=False)
    assert live_pids_using(s.work) == [], "a process of the study is still running"


# --------------------------------------------------------------------------- files


def test_study_files_load_without_problems() -> None:
    spec = load_server(SERVER)
    assert spec.problems == (), spec.problems
    assert len(spec.knobs) >= 12
    assert all(k.desc and k.get and k.set and k.needrestart for k in spec.knobs)
    # server settings only: nothing that changes the machine (no sysctl, no /proc or /sys)
    assert all("." not in k.name and "/proc" not in k.set and "/sys" not in k.set for k in spec.knobs)
    for name in ("innodb_buffer_pool_size", "innodb_log_file_size", "innodb_flush_log_at_trx_commit",
                 "sync_binlog", "table_open_cache", "max_connections"):
        spec.knob(name)
    spec.search_space()
    client = load_client(CLIENT)
    assert client.problems == ()
    assert [(e.name, e.type) for e in client.evaluations] == [("tps", "negative")]
    assert len((STUDY / "knowledge.md").read_text()) < 2000


def test_baseline_values_lie_in_the_domain(tmp_path: Path) -> None:
    s = Study(tmp_path / "work", free_port())
    for knob in load_server(SERVER).knobs:
        value = s.sh(knob.get).stdout.strip()
        assert knob.contains(value), f"{knob.name}: baseline {value!r} outside its domain"
    assert not s.work.exists(), "reading values must not create the work folder"


# --------------------------------------------------------------------------- scripts


def test_start_and_stop_a_private_server(study: Study) -> None:
    spec = load_server(SERVER)
    study.sh(spec.startworkload)
    assert answers(study.port)
    [pid] = study.server_pids()
    cnf = (study.work / "conf" / "my.cnf").read_text()
    assert f"datadir={study.work}/data" in cnf and f"socket={study.work}/run/mariadb.sock" in cnf
    assert f"port={study.port}" in cnf and "bind-address=127.0.0.1" in cnf
    assert "/etc/mysql" not in cnf and "/var/lib/mysql" not in cnf and "/run/mysqld" not in cnf
    assert study.sql("SELECT @@datadir") == f"{study.work}/data/"
    assert study.sql("SELECT @@log_bin") == "1"
    # starting again replaces the running server: one server, answering
    study.sh(spec.startworkload)
    assert study.server_pids() not in ([], [pid]) and len(study.server_pids()) == 1
    study.sh(spec.stopworkload)
    assert study.server_pids() == [] and not answers(study.port)
    study.sh(spec.stopworkload)  # idempotent


def test_a_killed_server_does_not_block_a_new_start(study: Study) -> None:
    study.script("start.sh")
    [pid] = study.server_pids()
    os.kill(pid, signal.SIGKILL)  # no clean shutdown: the next start recovers
    time.sleep(0.3)
    study.script("start.sh")
    assert study.sql("SELECT COUNT(*) FROM sbtest1") == "1000"
    (study.work / "run" / "mariadb.pid").write_text("1\n")  # a pid file naming someone else
    study.script("stop.sh")
    assert study.server_pids() == []
    assert os.path.exists("/proc/1")  # pid 1 untouched


def test_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("not the study's")
    s = Study(foreign, free_port())
    for name in ("start.sh", "bench.sh"):
        result = s.script(name, check=False)
        assert result.returncode != 0 and "refusing" in result.stderr
    for args in (("set", "sync_binlog", "1"), ("save",)):
        assert s.script("param.sh", *args, check=False).returncode != 0
    assert sorted(p.name for p in foreign.iterdir()) == ["keep.txt"]


def test_set_refuses_unknown_knobs_and_bad_values(tmp_path: Path) -> None:
    s = Study(tmp_path / "work", free_port())
    for args in (("nope", "1"), ("innodb_flush_method", "nosync"), ("table_open_cache", "100;reboot"),
                 ("sync_binlog", "-1"), ("innodb_buffer_pool_size", "1G"), ("innodb_doublewrite", "on'")):
        result = s.script("param.sh", "set", *args, check=False)
        assert result.returncode != 0, args
    assert not (s.work / "params.env").exists()


def test_every_knob_round_trips_into_the_running_server(study: Study) -> None:
    spec = load_server(SERVER)
    baseline, chosen = {}, {}
    for knob in spec.knobs:
        baseline[knob.name] = study.sh(knob.get).stdout.strip()
        value = other_value(knob, baseline[knob.name])
        study.sh(knob.set.replace("$value", value))
        assert study.sh(knob.get).stdout.strip() == value, knob.name
        chosen[knob.name] = value
    # all values changed at once still make a configuration the server starts with, in force
    study.sh(spec.startworkload)
    for name, value in chosen.items():
        shown = study.sql(f"SELECT @@{name}")
        assert shown == value or (value, shown) in {("ON", "1"), ("OFF", "0")}, (name, value, shown)
    study.sh(spec.stopworkload)
    study.script("param.sh", "reset")
    assert {k.name: study.sh(k.get).stdout.strip() for k in spec.knobs} == baseline


def test_benchmark_prints_a_positive_tps(study: Study) -> None:
    client = load_client(CLIENT)
    out = study.sh(client.benchmark).stdout  # starts the server itself
    assert out.startswith("tps "), out
    # the evaluation as the runner runs it: $out from the environment
    get = client.evaluations[0].get.replace("$out", "'\"$ATUNE_OUT\"'")
    study.env["ATUNE_OUT"] = out
    assert float(study.sh(get).stdout) > 0
    fields = out.split()
    assert fields[fields.index("threads") + 1] == "4"


# --------------------------------------------------------------------------- run.sh


def _run_sh_env(study: Study, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**study.env, "LLM": "none", "TRIALS": "3", "DURATION": "1", "STORAGE": f"sqlite:///{tmp_path / 'study.db'}",
            "OUTPUT": str(tmp_path / "report"), "PYTHONUNBUFFERED": "1", **extra}


def _tune_available() -> bool:
    return (ROOT / ".venv" / "bin" / "atune-bridge").exists()


needs_venv = pytest.mark.skipif(not _tune_available(), reason="run.sh uses .venv/bin/atune-bridge (scripts/bootstrap.sh)")


@needs_venv
def test_run_sh_tunes_and_sets_the_values_back(study: Study, tmp_path: Path) -> None:
    study.script("param.sh", "set", "sync_binlog", "1")  # in force before the run
    before = study.params()
    result = subprocess.run(["bash", str(STUDY / "run.sh")], cwd=ROOT, env=_run_sh_env(study, tmp_path),
                            text=True, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("trial 0 [1/3] baseline", "Best configuration (A-Tune):", "Verified gain:", "HTML report:",
                 "Dashboard:"):
        assert line in result.stdout, line
    assert (tmp_path / "report" / "index.html").exists()
    trials = optuna.load_study(study_name="mariadb-none", storage=f"sqlite:///{tmp_path / 'study.db'}").trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert trials[0].value > 0, "trial 0 is the measured baseline"
    # the baseline was measured at the study's defaults, and what was in force is back
    assert trials[0].params["sync_binlog"] == "0"
    assert study.params() == before and not (study.work / "params.saved").exists()
    assert study.server_pids() == []


@needs_venv
@pytest.mark.parametrize("how", ["kill -9 of the tuner", "SIGTERM to run.sh"])
def test_run_sh_sets_the_values_back_when_stopped(study: Study, tmp_path: Path, how: str) -> None:
    study.script("param.sh", "set", "table_open_cache", "500")
    before = study.params()
    run = subprocess.Popen(["bash", str(STUDY / "run.sh")], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=_run_sh_env(study, tmp_path, TRIALS="50"))
    deadline = time.monotonic() + 180
    seen = ""
    while not re.search(r"trial +1 \[", seen):  # stop it in the middle of the study
        assert time.monotonic() < deadline and run.poll() is None, seen
        seen += run.stdout.readline()
    if how == "SIGTERM to run.sh":
        run.send_signal(signal.SIGTERM)
    else:
        tuner = subprocess.run(["pgrep", "-f", f"atune-bridge tune.*{tmp_path / 'study.db'}"],
                               capture_output=True, text=True).stdout.split()
        assert len(tuner) == 1, tuner
        os.kill(int(tuner[0]), signal.SIGKILL)
    rest, _ = run.communicate(timeout=120)
    assert run.returncode == (143 if how == "SIGTERM to run.sh" else 1), seen + rest
    assert "values in force before the run are set back" in rest
    assert study.params() == before and not (study.work / "params.saved").exists()
    assert study.server_pids() == []
