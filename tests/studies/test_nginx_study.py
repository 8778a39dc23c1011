"""The nginx study's contract: a private nginx its scripts start and stop, knobs that round-trip,
a benchmark that measures, and the whole study running through ``atune-bridge tune``.

Each test gets its own work folder and a free loopback port, so it never meets the study's
default work folder, another test's nginx or the system's nginx.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atune_bridge import load_client, load_server
from service_helpers import StudyShell, answers, free_port, have, live_pids_using, other_value

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "studies" / "nginx"
SCRIPTS = STUDY / "scripts"
SERVER = STUDY / "nginx_server.yaml"
CLIENT = STUDY / "nginx_client.yaml"


pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(
        not (have("nginx") and have("wrk")),
        reason="the nginx study needs nginx and wrk from Debian's packages: apt-get install -y nginx wrk",
    ),
]


class Study(StudyShell):
    """One private study instance: a work folder, a port, and its scripts."""

    def __init__(self, work: Path, port: int) -> None:
        super().__init__(SCRIPTS, dict(
            os.environ,
            NGINX_STUDY_DIR=str(work),
            NGINX_STUDY_PORT=str(port),
            NGINX_STUDY_DURATION="1",
            NGINX_STUDY_CONNECTIONS="16",
        ))
        self.work = work
        self.port = port

    @property
    def master(self) -> int:
        return int((self.work / "logs" / "nginx.pid").read_text())


@pytest.fixture
def study(tmp_path: Path):
    s = Study(tmp_path / "work", free_port())
    yield s
    s.script("stop.sh", check=False)
    assert live_pids_using(s.work, "nginx") == [], "a process of the study is still running"


# --------------------------------------------------------------------------- files


def test_study_files_load_without_problems() -> None:
    for path in (SERVER, STUDY / "nginx_server_netns.yaml"):
        spec = load_server(path)
        assert spec.problems == (), spec.problems
        assert all(k.desc and k.get and k.set for k in spec.knobs)
        spec.search_space()
    for path in (CLIENT, STUDY / "nginx_client_netns.yaml"):
        client = load_client(path)
        assert client.problems == ()
        assert [(e.name, e.type) for e in client.evaluations] == [("rps", "negative")]
    assert len((STUDY / "knowledge.md").read_text()) < 2000


def test_netns_file_has_the_same_nginx_knobs() -> None:
    plain = {k.name: k for k in load_server(SERVER).knobs}
    netns = {k.name: k for k in load_server(STUDY / "nginx_server_netns.yaml").knobs}
    for name, knob in plain.items():
        other = netns[name]
        assert (other.options, other.scope, other.step, other.desc, other.needrestart) == (
            knob.options, knob.scope, knob.step, knob.desc, knob.needrestart)
        assert other.set == knob.set.replace("scripts/param.sh", "scripts/ns.sh param")
    assert {n for n in netns if n not in plain} >= {"net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog"}


def test_baseline_values_lie_in_the_domain(study: Study) -> None:
    for knob in load_server(SERVER).knobs:
        value = study.sh(knob.get).stdout.strip()
        assert knob.contains(value), f"{knob.name}: baseline {value!r} outside its domain"
    assert not study.work.exists(), "reading values must not create the work folder"


# --------------------------------------------------------------------------- scripts


def test_start_and_stop_a_private_nginx(study: Study) -> None:
    spec = load_server(SERVER)
    study.sh(spec.startworkload)
    assert answers(study.port)
    master = study.master
    cmdline = Path(f"/proc/{master}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert f"-p {study.work}/" in cmdline and f"-c {study.work}/conf/nginx.conf" in cmdline
    conf = (study.work / "conf" / "nginx.conf").read_text()
    assert f"listen 127.0.0.1:{study.port}" in conf
    assert "/etc/nginx" not in conf and "/var/" not in conf and "/run/" not in conf
    # starting again replaces the running nginx: one master, listening
    study.sh(spec.startworkload)
    assert study.master != master and not live_pids_using(study.work, "nginx").count(master)
    assert answers(study.port)
    study.sh(spec.stopworkload)
    assert live_pids_using(study.work, "nginx") == []
    assert not (study.work / "logs" / "nginx.pid").exists()
    assert not answers(study.port)
    study.sh(spec.stopworkload)  # idempotent


def test_a_killed_run_does_not_block_a_new_start(study: Study) -> None:
    study.script("start.sh")
    os.kill(study.master, signal.SIGKILL)  # workers are orphaned and keep the port
    time.sleep(0.2)
    study.script("start.sh")
    assert answers(study.port)
    (study.work / "logs" / "nginx.pid").write_text("1\n")  # a pid file naming someone else
    study.script("stop.sh")
    assert live_pids_using(study.work, "nginx") == []
    assert os.path.exists("/proc/1")  # pid 1 untouched


def test_refuses_a_folder_it_did_not_make(study: Study, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("not the study's")
    study.env["NGINX_STUDY_DIR"] = str(foreign)
    for name in ("start.sh", "bench.sh"):
        result = study.script(name, check=False)
        assert result.returncode != 0 and "refusing" in result.stderr
    result = study.script("param.sh", "set", "gzip", "off", check=False)
    assert result.returncode != 0
    assert sorted(p.name for p in foreign.iterdir()) == ["keep.txt"]


def test_set_refuses_unknown_knobs_and_bad_values(study: Study) -> None:
    for args in (("nope", "1"), ("gzip", "maybe"), ("worker_connections", "1;reboot"),
                 ("keepalive_timeout", "-1"), ("gzip_comp_level", "10")):
        result = study.script("param.sh", "set", *args, check=False)
        assert result.returncode != 0, args
    assert not (study.work / "params.env").exists()


def test_every_knob_round_trips_and_renders(study: Study) -> None:
    spec = load_server(SERVER)
    baseline, chosen = {}, {}
    for knob in spec.knobs:
        baseline[knob.name] = study.sh(knob.get).stdout.strip()
        value = other_value(knob, baseline[knob.name])
        study.sh(knob.set.replace("$value", value))
        assert study.sh(knob.get).stdout.strip() == value, knob.name
        chosen[knob.name] = value
    # all values changed at once still make a config nginx accepts, and they are in it
    study.sh(spec.startworkload)
    assert answers(study.port)
    conf = (study.work / "conf" / "nginx.conf").read_text()
    for name in ("worker_connections", "keepalive_requests", "keepalive_timeout", "gzip_comp_level"):
        assert f"{name} {chosen[name]};" in conf
    study.sh(spec.stopworkload)
    study.script("param.sh", "reset")
    assert {k.name: study.sh(k.get).stdout.strip() for k in spec.knobs} == baseline


def test_benchmark_prints_a_positive_rps(study: Study) -> None:
    client = load_client(CLIENT)
    study.script("start.sh")
    out = study.sh(client.benchmark).stdout
    assert out.startswith("rps "), out
    # the evaluation as the runner runs it: $out from the environment
    get = client.evaluations[0].get.replace("$out", "'\"$ATUNE_OUT\"'")
    study.env["ATUNE_OUT"] = out
    rps = float(study.sh(get).stdout)
    assert rps > 0
    fields = out.split()
    assert fields[fields.index("non2xx") + 1] == "0"


# --------------------------------------------------------------------------- the study


def _tune_available() -> bool:
    result = subprocess.run([sys.executable, "-m", "atune_bridge", "tune", "--help"],
                            capture_output=True, timeout=60)
    return result.returncode == 0


def test_the_study_runs_through_atune_bridge_tune(study: Study, tmp_path: Path) -> None:
    if not _tune_available():
        pytest.skip("atune-bridge tune is not available in this environment")
    spec = load_server(SERVER)
    db = tmp_path / "study.db"
    report = tmp_path / "report"
    study.script("start.sh")
    before = {k.name: study.sh(k.get).stdout.strip() for k in spec.knobs}
    result = subprocess.run(
        [sys.executable, "-m", "atune_bridge", "tune", "--server", str(SERVER), "--client", str(CLIENT),
         "--storage", f"sqlite:///{db}", "--study", "nginx-test", "--llm", "none", "--trials", "3",
         "--seed", "0", "--output", str(report), "--benchmark-timeout", "30", "--workdir", str(ROOT)],
        cwd=ROOT, env=study.env, text=True, capture_output=True, timeout=150,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "baseline" in result.stdout
    assert list(report.glob("*.html")), f"no HTML report in {report}"
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT t.number, t.state, v.value FROM trials t LEFT JOIN trial_values v USING (trial_id) "
            "ORDER BY t.number").fetchall()
    assert len(rows) == 3, rows
    assert rows[0][1] == "COMPLETE" and rows[0][2] > 0, "trial 0 is the measured baseline"
    assert {k.name: study.sh(k.get).stdout.strip() for k in spec.knobs} == before, "originals set back"


# --------------------------------------------------------------------------- netns variant


def _netns_possible() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"nst-probe-{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return ok


@pytest.mark.skipif(not _netns_possible(), reason="needs root and network namespaces (ip netns add)")
def test_netns_variant_tunes_sysctls_only_inside_its_namespace(study: Study) -> None:
    study.env["NGINX_STUDY_NETNS"] = f"nst{os.getpid()}"
    host_before = Path("/proc/sys/net/core/somaxconn").read_text()
    spec = load_server(STUDY / "nginx_server_netns.yaml")
    client = load_client(STUDY / "nginx_client_netns.yaml")
    somaxconn = spec.knob("net.core.somaxconn")
    # without the namespace every command refuses
    assert study.sh(somaxconn.set.replace("$value", "1024"), check=False).returncode != 0
    study.script("netns.sh", "up")
    try:
        study.sh(somaxconn.set.replace("$value", "1024"))
        assert study.sh(somaxconn.get).stdout.strip() == "1024"
        assert Path("/proc/sys/net/core/somaxconn").read_text() == host_before
        rmem = spec.knob("net.ipv4.tcp_rmem")
        assert rmem.contains(study.sh(rmem.get).stdout.strip())
        study.sh(spec.startworkload)
        assert not answers(study.port), "nginx must listen in the namespace, not on the host"
        out = study.sh(client.benchmark).stdout
        assert out.startswith("rps ") and float(out.split()[1]) > 0
    finally:
        study.script("netns.sh", "down")
    assert Path("/proc/sys/net/core/somaxconn").read_text() == host_before
