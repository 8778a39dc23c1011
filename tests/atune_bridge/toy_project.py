"""The toy A-Tune project the runner tests tune (``projects/toy``), copied per test.

The "service" is a config file (``service.conf``) written by the ``set`` commands and read by
the ``get`` commands; ``start.sh``/``stop.sh`` log restarts to ``restarts.log`` and starting
copies ``service.conf`` to ``running.conf``, which is where the restart-only parameter
``workers`` is read from. ``bench.sh`` prints numbers that depend only on the configuration
(formulas in its header), so every expected value below is computed by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from atune_bridge import Runner, RunnerConfig, load_client, load_server

TOY = Path(__file__).resolve().parent / "projects" / "toy"
ORIGINAL = {"workers": "2", "cache": "128", "mode": "safe", "ratio": "0.5"}
BASELINE_RPS = 656.0  # 1000 - 10*(2-6)^2 - 5*((128-512)/64)^2 + 0 - 100*(0.5-0.3)^2
BASELINE_LATENCY = 30.0  # 20 + 2*(2-4)^2 + 128/64 + 0


def rps(workers: int, cache: int, mode: str, ratio: float) -> float:
    bonus = {"safe": 0, "fast": 40, "very fast": 60}[mode]
    return round(1000 - 10 * (workers - 6) ** 2 - 5 * ((cache - 512) / 64) ** 2 + bonus - 100 * (ratio - 0.3) ** 2, 3)


def latency(workers: int, cache: int, mode: str, ratio: float) -> float:
    return round(20 + 2 * (workers - 4) ** 2 + cache / 64 + (0 if mode == "safe" else 3), 3)


@dataclass
class Toy:
    """A private copy of the toy project and helpers to look at its state."""

    root: Path

    @property
    def storage(self) -> str:
        return f"sqlite:///{self.root / 'study.db'}"

    @property
    def server_path(self) -> Path:
        return self.root / "toy_server.yaml"

    def client_path(self, name: str = "toy_client.yaml") -> Path:
        return self.root / name

    def _kv(self, name: str) -> dict[str, str]:
        out = {}
        for line in (self.root / name).read_text().splitlines():
            key, _, value = line.partition("=")
            out[key] = value
        return out

    def conf(self) -> dict[str, str]:
        """The service's configuration file as a dict."""
        return self._kv("service.conf")

    def running(self) -> dict[str, str]:
        """The configuration the service was last started with."""
        return self._kv("running.conf")

    def log(self, name: str) -> list[str]:
        path = self.root / name
        return path.read_text().splitlines() if path.exists() else []

    def config(self, **kwargs: Any) -> RunnerConfig:
        kwargs.setdefault("storage", self.storage)
        kwargs.setdefault("llm", "none")
        kwargs.setdefault("seed", 0)
        kwargs.setdefault("workdir", str(self.root))
        kwargs.setdefault("command_timeout", 20)
        kwargs.setdefault("benchmark_timeout", 20)
        return RunnerConfig(**kwargs)

    def runner(self, client: str = "toy_client.yaml", server: Path | None = None, **kwargs: Any) -> Runner:
        return Runner(load_server(server or self.server_path), load_client(self.client_path(client)),
                      self.config(**kwargs))

    def study(self, name: str = "toy") -> optuna.Study:
        return optuna.load_study(study_name=name, storage=self.storage)

    def enqueue(self, *params: dict[str, Any], name: str = "toy", **kwargs: Any) -> None:
        study = self.study(name)
        for p in params:
            study.enqueue_trial(p, **kwargs)

    def cli_args(self, *extra: str, client: str = "toy_client.yaml") -> list[str]:
        return [
            sys.executable, "-m", "atune_bridge", "tune",
            "--server", str(self.server_path), "--client", str(self.client_path(client)),
            "--storage", self.storage, "--llm", "none", "--seed", "0",
            "--workdir", str(self.root), "--output", str(self.root / "report"),
            "--command-timeout", "20", "--benchmark-timeout", "90",
            "--confirm", "0",  # the tests that confirm say so (a later --confirm wins)
            *extra,
        ]

    def cli(self, *extra: str, client: str = "toy_client.yaml", timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cli_args(*extra, client=client), capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)


def noisy_client(toy: Toy, noise: list[float | str]) -> str:
    """A client whose rps is the toy's times the next factor of ``noise.txt`` (then 1); a factor
    ``"fail"`` runs the benchmark and then fails it (exit status 3)."""
    (toy.root / "noise.txt").write_text("".join(f"{f}\n" for f in noise))
    (toy.root / "noisy.sh").write_text(
        "f=$(head -n 1 noise.txt); [ -n \"$f\" ] || f=1; tail -n +2 noise.txt > noise.tmp; mv noise.tmp noise.txt\n"
        "if [ \"$f\" = fail ]; then sh bench.sh > /dev/null; echo 'noisy: failed on purpose' >&2; exit 3; fi\n"
        "sh bench.sh | awk -v f=\"$f\" '/TIMING:/ {$5 = sprintf(\"%.3f\", $5 * f)} {print}'\n"
    )
    text = (toy.root / "toy_client.yaml").read_text().replace('benchmark: "sh bench.sh"', 'benchmark: "sh noisy.sh"')
    (toy.root / "noisy_client.yaml").write_text(text)
    return "noisy_client.yaml"


def copy_toy(tmp_path: Path) -> Toy:
    root = tmp_path / "toy"
    shutil.copytree(TOY, root)
    for junk in ("set.log", "restarts.log", "bench.log", "hang_at", "hanging", "study.db"):
        (root / junk).unlink(missing_ok=True)
    return Toy(root)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
