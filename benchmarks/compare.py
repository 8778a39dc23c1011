"""Compare optimisers on a cheap, faithful problem: many seeds, every arm side by side, one run.

Does a model's advice make tuning better? Each arm (a name on the command line) runs the
same problem for the same number of trials with each seed; trial 0 is always the baseline.
Seeds and arms are interleaved, finished runs are appended to ``DIR/runs.jsonl`` so a rerun
of the same command resumes (each ``llm:`` run keeps the schedule and choose it was built
with, and a folder whose runs of an arm were built otherwise, because a default changed, is
refused rather than mixed), and the results are printed and written as:

* ``DIR/results.json``: ``{"direction", "arms": {ARM: {SEED: [objective values in trial
  order]}}, ...}`` plus the noise-free values, the summary, the settings and the machine;
* ``DIR/results.md``: the table (mean ± standard error of best-so-far at trials 5, 10, 20,
  30, gain over the baseline, average rank, trials to 95% of the best known value, time
  split into objective, sampler and model);
* ``DIR/convergence.png``: mean best-so-far ± one standard error per arm;
* ``DIR/against-tpe.png`` (when ``tpe`` is an arm): each arm's paired difference to TPE per
  trial, mean ± one standard error, where gaps too small for the convergence plot show.

Usage, from the repository root::

    .venv/bin/python benchmarks/compare.py --list
    .venv/bin/python benchmarks/compare.py --problem nginx-surface \\
        --arms random,tpe,tpe-mv,gp,gbrt,llm:random,llm:expert,llm:local \\
        --seeds 20 --llm-seeds 10 --trials 30 --out out/compare/nginx-surface

``--problem`` takes several problems, comma-separated (``--problem
nginx-surface,mariadb-surface``): each is run in turn with the same arms and seeds, and its
files go to ``DIR/PROBLEM/``. When peers (SMAC3, HEBO, NGOpt) are among the arms, the tables
also set every other arm against the best of them at each checkpoint.

``--problem PATH`` takes any recorded surface folder (``surface.json`` + ``measurements.csv``,
see ``benchmarks/record_surface.py`` and ``docs/benchmarks.md``). ``llm:random`` and
``llm:expert`` are stand-ins, not models, and are labelled so everywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from optbench.arms import LLM_ARMS, LLM_OPTIONS, MODEL_FREE, PEERS, ArmError, check_arm, make_arm, split_arm  # noqa: E402
from optbench.problems import PROBLEMS, Problem, ProblemError, make_problem  # noqa: E402
from optbench.protocol import RunRecord, RunStore, run_once  # noqa: E402
from optbench.summary import (  # noqa: E402
    STAND_IN, against_peers, against_reference, by_source_table, chosen_and_written, label, markdown_table, plot, plot_against, summarize, to_json,
    trials_to_levels,
)

_PROBLEM: dict[str, Problem] = {}


def _quiet() -> None:
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("optuna_llm_sampler").setLevel(logging.ERROR)


def _run_in_worker(problem_name: str, arm: str, seed: int, trials: int, llm_timeout: float,
                   llm_threads: int | None) -> RunRecord:
    _quiet()
    if problem_name not in _PROBLEM:
        _PROBLEM[problem_name] = make_problem(problem_name)
    return run_once(_PROBLEM[problem_name], arm, seed, trials, llm_timeout=llm_timeout,
                    llm_threads=llm_threads)


def seeds_for(arm: str, args: argparse.Namespace) -> int:
    """``--seeds-for`` if it names the arm; arms that call a real model ``--llm-seeds``; else ``--seeds``."""
    if arm in args.seeds_for:
        return args.seeds_for[arm]
    return args.llm_seeds if arm.startswith("llm:") and split_arm(arm)[0] not in STAND_IN else args.seeds


def print_list() -> None:
    print("problems:")
    for name, factory in PROBLEMS.items():
        try:
            about = factory().about
        except Exception as e:  # a missing surface file is shown, not fatal for --list
            about = f"unavailable: {e}"
        print(f"  {name:<24} {about}")
    print("  PATH                     any recorded surface folder (surface.json + measurements.csv)")
    print("arms:")
    for name, (_, about) in MODEL_FREE.items():
        print(f"  {name:<24} {about}")
    for name, about in LLM_ARMS.items():
        print(f"  {name:<24} {about}")
    print("options of llm: arms, as +NAME suffixes (llm:random+adaptive+screen):")
    for name, (_, about) in LLM_OPTIONS.items():
        print(f"  +{name:<23} {about}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list", action="store_true", help="print the problems and arms, then exit")
    p.add_argument("--problem", default="nginx-surface",
                   help="problem name or surface folder, or several comma-separated (each to OUT/PROBLEM; "
                        "default nginx-surface)")
    p.add_argument("--arms", default="random,tpe,llm:random", help="comma-separated arms (default random,tpe,llm:random)")
    p.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 for model-free arms (default 20)")
    p.add_argument("--llm-seeds", type=int, default=None,
                   help="seeds for arms that call a real model (default: --seeds); the stand-ins "
                        "llm:random and llm:expert run --seeds")
    p.add_argument("--seeds-for", default="", metavar="ARM=N,...",
                   help="seeds for particular arms, e.g. gp=10 for a slow sampler (default none)")
    p.add_argument("--trials", type=int, default=30, help="trials per run, baseline included (default 30)")
    p.add_argument("--reference", default=None,
                   help="the arm every other is set against, paired by seed (default tpe; e.g. "
                        "tpe-starts20 for A-Tune's random_starts)")
    p.add_argument("--out", type=Path, default=ROOT / "out" / "compare", help="results folder (default out/compare)")
    p.add_argument("--jobs", type=int, default=1, help="runs at once in separate processes (default 1)")
    p.add_argument("--llm-timeout", type=float, default=300.0, help="seconds a model call may take (default 300)")
    p.add_argument("--llm-threads", type=int, default=None,
                   help="CPU threads of the local model (default: its own, 2); 1 on a busy machine, "
                        "where llama.cpp's threads wait on each other. Changes time, not results")
    args = p.parse_args(argv)
    if args.llm_threads is not None and args.llm_threads < 1:
        p.error(f"--llm-threads must be at least 1, got {args.llm_threads}")
    if args.list:
        return args
    args.problems = [x.strip() for x in args.problem.split(",") if x.strip()]
    if not args.problems:
        p.error("--problem names no problem")
    args.arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if not args.arms:
        p.error("--arms names no arm")
    if args.seeds < 1 or args.trials < 2 or args.jobs < 1:
        p.error("need --seeds >= 1, --trials >= 2, --jobs >= 1")
    if args.llm_seeds is None:
        args.llm_seeds = args.seeds
    overrides = {}
    for item in filter(None, (x.strip() for x in args.seeds_for.split(","))):
        arm, _, n = item.partition("=")
        if arm.strip() not in args.arms or not n.strip().isdigit() or int(n) < 1:
            p.error(f"--seeds-for {item!r}: expected ARM=N with an arm of --arms and N >= 1")
        overrides[arm.strip()] = int(n)
    args.seeds_for = overrides
    if args.reference is None:
        args.reference = "tpe"  # no table against it when --arms has no tpe
    elif args.reference not in args.arms:
        p.error(f"--reference {args.reference!r} is not one of --arms ({', '.join(args.arms)}); "
                "add it to --arms or name one of them")
    return args


def _settings(arm: str, problem: Problem) -> str:
    """``Arm.settings`` of ``arm`` as this code builds it; empty where it cannot be built here
    (a model without its key, say): its runs then fail and say why."""
    try:
        return make_arm(arm, problem, 0).settings
    except Exception:  # noqa: BLE001 - the run itself reports the error
        return ""


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print_list()
        return 0
    _quiet()
    problems: list[Problem] = []
    try:
        for name in args.problems:
            problems.append(make_problem(name))
            for arm in args.arms:
                check_arm(arm, problems[-1])
    except (ProblemError, ArmError, ValueError) as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    if len(problems) == 1:
        return compare_one(args, args.problems[0], problems[0], args.out)
    for name, problem in zip(args.problems, problems):
        code = compare_one(args, name, problem, args.out / problem.name)
        if code:
            return code
    return 0


def compare_one(args: argparse.Namespace, name: str, problem: Problem, out: Path) -> int:
    """Run every arm and seed of ``args`` on ``problem`` (called ``name`` on the command line),
    resuming from ``out/runs.jsonl``, and write the results to ``out``."""
    _PROBLEM[name] = problem
    store = RunStore(out / "runs.jsonl")
    for arm in args.arms:
        settings = _settings(arm, problem) if arm.startswith("llm:") else ""
        conflict = store.settings_conflict(arm, settings) if settings else None
        if conflict:
            print(f"compare: {conflict}", file=sys.stderr)
            return 2
    plan = [(arm, seed) for seed in range(max([args.seeds, args.llm_seeds, *args.seeds_for.values()]))
            for arm in args.arms
            if seed < seeds_for(arm, args)]
    todo = [(a, s) for a, s in plan if store.get((problem.name, a, s, args.trials)) is None]
    print(f"compare: {problem.name} ({problem.direction}); arms {', '.join(label(a) for a in args.arms)}; "
          f"{args.trials} trials; {len(plan)} runs, {len(plan) - len(todo)} already in {store.path}", flush=True)
    started = time.perf_counter()

    def done(record: RunRecord, count: int) -> None:
        store.add(record)
        finite = [v for v in record.values if v is not None]
        best = (max if problem.maximize else min)(finite) if finite else float("nan")
        print(f"  [{count}/{len(todo)}] {label(record.arm)} seed {record.seed}: best {best:.6g} "
              f"({record.seconds:.1f} s; model {record.model_s:.1f} s in {record.model_calls} calls)", flush=True)

    try:
        if args.jobs == 1:
            for i, (arm, seed) in enumerate(todo, start=1):
                done(run_once(problem, arm, seed, args.trials, llm_timeout=args.llm_timeout,
                              llm_threads=args.llm_threads), i)
        else:
            with ProcessPoolExecutor(max_workers=args.jobs) as pool:
                futures = [pool.submit(_run_in_worker, name, a, s, args.trials, args.llm_timeout,
                                       args.llm_threads)
                           for a, s in todo]
                for i, future in enumerate(futures, start=1):
                    done(future.result(), i)
    except KeyboardInterrupt:
        print("compare: interrupted; finished runs are kept, run the same command to resume", file=sys.stderr)
        return 130
    wall = time.perf_counter() - started
    write_results(args, problem, store, wall, out)
    return 0


def write_results(args: argparse.Namespace, problem: Problem, store: RunStore, wall: float,
                  out: Path | None = None) -> None:
    out = args.out if out is None else out
    runs = [r for arm in args.arms for r in sorted(store.runs(problem.name, args.trials, [arm]), key=lambda r: r.seed)
            if r.seed < seeds_for(arm, args)]
    baseline_values = [r.means[0] for r in runs if r.means and r.means[0] is not None]
    baseline = float(sum(baseline_values) / len(baseline_values)) if baseline_values else float("nan")
    # the best (noise-free) value of any configuration any run of any arm tried
    tried = [m for r in runs for m in r.means if m is not None]
    best_known = (max if problem.maximize else min)(tried)
    gap = problem.surface is None  # synthetic values cross zero: % of the way to the best, not % gain
    summaries = summarize(runs, problem.maximize, best_known, baseline, gap=gap)
    table = markdown_table(problem.name, summaries, args.trials, best_known, baseline, problem.maximize, gap=gap)
    if problem.optimum is not None:
        table += f"\n\nThe function's true optimum is {problem.optimum:.6g}."
    versus = against_reference(runs, summaries, args.reference, problem.maximize)
    if versus:
        table += "\n\n" + versus
    field = against_peers(runs, summaries, PEERS, problem.maximize)
    if field:
        table += "\n\n" + field
    levels = trials_to_levels(runs, args.trials, best_known, baseline, problem.maximize, args.reference)
    if levels:
        table += "\n\n" + levels
    sources = by_source_table(runs)
    if sources:
        table += "\n\n" + sources
    split = chosen_and_written(runs)
    if split:
        table += "\n\n" + split
    quality = None
    if problem.surface is not None:
        q = problem.surface.quality()
        quality = asdict(q) | {"noise_sd": problem.surface.noise, "noise_scale": "log" if problem.surface.log else "linear"}
        table = (f"Surrogate: random forest on {q.rows} measurements of {q.configs} configurations; held-out "
                 f"({q.folds}-fold, grouped by configuration) Spearman {q.spearman:.3f}, R² {q.r2:.3f} "
                 f"(R² {q.r2_log:.3f} on the log scale); noise sd {problem.surface.noise:.3f} "
                 f"({'log scale' if problem.surface.log else 'linear'}).\n\n") + table
    out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/compare.py " + " ".join(
        [f"--problem {','.join(args.problems)}", f"--arms {','.join(args.arms)}", f"--seeds {args.seeds}",
         f"--llm-seeds {args.llm_seeds}", f"--trials {args.trials}", f"--out {args.out}"]
        + ([f"--seeds-for {','.join(f'{a}={n}' for a, n in args.seeds_for.items())}"] if args.seeds_for else [])
        + ([f"--reference {args.reference}"] if args.reference != "tpe" else []))
    result: dict[str, Any] = {
        "direction": problem.direction,
        "problem": problem.name,
        "arms": {r_arm: {str(r.seed): r.values for r in runs if r.arm == r_arm} for r_arm in args.arms},
        "noise_free": {r_arm: {str(r.seed): r.means for r in runs if r.arm == r_arm} for r_arm in args.arms},
        "sources": {r_arm: {str(r.seed): r.sources for r in runs if r.arm == r_arm} for r_arm in args.arms},
        "labels": {a: label(a) for a in args.arms},
        "baseline": baseline,
        "best_known": best_known,
        "best_known_means": "the best noise-free value of any configuration any run of any arm tried",
        "optimum": problem.optimum,
        "summary": {s.arm: to_json(s) for s in summaries},
        "surrogate": quality,
        "settings": {"trials": args.trials, "seeds": args.seeds, "llm_seeds": args.llm_seeds, "jobs": args.jobs,
                     "seeds_for": args.seeds_for,
                     "llm_timeout": args.llm_timeout, "llm_threads": args.llm_threads,
                     "command": command},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "wall_seconds_this_invocation": wall,
        "date": time.strftime("%Y-%m-%d"),
    }
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (out / "results.md").write_text(table + f"\n\nReproduce: `{command}`\n", encoding="utf-8")
    try:
        plot(out / "convergence.png", [(problem.name, summaries, problem.maximize, best_known)])
        plotted = f", {out / 'convergence.png'}"
        if versus:
            against = out / f"against-{args.reference.replace(':', '-')}.png"
            plot_against(against, problem.name, runs, args.reference, problem.maximize)
            plotted += f", {against}"
    except ImportError:
        plotted = " (no plot: matplotlib is not installed; it comes with the bench extra)"
    print()
    print(table)
    print(f"\ncompare: {wall:.0f} s this invocation; {out / 'results.json'}, {out / 'results.md'}{plotted}")


if __name__ == "__main__":
    sys.exit(main())
