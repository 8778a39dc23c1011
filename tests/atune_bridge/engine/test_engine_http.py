"""The engine over real HTTP on 127.0.0.1, driven the way atuned drives A-Tune's engine.

``Atuned`` below sends exactly what atuned sends (A-Tune's ``common/models/optimizer.go``,
``common/tuning/optimizer.go`` and ``common/http``): Go-marshalled bodies with every field,
nil slices as ``null``, two Content-Type headers, a ``null`` body on DELETE.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import optuna
import pytest
import uvicorn
from optuna.trial import TrialState

from atune_bridge import EngineConfig, create_engine_app, knobs_from_engine, load_server, parse_params

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "tests" / "data" / "atune_examples"

# What atuned posts for an nginx-like server YAML: every Knob field present, nil slices null.
KNOBS: list[dict[str, Any]] = [
    {"dtype": "string", "name": "worker_processes", "options": ["1", "2", "4", "auto"],
     "type": "discrete", "range": None, "items": None, "step": 0, "ref": "auto"},
    {"dtype": "int", "name": "worker_connections", "options": None, "type": "discrete",
     "range": [64, 4096], "items": None, "step": 64, "ref": "512"},
    {"dtype": "string", "name": "multi_accept", "options": ["on", "off"], "type": "discrete",
     "range": None, "items": None, "step": 0, "ref": "off"},
    {"dtype": "int", "name": "keepalive_timeout", "options": None, "type": "continuous",
     "range": [0, 120], "items": None, "step": 0, "ref": "65"},
    {"dtype": "float", "name": "gzip_ratio", "options": None, "type": "discrete",
     "range": [0.1, 1], "items": None, "step": 0.1, "ref": "0.5"},
]
# atuned's InitConfig covers every object of the server file, skipped ones too.
INIT_CONFIG = "worker_processes=auto,worker_connections=512,multi_accept=off,sendfile=on,keepalive_timeout=65,gzip_ratio=0.5"


def benchmark(params: dict[str, Any]) -> dict[str, float]:
    """A made-up nginx: requests per second (higher is better) and latency (lower is better)."""
    workers = {"1": 1, "2": 2, "4": 4, "auto": 2}[params["worker_processes"]]
    rps = 12_000 + 900 * min(workers, 2) + 0.4 * min(params["worker_connections"], 2048)
    rps += 300 * (params["multi_accept"] == "on") - 4 * abs(params["keepalive_timeout"] - 20)
    rps -= 800 * abs(params["gzip_ratio"] - 0.3)
    return {"rps": round(rps, 2), "latency": round(1e6 / rps, 2)}


class Atuned:
    """The engine client inside atuned, as far as the engine can tell."""

    HEADERS = [("Content-Type", "application/x-www-form-urlencoded"), ("Content-Type", "application/json")]

    def __init__(self, client: httpx.Client, base: str, project: str = "nginx", *, metrics: int = 1) -> None:
        self.client, self.base, self.project, self.metrics = client, base, project, metrics
        self.url = f"{base}/v1/optimizer"

    @staticmethod
    def _go_json(body: dict[str, Any]) -> bytes:
        return json.dumps(body, separators=(",", ":")).encode()

    def post(self, engine: str, max_eval: int, *, knobs: list[dict[str, Any]] = KNOBS,
             x_ref: list[list[str]] | None = None, y_ref: list[str] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"max_eval": max_eval, "knobs": knobs, "engine": engine,
                                "random_starts": 3, "history_path": None}
        if x_ref:  # `json:"x_ref,omitempty"`
            body["x_ref"], body["y_ref"] = x_ref, y_ref
        body.update(feature_filter=False, split_count=0, noise=1e-09, sel_feature=False,
                    prj_name=self.project, feature_selector="")
        return self.client.post(self.url, content=self._go_json(body), headers=self.HEADERS)

    def put(self, task: str, iterations: int, value: str, line: str, max_iter: int) -> httpx.Response:
        body = {"iterations": iterations, "value": value, "line": line,
                "prj_name": f"{self.project}-1", "max_iter": max_iter}
        return self.client.put(f"{self.url}/{task}", content=self._go_json(body), headers=self.HEADERS)

    def delete(self, task: str) -> httpx.Response:
        return self.client.request("DELETE", f"{self.url}/{task}", content=b"null", headers=self.HEADERS)

    def evaluate(self, params: dict[str, Any]) -> tuple[str, str, float]:
        """(value, metrics field, sum) as atuned reports a benchmark: negated where higher is better."""
        m = benchmark(params)
        if self.metrics == 1:
            values = [-m["rps"]]
            detail = f"rps={-m['rps']}"
        else:
            values = [-m["rps"], m["latency"]]
            detail = f"rps={-m['rps']},latency={m['latency']}"
        total = round(sum(values), 2)
        return ",".join(str(v) for v in values), detail, total

    @staticmethod
    def line(k: int, total: float, detail: str, params: str) -> str:
        now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return "|".join([str(k), now, now, f"evaluations={total}", detail, params])


def parse_rank_like_atuned(rank: str) -> list[tuple[str, float]]:
    """atuned's filterParams: split on ',' and ':', strconv.ParseFloat the score (fails on '%')."""
    pairs = []
    for item in rank.split(","):
        name, sep, score = item.partition(":")
        assert sep, item
        pairs.append((name.strip(), float(score.strip())))
    return pairs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_in_thread(app: Any, **ssl_options: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **ssl_options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    scheme = "https" if ssl_options else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def serve_cli(args: list[str], cwd: Path, port: int, *, verify: Any = True, cert: Any = None) -> Iterator[subprocess.Popen]:
    """``atune-bridge serve`` in its own process, until stopped by the caller or at exit."""
    cmd = [sys.executable, "-m", "atune_bridge", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    scheme = "https" if "--tls-cert" in args else "http"
    deadline = time.monotonic() + 40
    try:
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "exited"
            try:
                with httpx.Client(verify=verify, cert=cert, timeout=2) as c:
                    if c.get(f"{scheme}://127.0.0.1:{port}/v1/optimizer").status_code == 200:
                        break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "atune-bridge serve did not start"
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
        if proc.stdout:
            proc.stdout.close()


def run_loop(atuned: Atuned, task: str, first: dict[str, Any], *, start: int, max_iter: int,
             stop_after: int | None = None, seen: list | None = None) -> dict[str, Any]:
    """atuned's DynamicTuned loop: set the reply's params, benchmark, PUT the result."""
    knobs = knobs_from_engine(KNOBS)
    reply = first
    k = start
    while True:
        value, detail, total = atuned.evaluate(parse_params(reply["param"], knobs))
        if seen is not None:
            seen.append((reply["param"], total))
        r = atuned.put(task, k, value, atuned.line(k, total, detail, reply["param"]), max_iter)
        assert r.status_code == 200, r.text
        reply = r.json()
        if reply["finished"] or (stop_after is not None and k >= stop_after):
            return reply
        k += 1


def start_task(atuned: Atuned, engine: str, max_eval: int) -> tuple[str, dict[str, Any], float]:
    r = atuned.post(engine, max_eval)
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["status"] == "OK" and created["iters"] == max_eval
    task = created["task_id"]
    r = atuned.put(task, -1, "", f"project {atuned.project} {engine} {max_eval}\n", max_eval)
    assert (r.status_code, r.json()) == (200, {})
    typed = {"worker_processes": "auto", "worker_connections": 512, "multi_accept": "off",
             "keepalive_timeout": 65, "gzip_ratio": 0.5}
    value, detail, total = atuned.evaluate(typed)
    r = atuned.put(task, 0, value, atuned.line(0, total, detail, INIT_CONFIG), max_eval)
    assert r.status_code == 200, r.text
    return task, r.json(), total


# ---------------------------------------------------------------------- the replay


@pytest.mark.parametrize("metrics", [1, 2])
def test_atuned_sequence_over_loopback(tmp_path: Path, metrics: int) -> None:
    app = create_engine_app(EngineConfig(storage=f"sqlite:///{tmp_path / 'engine.db'}", seed=11))
    with serve_in_thread(app) as base, httpx.Client(timeout=30) as client:
        atuned = Atuned(client, base, metrics=metrics)
        task, first, base_total = start_task(atuned, "tpe", 8)
        assert first["finished"] is False
        seen: list[tuple[str, float]] = []
        last = run_loop(atuned, task, first, start=1, max_iter=8, seen=seen)
        assert last["finished"] is True and len(seen) == 8
        best_param, best_total = min([(INIT_CONFIG.replace("sendfile=on,", ""), base_total), *seen], key=lambda pv: pv[1])
        assert last["param"] == best_param
        ranked = parse_rank_like_atuned(last["rank"])
        assert sorted(name for name, _ in ranked) == sorted(k["name"] for k in KNOBS)
        study = app.state.engine.study(task)
        assert study.best_value == pytest.approx(best_total)
        # after the end: out of order, then gone
        r = atuned.put(task, 9, "-1", atuned.line(9, -1, "rps=-1", last["param"]), 8)
        assert r.status_code == 409 and "finished" in r.json()["message"]
        assert client.get(f"{base}/v1/optimizer").json() == [task]
        assert client.get(f"{base}/v1/optimizer/{task}").json() == [task]
        r = atuned.delete(task)
        assert (r.status_code, r.json()) == (200, {})
        assert client.get(f"{base}/v1/optimizer").json() == []
        for r in (client.get(f"{base}/v1/optimizer/{task}"), atuned.delete(task), atuned.put(task, 1, "-1", "", 8)):
            assert r.status_code == 404 and r.json() == {"message": f"taskid {task} not found"}


def test_bayes_without_torch_runs_with_a_message(tmp_path: Path) -> None:
    app = create_engine_app(EngineConfig(storage=None, seed=2))
    with serve_in_thread(app) as base, httpx.Client(timeout=30) as client:
        r = Atuned(client, base).post("bayes", 5)
        assert r.status_code == 200 and r.json()["status"] == "OK"
        if "message" in r.json():
            assert "TPESampler" in r.json()["message"]


def test_errors_are_json_messages(tmp_path: Path) -> None:
    app = create_engine_app(EngineConfig(storage=None))
    with serve_in_thread(app) as base, httpx.Client(timeout=30) as client:
        atuned = Atuned(client, base)
        bad = [
            atuned.post("whitebox", 5),
            atuned.post("tpe", 0),
            client.post(f"{base}/v1/optimizer", content=b"{not json", headers=Atuned.HEADERS),
            client.post(f"{base}/v1/optimizer", content=b'{"max_eval": "ten", "knobs": 3}'),
            client.put(f"{base}/v1/optimizer/x", content=b'{"value": "1"}', headers=Atuned.HEADERS),
        ]
        for r in bad:
            assert r.status_code == 400 and set(r.json()) == {"message"} and r.json()["message"], r.text
        task = atuned.post("tpe", 5).json()["task_id"]
        r = atuned.put(task, 3, "-1", "", 5)
        assert r.status_code == 409 and "expects iteration 0" in r.json()["message"]
        r = atuned.put(task, 0, "fast", "", 5)
        assert r.status_code == 400 and "value" in r.json()["message"]


def test_tasks_in_parallel_over_http(tmp_path: Path) -> None:
    app = create_engine_app(EngineConfig(storage=f"sqlite:///{tmp_path / 'engine.db'}", seed=4))
    results: dict[int, Any] = {}

    def one(i: int, base: str) -> None:
        try:
            with httpx.Client(timeout=60) as client:
                atuned = Atuned(client, base, project=f"p{i}")
                task, first, _ = start_task(atuned, "random", 5)
                results[i] = run_loop(atuned, task, first, start=1, max_iter=5)
        except BaseException as exc:  # pragma: no cover - reported by the assert below
            results[i] = exc

    with serve_in_thread(app) as base:
        threads = [threading.Thread(target=one, args=(i, base)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
    assert all(isinstance(r, dict) and r["finished"] for r in results.values()) and len(results) == 4, results


def test_openapi_describes_the_endpoints() -> None:
    app = create_engine_app(EngineConfig(storage=None))
    with serve_in_thread(app) as base, httpx.Client(timeout=30) as client:
        spec = client.get(f"{base}/openapi.json").json()
    paths = spec["paths"]
    assert set(paths["/v1/optimizer"]) == {"get", "post"}
    assert set(paths["/v1/optimizer/{task_id}"]) == {"get", "put", "delete"}
    assert "422" not in json.dumps(paths) and "400" in paths["/v1/optimizer"]["post"]["responses"]
    assert "409" in paths["/v1/optimizer/{task_id}"]["put"]["responses"]


def _atuned_knobs(path: Path) -> list[dict[str, Any]]:
    """The knob list atuned would build from a server YAML (createOptimizerTask)."""
    spec = load_server(path)
    return [
        {"dtype": k.dtype, "name": k.name, "options": list(k.options) or None, "type": k.type,
         "range": list(k.scope) or None, "items": list(k.items) or None, "step": k.step or 0,
         "ref": k.ref or ""}
        for k in spec.tunable
    ]


def test_real_a_tune_server_files_are_accepted_or_explained() -> None:
    """Every example server file of A-Tune: 200 with parameters atuned can set, or a 400 message."""
    from fastapi.testclient import TestClient

    client = TestClient(create_engine_app(EngineConfig(storage=None, seed=1)))
    servers = [p for p in sorted(EXAMPLES.rglob("*.yaml")) if "object" in p.read_text(errors="replace")]
    assert len(servers) >= 15
    accepted = 0
    for path in servers:
        try:
            knobs = _atuned_knobs(path)
        except Exception:  # not loadable by the bridge at all: not the engine's concern
            continue
        if not knobs:
            continue
        r = client.post("/v1/optimizer", json={"max_eval": 3, "knobs": knobs, "engine": "tpe"})
        assert r.status_code in (200, 400), (path, r.text)
        if r.status_code == 400:
            assert r.json()["message"], path
            continue
        accepted += 1
        task = r.json()["task_id"]
        reply = client.put(f"/v1/optimizer/{task}", json={"iterations": 0, "value": ""}).json()
        for k in (1, 2, 3):
            parse_params(reply["param"], knobs_from_engine(knobs))
            reply = client.put(f"/v1/optimizer/{task}", json={"iterations": k, "value": str(-k)}).json()
        assert reply["finished"] is True, path
    assert accepted >= 10


# ---------------------------------------------------------------------- restart and TLS, as processes


def test_restart_in_the_middle_of_a_task(tmp_path: Path) -> None:
    db = tmp_path / "engine.db"
    port = free_port()
    args = ["--storage", f"sqlite:///{db}", "--llm", "none", "--seed", "5"]
    with httpx.Client(timeout=30) as client:
        atuned = Atuned(client, f"http://127.0.0.1:{port}")
        with serve_cli(args, tmp_path, port) as proc:
            task, first, _ = start_task(atuned, "tpe", 7)
            before = run_loop(atuned, task, first, start=1, max_iter=7, stop_after=3)
            proc.send_signal(signal.SIGKILL)  # no chance to flush anything
            proc.wait(10)
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{port}/v1/optimizer")
        with serve_cli(args, tmp_path, port):
            assert client.get(f"http://127.0.0.1:{port}/v1/optimizer").json() == [task]
            r = atuned.put(task, 5, "-1", "", 7)
            assert r.status_code == 409 and "expects iteration 4" in r.json()["message"]
            last = run_loop(atuned, task, before, start=4, max_iter=7)
            assert last["finished"] is True
            assert atuned.delete(task).status_code == 200
    study = optuna.load_study(study_name=task, storage=f"sqlite:///{db}")
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 8  # the baseline and 7 evaluations, across both processes
    sent_before = [t for t in complete if t.user_attrs.get("atune_sent_at_iteration") == 3]
    assert len(sent_before) == 1  # the parameters handed out before the kill got their value after


def _certificates(tmp_path: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, signed by it."""
    from cryptography import x509  # the dev extra: a missing package fails, not skips
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import ipaddress

    now = dt.datetime.now(dt.timezone.utc)

    def make(name: str, issuer: Any, issuer_key: Any, *, ca: bool = False, server: bool = False) -> tuple[Any, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.subject if issuer is not None else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                              key_encipherment=False, data_encipherment=False, key_agreement=False,
                              encipher_only=False, decipher_only=False), critical=True)
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        elif not ca:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        cert = builder.sign(issuer_key if issuer_key is not None else key, hashes.SHA256())
        return cert, key

    ca_cert, ca_key = make("test CA", None, None, ca=True)
    files = {}
    for label, (cert, key) in {
        "ca": (ca_cert, ca_key),
        "server": make("localhost", ca_cert, ca_key, server=True),
        "client": make("atuned", ca_cert, ca_key),
    }.items():
        files[f"{label}.crt"] = tmp_path / f"{label}.crt"
        files[f"{label}.key"] = tmp_path / f"{label}.key"
        files[f"{label}.crt"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files[f"{label}.key"].write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return files


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: openssl when installed, else cryptography."""
    cert, key = tmp_path / "self.crt", tmp_path / "self.key"
    openssl = subprocess.run(["which", "openssl"], capture_output=True, text=True).stdout.strip()
    if openssl:
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
             "-out", str(cert), "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True,
        )
        return cert, key
    files = _certificates(tmp_path)  # skips when cryptography is missing too
    return files["server.crt"], files["server.key"]


def test_tls_with_a_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    app = create_engine_app(EngineConfig(storage=None, seed=1))
    with serve_in_thread(app, ssl_certfile=str(cert), ssl_keyfile=str(key)) as base:
        assert base.startswith("https://")
        with httpx.Client(verify=ssl.create_default_context(cafile=str(cert)), timeout=30) as client:
            atuned = Atuned(client, base)
            task, first, _ = start_task(atuned, "random", 3)
            assert run_loop(atuned, task, first, start=1, max_iter=3)["finished"] is True
            assert atuned.delete(task).status_code == 200
        with httpx.Client(timeout=10) as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get(f"{base}/v1/optimizer")


def test_mutual_tls_like_atuned_engine_tls(tmp_path: Path) -> None:
    """atuned's engine_tls: it checks the engine against tlsenginecacertfile and presents a client cert."""
    files = _certificates(tmp_path)
    port = free_port()
    trust = ssl.create_default_context(cafile=str(files["ca.crt"]))
    trust.load_cert_chain(str(files["client.crt"]), str(files["client.key"]))
    args = ["--storage", "none", "--tls-cert", str(files["server.crt"]), "--tls-key", str(files["server.key"]),
            "--tls-ca", str(files["ca.crt"])]
    with serve_cli(args, tmp_path, port, verify=trust):
        with httpx.Client(verify=trust, timeout=30) as client:
            assert client.get(f"https://127.0.0.1:{port}/v1/optimizer").json() == []
            assert client.get(f"https://localhost:{port}/v1/optimizer").status_code == 200
        no_client_cert = ssl.create_default_context(cafile=str(files["ca.crt"]))
        with httpx.Client(verify=no_client_cert, timeout=10) as client, pytest.raises(httpx.HTTPError):
            client.get(f"https://127.0.0.1:{port}/v1/optimizer")
