"""A small recorded surface written to a temporary folder: a known function with repeats."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

KNOBS = [
    {"name": "workers", "type": "int", "low": 1, "high": 8, "step": 1, "log": False, "desc": "worker processes"},
    {"name": "buffer", "type": "float", "low": 0.0, "high": 1.0, "step": None, "log": False},
    {"name": "mode", "type": "categorical", "choices": ["slow", "fast", "off"]},
]
BASELINE = {"workers": 1, "buffer": 0.5, "mode": "slow"}


def truth(p: dict[str, Any]) -> float:
    """Positive throughput: best at 6 workers, buffer 0.8, mode fast."""
    return 1000.0 * math.exp(-0.05 * (p["workers"] - 6) ** 2 - 2 * (p["buffer"] - 0.8) ** 2) * {
        "slow": 0.5, "fast": 1.0, "off": 0.7}[p["mode"]]


def write_surface(folder: Path, n: int = 120, repeats: int = 6, noise: float = 0.05, seed: int = 0,
                  **meta: Any) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        p = {"workers": int(rng.integers(1, 9)), "buffer": float(rng.random()),
             "mode": str(rng.choice(["slow", "fast", "off"]))}
        rows.append({"kind": "design", "config": f"d{i:04d}", **p, "rps": truth(p) * math.exp(noise * rng.standard_normal())})
    for _ in range(repeats):
        rows.append({"kind": "repeat", "config": "baseline", **BASELINE,
                     "rps": truth(BASELINE) * math.exp(noise * rng.standard_normal())})
    with (folder / "measurements.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["kind", "config", "workers", "buffer", "mode", "rps"])
        writer.writeheader()
        writer.writerows(rows)
    surface = {"name": "toy", "metric": "rps", "direction": "maximize", "knobs": KNOBS, "baseline": BASELINE,
               "recorded": {"date": "2026-11-26"}, **meta}
    (folder / "surface.json").write_text(json.dumps(surface))
    return folder
