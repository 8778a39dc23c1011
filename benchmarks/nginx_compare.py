"""The live confirmation: the arms of ``compare.py`` tuning the real private nginx, side by side.

``compare.py`` measures optimisers on the recorded nginx surface, cheaply and with many
seeds; this script checks the surface's story on the live service: every arm tunes the same
private nginx (``studies/nginx``) through the same A-Tune runner for the same number of
trials, over a few seeds, all in one run, arms taking turns within each seed so that a drift
of the machine's load hits them alike. Trial 0 of every run is the baseline the runner
measures. The arms are ``compare.py``'s (``random``, ``tpe``, ``tpe-mv``, ``gp``, ``gbrt``,
``llm:SPEC``; ``llm:random`` and ``llm:expert`` are stand-ins, not models).

Usage (from the repository root; nginx and wrk from Debian's packages)::

    .venv/bin/python benchmarks/nginx_compare.py                      # 3 seeds x 15 trials x 3 s
    .venv/bin/python benchmarks/nginx_compare.py --arms tpe,llm:random,llm:expert,llm:local --seeds 3

Results go to ``--out`` (default ``out/nginx_compare``) in ``compare.py``'s formats
(``results.json``, ``results.md``, ``convergence.png``) plus the SQLite studies
(``studies.db``). Finished runs are kept in ``runs.jsonl``: the same command resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "nginx"
SCRIPTS = STUDY / "scripts"
sys.path.insert(0, str(ROOT / "benchmarks"))

import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from optbench.arms import ArmError, check_arm, make_arm  # noqa: E402
from optbench.problems import Problem  # noqa: E402
from optbench.protocol import RunRecord, RunStore, model_accounting  # noqa: E402
from optbench.summary import label, markdown_table, plot, summarize, to_json  # noqa: E402

DEFAULT_ARMS = "random,tpe,llm:random,llm:expert,llm:local"


def _script(name: str, *args: str) -> None:
    subprocess.run(["bash", str(SCRIPTS / name), *args], check=True, cwd=ROOT)


def live_problem() -> tuple[Problem, Any, Any]:
    """The live nginx as a :class:`Problem` (space, baseline, knowledge) and its A-Tune specs."""
    from atune_bridge import load_client, load_server
    from atune_bridge._runner import parameter_descriptions, project_knowledge

    server = load_server(STUDY / "nginx_server.yaml")
    client = load_client(STUDY / "nginx_client.yaml")
    baseline = {}
    for knob in server.tunable:
        out = subprocess.run(["/bin/sh", "-c", knob.get], cwd=ROOT, capture_output=True, text=True, check=True)
        baseline[knob.name] = knob.coerce(out.stdout.strip())
    text = (STUDY / "knowledge.md").read_text(encoding="utf-8")

    def unavailable(*_: Any) -> float:
        raise RuntimeError("the live problem is measured by the runner")

    problem = Problem(
        name="nginx-live", space=server.search_space(), direction="maximize", baseline=baseline,
        objective=unavailable, mean=unavailable,
        knowledge=project_knowledge(server, client, text, with_parameters=False),
        descriptions=parameter_descriptions(list(server.tunable)),
        about="the private nginx of studies/nginx measured with wrk",
    )
    return problem, server, client


def run_arm(arm_name: str, seed: int, args: argparse.Namespace, storage: str, problem: Problem,
            server: Any, client: Any) -> RunRecord:
    from atune_bridge import Runner, RunnerConfig

    study_name = f"nginx-compare-{arm_name}-seed{seed}-t{args.trials}"
    _script("param.sh", "reset")  # every run starts from the study's baseline settings
    arm = make_arm(arm_name, problem, seed, trials=args.trials, llm_timeout=args.llm_timeout)
    study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize", load_if_exists=True)
    arm.attach(study)  # the expert reads the best so far from storage
    config = RunnerConfig(storage=storage, study_name=study_name, llm="none", n_trials=args.trials,
                          seed=seed, benchmark_timeout=args.duration + 60, command_timeout=60, workdir=str(ROOT))

    def progress(report: Any) -> None:
        rps = report.metrics.get("rps")
        shown = f"{rps:9.0f} rps" if rps is not None else f"FAILED ({(report.reason or '')[:60]})"
        print(f"  {label(arm_name):<42} seed {seed} trial {report.number:>2}/{report.budget - 1}"
              f"  {report.source:<12} {shown}", flush=True)

    _script("start.sh")
    started = time.perf_counter()
    try:
        result = Runner(server, client, config, sampler=arm.sampler, on_trial=progress).run()
    finally:
        _script("stop.sh")
    if result.interrupted:
        raise KeyboardInterrupt(result.interrupted)
    values: list[float | None] = []
    finished = []
    bench = 0.0
    for t in sorted(result.study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.state not in (TrialState.COMPLETE, TrialState.FAIL):
            continue
        finished.append(t)
        rps = t.user_attrs.get("metrics", {}).get("rps") if t.state == TrialState.COMPLETE else None
        values.append(None if rps is None else float(rps))
        if t.datetime_start and t.datetime_complete:
            bench += (t.datetime_complete - t.datetime_start).total_seconds()
    seconds = time.perf_counter() - started
    sources, model_s, calls, failures = model_accounting(finished, arm_name)
    # a trial's duration includes the model call made when it was asked for: the benchmark's
    # time is the rest, and the sampler's what the run spent outside the trials
    return RunRecord(problem="nginx-live", arm=arm_name, seed=seed, trials=args.trials, values=values,
                     means=[None] * len(values), sources=sources, objective_s=max(0.0, bench - model_s),
                     sampler_s=max(0.0, seconds - bench), model_s=model_s,
                     model_calls=calls, model_failures=failures, seconds=seconds)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arms", default=DEFAULT_ARMS, help=f"comma-separated (default {DEFAULT_ARMS})")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per arm (default 3)")
    p.add_argument("--trials", type=int, default=15, help="trials per run, baseline included (default 15)")
    p.add_argument("--duration", type=int, default=3, help="seconds of wrk per trial (default 3, the study's)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    p.add_argument("--llm-timeout", type=float, default=300.0, help="seconds a model call may take (default 300)")
    p.add_argument("--port", type=int, default=18081, help="loopback port of the private nginx (default 18081)")
    p.add_argument("--out", type=Path, default=ROOT / "out" / "nginx_compare", help="results folder")
    args = p.parse_args(argv)
    args.arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if args.seeds < 1 or args.trials < 2 or args.duration < 1:
        p.error("need --seeds >= 1, --trials >= 2, --duration >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("nginx", "wrk"):
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
            print(f"nginx_compare: {tool} not found: apt-get install -y nginx wrk", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "NGINX_STUDY_DIR": str((args.out / "nginx-work").resolve()),
        "NGINX_STUDY_PORT": str(args.port),
        "NGINX_STUDY_DURATION": str(args.duration),
        "NGINX_STUDY_CONNECTIONS": str(args.connections),
    })
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _script("param.sh", "reset")
    problem, server, client = live_problem()
    try:
        for arm in args.arms:
            check_arm(arm, problem)
    except ArmError as e:
        print(f"nginx_compare: {e}", file=sys.stderr)
        return 2
    storage = f"sqlite:///{(args.out / 'studies.db').resolve()}"
    store = RunStore(args.out / "runs.jsonl")
    print(f"nginx_compare: arms {', '.join(label(a) for a in args.arms)}; seeds 0..{args.seeds - 1}; "
          f"{args.trials} trials x {args.duration} s of wrk; storage {storage}", flush=True)
    started = time.perf_counter()
    try:
        for seed in range(args.seeds):
            for arm in args.arms:
                if store.get(("nginx-live", arm, seed, args.trials)) is None:
                    record = run_arm(arm, seed, args, storage, problem, server, client)
                    store.add(record)
                    best = max((v for v in record.values if v is not None), default=float("nan"))
                    print(f"  -> {label(arm)} seed {seed}: baseline {record.values[0]} rps, best {best:.0f} rps, "
                          f"{record.seconds:.0f} s", flush=True)
    except KeyboardInterrupt:
        print("nginx_compare: interrupted; finished runs are kept, run the same command to resume", file=sys.stderr)
        return 130
    runs = [r for a in args.arms for r in sorted(store.runs("nginx-live", args.trials, [a]), key=lambda r: r.seed)
            if r.seed < args.seeds]
    observed = [v for r in runs for v in r.values if v is not None]
    baseline = sum(r.values[0] for r in runs if r.values[0]) / max(1, sum(1 for r in runs if r.values[0]))
    best_known = max(observed)
    summaries = summarize(runs, True, best_known, baseline)
    table = markdown_table("nginx-live", summaries, args.trials, best_known, baseline, True)
    command = (f"python benchmarks/nginx_compare.py --arms {','.join(args.arms)} --seeds {args.seeds} "
               f"--trials {args.trials} --duration {args.duration}")
    (args.out / "results.md").write_text(table + f"\n\nReproduce: `{command}`\n", encoding="utf-8")
    (args.out / "results.json").write_text(json.dumps({
        "direction": "maximize",
        "problem": "nginx-live",
        "arms": {a: {str(r.seed): r.values for r in runs if r.arm == a} for a in args.arms},
        "sources": {a: {str(r.seed): r.sources for r in runs if r.arm == a} for a in args.arms},
        "labels": {a: label(a) for a in args.arms},
        "baseline": baseline, "best_known": best_known,
        "summary": {s.arm: to_json(s) for s in summaries},
        "runs": [dataclasses.asdict(r) for r in runs],
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()} | {"command": command},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "wall_seconds_this_invocation": time.perf_counter() - started,
    }, indent=1) + "\n", encoding="utf-8")
    plot(args.out / "convergence.png", [("nginx-live (real nginx, wrk)", summaries, True, best_known)])
    print()
    print(table)
    print(f"results: {args.out / 'results.json'}")
    return 0 if all(store.get(("nginx-live", a, s, args.trials)) for a in args.arms for s in range(args.seeds)) else 1


if __name__ == "__main__":
    sys.exit(main())
