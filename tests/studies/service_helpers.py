"""What the studies' tests share: finding Debian's binaries, a free loopback port, the processes
a study left running, another value for a knob, and running a study's YAML commands as the
runner runs them."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def have(tool: str) -> bool:
    """Whether ``tool`` is installed (Debian puts servers in /usr/sbin, outside a user's PATH)."""
    return shutil.which(tool) is not None or Path("/usr/sbin", tool).exists() or Path("/usr/bin", tool).exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def live_pids_using(work: Path, open_files_of: str | None = None) -> list[int]:
    """Live (not zombie) processes whose command line points into ``work``, and, for processes
    whose command line holds ``open_files_of``, those with a file open in it."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            if stat[stat.rindex(")") + 2] in "ZX":
                continue
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            hit = str(work) in cmdline
            if not hit and open_files_of and open_files_of in cmdline:
                hit = any(str(work) in os.readlink(fd) for fd in (proc / "fd").iterdir())
        except (OSError, ValueError):
            continue
        if hit:
            found.append(int(proc.name))
    return found


def other_value(knob, current: str) -> str:
    """A value of ``knob``'s domain other than ``current``, as its set command receives it."""
    if knob.dtype == "string":
        return next(o for o in knob.options if o != current)
    lo, hi = knob.pairs[0]
    step = knob.effective_step
    for candidate in (lo + step, lo, hi):
        if str(int(candidate)) != current:
            return str(int(candidate))
    raise AssertionError(knob)


class StudyShell:
    """A study's commands, run from the repository root with the study's environment."""

    def __init__(self, scripts: Path, env: Mapping[str, str]) -> None:
        self.scripts = scripts
        self.env = dict(env)

    def sh(self, command: str, *, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a YAML command as the runner does: ``sh -c`` from the repository root."""
        result = subprocess.run(["/bin/sh", "-c", command], cwd=ROOT, env=self.env, text=True,
                                capture_output=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"`{command}` exited {result.returncode}: {result.stderr}{result.stdout}")
        return result

    def script(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # quoted: a test's bad value ("1;reboot") must reach the script, not the shell
        return self.sh(" ".join(["bash", shlex.quote(str(self.scripts / name)), *map(shlex.quote, args)]), check=check)
