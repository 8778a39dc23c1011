"""Re-read a ``compare.py`` folder: paired differences at any trial, per range of seeds, and
the trials each arm takes to reach a share of each seed's best.

``compare.py``'s report sets every arm against one reference at fixed checkpoints, over all
seeds. Two questions it does not answer come up whenever a result looks surprising:

* **Does it hold on seeds it was not seen on?** ``--seeds 0-1200,1200-2400`` gives each range
  its own rows, so a finding from the first seeds can be checked on the next ones, decided
  before they ran.
* **Is one arm different from another arm** (not from the reference)? ``--between A,B``
  adds A minus B, paired by seed.
* **Is it the search or the crowning?** ``--evaluated`` compares the best noise-free value
  each run evaluated, not that of the configuration its noisy measurements crowned.

Every number is a paired difference of best-so-far (the noise-free value of the best measured
configuration after k trials, :func:`optbench.summary.incumbent_curve`), mean ± standard error
over the seeds both arms ran; positive is better. In brackets, the arm's difference of means in
the reference's standard errors, the unit of the decision rule in ``docs/evidence.md``.

``--seed-best`` reads the decision rule's good-advice criterion a second way: per seed, the best value is the best
final incumbent of the arms listed on that seed; the table gives the trials each arm took to
reach a share of it (a run that never did counts as trials + 1, as in ``compare.py``).

Usage::

    python benchmarks/paired.py DIR --at 30,60,100,150 \\
        --seeds 0-1200,1200-2400,0-2400 --between llm:random,llm:random+late-shot
    python benchmarks/paired.py DIR --arms llm:expert --seed-best 0.9,0.95

where ``DIR`` is a ``compare.py`` folder (its ``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from optbench.protocol import RunRecord, RunStore  # noqa: E402
from optbench.summary import (  # noqa: E402
    CHECKPOINTS,
    Curves,
    best_so_far,
    censored,
    curves_by_arm,
    first_reaching,
    incumbent_curve,
    label,
    mean_se,
    paired_curves,
    target_of,
)


def parse_ranges(text: str) -> list[range]:
    """``"0-1200,1200-2400"`` as ranges of seeds (the end excluded); ``""``: no range given."""
    out: list[range] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        start, sep, end = part.partition("-")
        if not sep or not start.isdigit() or not end.isdigit() or int(start) >= int(end):
            raise ValueError(f"--seeds: {part!r} is not a range FIRST-END of seeds with FIRST < END, e.g. 0-1200")
        out.append(range(int(start), int(end)))
    return out


def curves_of(runs: Sequence[RunRecord], maximize: bool, *, evaluated: bool = False) -> Curves:
    """Each arm's incumbent curves, by seed (:func:`~optbench.summary.curves_by_arm`); with
    ``evaluated``, the best noise-free value of any configuration evaluated so far instead:
    what the search found, whichever trial a noisy measurement would crown."""
    return curves_by_arm(runs, maximize, _evaluated_curve if evaluated else incumbent_curve)


def _evaluated_curve(run: RunRecord, maximize: bool) -> list[float | None]:
    return best_so_far(run.means, maximize)


def paired_row(curves: Curves, arm: str, other: str, seeds: range | None,
               maximize: bool) -> tuple[list[tuple[float, float]], int]:
    """``arm`` minus ``other`` per trial (:func:`~optbench.summary.paired_curves`; entry
    ``k - 1`` is best@k's), paired over the seeds in ``seeds`` both ran, and how many those
    are; positive is better."""
    kept = {a: {s: c for s, c in curves[a].items() if seeds is None or s in seeds} for a in (arm, other)}
    return paired_curves(kept, other, maximize)[arm], len(kept[arm].keys() & kept[other].keys())


def in_reference_se(curves: Curves, arm: str, reference: str, k: int, seeds: range | None) -> float:
    """The difference of means at best@``k`` over the seeds both ran, in the reference's
    standard errors (without the sign of the direction: see :func:`paired_table`)."""
    both = [s for s in curves[arm] if s in curves[reference] and (seeds is None or s in seeds)]
    ours = [curves[arm][s][k - 1] for s in both]
    theirs = [curves[reference][s][k - 1] for s in both]
    if any(v is None for v in ours + theirs):
        return float("nan")
    m, _ = mean_se(ours)  # type: ignore[arg-type]
    rm, rse = mean_se(theirs)  # type: ignore[arg-type]
    return (m - rm) / rse if rse and rse > 0 else float("nan")


def paired_table(curves: Curves, reference: str, arms: Sequence[str], checkpoints: Sequence[int],
                 ranges: Sequence[range | None], maximize: bool,
                 between: tuple[str, str] | None = None) -> str:
    """Markdown rows per range of seeds: each arm against ``reference`` and, with ``between``,
    the first of the pair against the second."""
    sign = 1.0 if maximize else -1.0
    lines = ["| seeds | arm | " + " | ".join(f"@{k}" for k in checkpoints) + " |",
             "|---|---|" + "---|" * len(checkpoints)]
    for seeds in ranges:
        rows: list[tuple[str, str, str | None]] = [(arm, reference, reference) for arm in arms]
        if between is not None:
            rows.append((between[0], between[1], None))
        for arm, other, in_units_of in rows:
            cells = []
            row, n = paired_row(curves, arm, other, seeds, maximize)
            for k in checkpoints:
                mean, se = row[k - 1]
                units = ("" if in_units_of is None else
                         f" ({sign * in_reference_se(curves, arm, in_units_of, k, seeds) + 0.0:+.1f})")
                cells.append(f"{mean:+,.0f} ± {se:,.0f}{units}")
            name = label(arm) if in_units_of is not None else f"{label(arm)} minus {label(other)}"
            where = "all" if seeds is None else f"{seeds.start}–{seeds.stop - 1}"
            lines.append(f"| {where} ({n}) | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seed_best_table(curves: Curves, arms: Sequence[str], shares: Sequence[float], trials: int,
                    maximize: bool) -> str:
    """Trials each of ``arms`` took to reach ``shares`` of each seed's best final incumbent
    among ``arms`` (a share of the way from the seed's baseline, as ``compare.py``'s levels,
    where values are not positive or are minimised): mean ± standard error, runs that reached
    it, and the ratio to the first arm's mean. Over the seeds every arm ran."""
    seeds = sorted(set.intersection(*(set(curves[a]) for a in arms)))
    pick = max if maximize else min
    head = "| arm | " + " | ".join(f"{share:.0%} of the seed's best" for share in shares) + " |"
    lines = [f"{len(seeds)} seeds; a run that never reached it counts as {trials + 1}.", "", head,
             "|---|" + "---|" * len(shares)]
    counts: dict[str, dict[float, list[int]]] = {a: {} for a in arms}
    for share in shares:
        for arm in arms:
            hits = []
            for s in seeds:
                best = pick(curves[a][s][-1] for a in arms)  # type: ignore[type-var]
                baseline = curves[arm][s][0]  # trial 0, the same configuration in every arm
                target = target_of(best, baseline, maximize, share)  # type: ignore[arg-type]
                hits.append(first_reaching(curves[arm][s], target, baseline, maximize))  # type: ignore[arg-type]
            counts[arm][share] = censored(hits, trials)
    first = arms[0]
    for arm in arms:
        cells = []
        for share in shares:
            xs = counts[arm][share]
            mean, se = mean_se(xs)
            ratio = "" if arm == first else f", ×{mean / mean_se(counts[first][share])[0]:.2f}"
            reached = sum(x <= trials for x in xs)
            cells.append(f"{mean:.2f} ± {se:.2f}, {reached}/{len(xs)}{ratio}")
        lines.append(f"| {label(arm)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _direction(folder: Path, override: str | None) -> bool:
    if override is not None:
        return override == "maximize"
    results = folder / "results.json"
    try:
        return json.loads(results.read_text(encoding="utf-8"))["direction"] == "maximize"
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"paired: {results}: cannot read the direction ({e}); give --direction") from e


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path, help="a compare.py --out folder (its runs.jsonl)")
    p.add_argument("--reference", default="tpe", help="the arm the others are set against (default tpe)")
    p.add_argument("--arms", default="", help="comma-separated arms (default: every arm but the reference)")
    p.add_argument("--at", default="", help="checkpoints, e.g. 10,30,150 (default 5,10,20,30 and the last trial)")
    p.add_argument("--seeds", default="", help="ranges of seeds, each its own rows, e.g. 0-1200,1200-2400 (default all)")
    p.add_argument("--between", default="", metavar="A,B", help="also A minus B, paired by seed")
    p.add_argument("--seed-best", default="", metavar="SHARES",
                   help="also the trials to these shares of each seed's best, e.g. 0.9,0.95 (reference first)")
    p.add_argument("--evaluated", action="store_true",
                   help="the best noise-free value evaluated so far, not the measured incumbent's")
    p.add_argument("--direction", choices=("maximize", "minimize"), help="default: the folder's results.json")
    args = p.parse_args(argv)

    path = args.folder / "runs.jsonl"
    if not path.is_file():
        p.error(f"{path}: no such file (give the --out folder of a compare.py run)")
    runs = RunStore(path).records()
    if not runs:
        p.error(f"{path}: no runs")
    maximize = _direction(args.folder, args.direction)
    curves = curves_of(runs, maximize, evaluated=args.evaluated)
    trials = min(r.trials for r in runs)
    try:
        ranges: list[range | None] = list(parse_ranges(args.seeds)) or [None]
    except ValueError as e:
        p.error(str(e))
    arms = [a for a in args.arms.split(",") if a] or [a for a in curves if a != args.reference]
    between = tuple(a for a in args.between.split(",") if a)
    for name in [args.reference, *arms, *between]:
        if name not in curves:
            p.error(f"{path} holds no runs of {name!r}; it holds {', '.join(sorted(curves))}")
    if between and len(between) != 2:
        p.error(f"--between takes two arms, A,B; got {args.between!r}")
    checkpoints = [int(k) for k in args.at.split(",") if k] or sorted({*CHECKPOINTS, trials} - {0})
    if any(not 1 <= k <= trials for k in checkpoints):
        p.error(f"--at: checkpoints must lie in 1..{trials}, got {args.at!r}")

    print(f"$ python benchmarks/paired.py {' '.join(sys.argv[1:] if argv is None else argv)}\n")
    what = "the best noise-free value evaluated" if args.evaluated else "best-so-far (noise-free)"
    print(f"{path}: paired difference to {args.reference} of {what}, mean ± standard error; "
          f"in brackets, in {args.reference}'s standard errors; positive is better.\n")
    print(paired_table(curves, args.reference, arms, checkpoints, ranges, maximize,
                       between if len(between) == 2 else None))  # type: ignore[arg-type]
    if args.seed_best:
        shares = [float(x) for x in args.seed_best.split(",") if x]
        print()
        print(seed_best_table(curves, [args.reference, *arms], shares, trials, maximize))
    return 0


if __name__ == "__main__":
    sys.exit(main())
