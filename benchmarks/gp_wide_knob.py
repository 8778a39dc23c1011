"""What a wide integer knob costs Optuna's GPSampler, and RoundedGPSampler beside it.

GPSampler lists every value of a stepped knob on every trial it proposes; an A-Tune project's
knob from 0 to 2**28 in steps of 1 is 2 GiB of float64 for the list alone. RoundedGPSampler
searches a knob of more than 10,000 values as continuous and rounds its proposal. Each run
below is its own process (so its peak memory is its own): a study of a 0..2**k integer knob and
a two-choice knob, the first ``--startup`` trials random, then the Gaussian process, with the
seconds per GP trial and the process's peak resident memory, side by side per width.

Usage, from the repository root::

    .venv/bin/python benchmarks/gp_wide_knob.py --widths 10,16,20,24,28 --trials 12

GPSampler is skipped at widths above ``--plain-max`` (default 24): at 28 it took minutes and
gigabytes per study.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence


def one_study(sampler: str, width: int, trials: int, startup: int) -> dict[str, float]:
    """Run one study in this process; the seconds of its GP trials."""
    import warnings

    import optuna

    from optuna_llm_sampler._search import RoundedGPSampler

    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    high = 2**width
    cls = RoundedGPSampler if sampler == "RoundedGPSampler" else optuna.samplers.GPSampler
    study = optuna.create_study(sampler=cls(seed=0, n_startup_trials=startup))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_int("buffer", 0, high)
        return abs(x - high // 3) / high + (trial.suggest_categorical("mode", ["a", "b"]) == "a")

    study.optimize(objective, n_trials=startup)
    started = time.perf_counter()
    study.optimize(objective, n_trials=trials - startup)
    return {"gp_s_per_trial": (time.perf_counter() - started) / (trials - startup), "best": study.best_value,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(sampler: str, width: int, trials: int, startup: int) -> dict[str, float]:
    """One study in a child process (so that its peak resident memory is its own)."""
    out = subprocess.run([sys.executable, __file__, "--child", sampler, str(width), str(trials), str(startup)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--widths", default="10,16,20,24,28", help="knob widths as powers of two (default 10,16,20,24,28)")
    p.add_argument("--trials", type=int, default=12, help="trials per study (default 12)")
    p.add_argument("--startup", type=int, default=4, help="random trials before the GP (default 4)")
    p.add_argument("--plain-max", type=int, default=24, help="largest width GPSampler itself runs at (default 24)")
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        sampler, width, trials, startup = args.child
        print(json.dumps(one_study(sampler, int(width), int(trials), int(startup))))
        return 0
    widths = [int(w) for w in args.widths.split(",")]
    print(f"{args.trials} trials per study, the first {args.startup} random; peak resident memory of the "
          "study's process (Python, Optuna and PyTorch loaded)")
    print("| knob | sampler | s per GP trial | peak MiB |")
    print("|---|---|---|---|")
    for width in widths:
        for sampler in ("RoundedGPSampler", "GPSampler"):
            if sampler == "GPSampler" and width > args.plain_max:
                print(f"| 0..2^{width} | {sampler} | not run (over --plain-max) | |")
                continue
            r = measure(sampler, width, args.trials, args.startup)
            print(f"| 0..2^{width} | {sampler} | {r['gp_s_per_trial']:.2f} | {r['peak_mib']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
