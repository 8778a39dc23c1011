"""How long one query of a recorded surface takes: the compiled forest beside scikit-learn's predict.

The surface benchmark asks the surrogate once per trial, tens of thousands of times in a full
comparison, so a query must take well under a millisecond. This prints, for the same
configurations in one run, the time per query of the compiled forest used by ``compare.py``
(encoding and noise included) and of scikit-learn's ``predict`` on one row, and their ratio.

    .venv/bin/python benchmarks/surface_query.py [--surface benchmarks/surfaces/nginx] [--queries 5000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from optbench.surface import SurfaceModel, load_surface  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--surface", type=Path, default=ROOT / "benchmarks" / "surfaces" / "nginx")
    p.add_argument("--queries", type=int, default=5000)
    args = p.parse_args()
    started = time.perf_counter()
    model = SurfaceModel(load_surface(args.surface))
    fit = time.perf_counter() - started
    params = model.surface.params
    queries = [params[i % len(params)] for i in range(args.queries)]
    rng = np.random.default_rng(0)

    start = time.perf_counter()
    ours = [model.sample(q, rng) for q in queries]
    compiled = (time.perf_counter() - start) / len(queries)

    n_sk = min(len(queries), 500)
    rows = [model.encoder.row(q)[None, :] for q in queries[:n_sk]]
    start = time.perf_counter()
    theirs = [model._forest.predict(r)[0] for r in rows]
    sklearn = (time.perf_counter() - start) / n_sk

    check = np.allclose([model.compiled.predict_one(r[0]) for r in rows], theirs)
    print(f"surface {args.surface} ({len(params)} measurements, {len(model.surface.space)} knobs); fit {fit:.2f} s")
    print(f"noise: pooled sd {model.noise:.3f} ({'log scale' if model.log else 'linear'}); repeated configurations:")
    for config, (n, mean, rsd) in model.noise_by_config().items():
        print(f"  {config:<10} n={n:<3} mean {mean:12.6g}   relative sd {100 * rsd:5.1f}%")
    print(f"{'per query':<28}{'microseconds':>14}")
    print(f"{'compiled forest + noise':<28}{compiled * 1e6:>14.1f}")
    print(f"{'scikit-learn predict (1 row)':<28}{sklearn * 1e6:>14.1f}")
    print(f"ratio scikit-learn / compiled: {sklearn / compiled:.1f}x; same predictions: {check}; "
          f"target: under 200 us, a fifth of a millisecond ({'met' if compiled < 2e-4 else 'NOT met'})")
    return 0 if check and ours else 1


if __name__ == "__main__":
    sys.exit(main())
