from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "data" / "atune_examples"


@pytest.fixture
def examples() -> Path:
    """The 42 real A-Tune YAML files (copied from A-Tune's examples, quirks included)."""
    return EXAMPLES


def _pg_bin(name: str) -> str | None:
    import glob
    import shutil

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="session")
def postgres_url():
    """A private PostgreSQL server on 127.0.0.1 for this test session; its SQLAlchemy URL.

    Started from Debian's ``postgresql`` package (``scripts/test.sh`` installs it), in a
    temporary data folder, as the ``postgres`` user when the tests run as root (PostgreSQL
    refuses to run as root). Stopped at the end of the session.
    """
    import os
    import socket
    import subprocess

    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    pytest.importorskip("psycopg2", reason="psycopg2 not installed (pip install '.[postgres]')")
    import shutil
    import tempfile

    # Not under pytest's tmp folder: the postgres user must be able to reach the data folder.
    base = Path(tempfile.mkdtemp(prefix="olls-pg-"))
    data = base / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    def run(*cmd: str) -> None:
        done = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = (base / "log").read_text() if (base / "log").exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stdout}{done.stderr}{log}")

    run(initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
    options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off"
    run(pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
