"""Record a service's response surface: a space-filling design measured on the real service.

Runs an A-Tune project (server + client YAML) through ``atune_bridge.Runner`` with a fixed
plan instead of an optimiser: the baseline, ``--points`` configurations of a scrambled Sobol
design over the project's knobs, and ``--repeats`` re-measurements each of the baseline and
of the first ``--repeat-configs`` design points, spread evenly through the run so that the
measured noise includes the machine's drift. Every measurement lands in an Optuna study
(SQLite), so a killed recording resumes where it stopped when run again. At the end the
measurements are written as a surface folder that ``benchmarks/compare.py --problem DIR``
reads:

* ``measurements.csv``: one row per measurement: ``kind`` (baseline, design, repeat),
  ``config`` (``baseline`` or ``dNNNN``, the design point), the knob values, the metric, the
  trial, its seconds and, in quiet mode, ``other_cpu``: the CPUs other processes used
  while it was measured.
* ``surface.json``: the metric, its direction, each knob's type and domain, the baseline,
  and how, where and when it was recorded (versions, machine, date, settings).

Usage, from the repository root (nginx and wrk from Debian's packages; ~45 min)::

    .venv/bin/python benchmarks/record_surface.py --out benchmarks/surfaces/nginx \\
        --server studies/nginx/nginx_server.yaml --client studies/nginx/nginx_client.yaml \\
        --metric rps --setup "bash studies/nginx/scripts/param.sh reset" \\
        --setup "bash studies/nginx/scripts/start.sh" \\
        --teardown "bash studies/nginx/scripts/stop.sh" \\
        --version "nginx -v" --version "wrk --version"

Quiet mode (``--quiet CPUS``) is for a machine shared with other work: before each
measurement the recorder watches the CPU time of every process that is neither its own (it
runs the load generator) nor the service's (``--quiet-own``: a substring of the service's
command lines, such as its work folder) and waits, saying so, while they use more than
``CPUS`` cores; a measurement during which they used more is taken again (at most
``--quiet-retakes`` times). Each trial keeps the load in its user attributes (``other_cpu``,
``other_cpu_before``, ``quiet_waited``; a retaken one ``quiet_retake``), and the exported rows
leave the retaken measurements out (see ``optbench.quiet``).

Any other project records the same way: its own YAML files, metric, setup and teardown.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial, TrialState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from optbench.quiet import QuietGate, QuietOptions  # noqa: E402
from optbench.surface import knob_from_distribution  # noqa: E402

PLAN_ATTR = "surface_plan"
BASELINE_INDEX = -1
"""The plan index of the baseline's own measurement, trial 0, when it is taken again."""
LOAD_ATTR = "other_cpu"
LOAD_BEFORE_ATTR = "other_cpu_before"
WAITED_ATTR = "quiet_waited"
RETAKE_ATTR = "quiet_retake"
FAILURES_TO_GIVE_UP = 2
"""A planned configuration that fails this often (the service refuses it, say) is left out."""


def sobol_design(space: Mapping[str, BaseDistribution], n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` points of a scrambled Sobol sequence mapped onto ``space`` (grids and choices)."""
    from scipy.stats import qmc

    unit = qmc.Sobol(d=len(space), scramble=True, seed=seed).random(n)
    points = []
    for row in unit:
        point: dict[str, Any] = {}
        for u, (name, dist) in zip(row, space.items()):
            point[name] = from_unit(dist, float(u))
        points.append(point)
    return points


def from_unit(dist: BaseDistribution, u: float) -> Any:
    """The value at quantile ``u`` in [0, 1) of a uniform draw from ``dist``."""
    u = min(max(u, 0.0), math.nextafter(1.0, 0.0))
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(u * len(dist.choices))]
    if isinstance(dist, IntDistribution):
        if dist.log:
            return int(round(math.exp(math.log(dist.low) + u * (math.log(dist.high) - math.log(dist.low)))))
        count = (dist.high - dist.low) // dist.step + 1
        return dist.low + int(u * count) * dist.step
    if isinstance(dist, FloatDistribution):
        if dist.step is not None:
            count = int(round((dist.high - dist.low) / dist.step)) + 1
            return dist.low + int(u * count) * dist.step
        if dist.log:
            return math.exp(math.log(dist.low) + u * (math.log(dist.high) - math.log(dist.low)))
        return dist.low + u * (dist.high - dist.low)
    raise TypeError(f"unsupported distribution {dist!r}")


def make_plan(n_points: int, repeat_configs: int, repeats: int) -> list[tuple[str, str]]:
    """The order of measurements after the baseline: ``(kind, config)`` pairs.

    Repeats of the baseline and of the first design points are spread evenly among the
    design points, cycling through the repeated configurations.
    """
    repeated = ["baseline"] + [f"d{i:04d}" for i in range(min(repeat_configs, n_points))]
    extra = [c for _ in range(repeats) for c in repeated]
    # the runner's own trial 0 is the baseline's first measurement
    if "baseline" in extra:
        extra.remove("baseline")
    plan: list[tuple[str, str]] = []
    gap = n_points / max(1, len(extra))
    next_repeat = gap / 2
    design_done = 0
    for i in range(n_points):
        plan.append(("design", f"d{i:04d}"))
        design_done += 1
        while extra and design_done >= next_repeat:
            plan.append(("repeat", extra.pop(0)))
            next_repeat += gap
    plan.extend(("repeat", c) for c in extra)
    return plan


def plan_index(trial: FrozenTrial) -> int | None:
    """The planned measurement a trial made: its plan index, ``BASELINE_INDEX`` for trial 0."""
    if trial.number == 0:
        return BASELINE_INDEX
    index = trial.user_attrs.get(PLAN_ATTR)
    return index if isinstance(index, int) else None


def done_indices(study: optuna.Study) -> set[int]:
    """The planned measurements completed and kept (not marked to be taken again)."""
    return {i for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if not t.user_attrs.get(RETAKE_ATTR) and (i := plan_index(t)) is not None}


def retaken(study: optuna.Study) -> int:
    """How many measurements were marked to be taken again."""
    return sum(1 for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.user_attrs.get(RETAKE_ATTR))


def given_up(study: optuna.Study) -> set[int]:
    """Planned measurements that failed ``FAILURES_TO_GIVE_UP`` times: not tried again."""
    failures = Counter(plan_index(t) for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
    return {i for i, n in failures.items() if i is not None and i != BASELINE_INDEX and n >= FAILURES_TO_GIVE_UP}


def settled(study: optuna.Study) -> set[int]:
    """Planned measurements that need no more trials: completed and kept, or given up."""
    return done_indices(study) | given_up(study)


def remaining(study: optuna.Study, plan: Sequence[tuple[str, str]]) -> int:
    """How many planned measurements, the baseline's included, are still to be made."""
    done = settled(study)
    return sum(1 for i in range(BASELINE_INDEX, len(plan)) if i not in done)


class PlanSampler(BaseSampler):
    """Gives each new trial the first planned measurement not yet completed.

    The plan index is stored on the trial, so a trial that failed or was killed is measured
    again by the next one (a configuration that fails twice is left out), and a resumed
    recording continues where it stopped. With a
    :class:`~optbench.quiet.QuietGate`, each trial first waits for a quiet machine, and a
    trial during which other processes were busy is marked to be taken again (the baseline's
    own measurement, trial 0, too: a later trial then measures the baseline in its place).
    """

    def __init__(self, space: Mapping[str, BaseDistribution], plan: Sequence[tuple[str, str]],
                 design: Sequence[Mapping[str, Any]], gate: QuietGate | None = None,
                 say: Callable[[str], None] = print) -> None:
        self._space = dict(space)
        self._plan = list(plan)
        self._design = list(design)
        self._gate = gate
        self._say = say
        self._fallback = RandomSampler(seed=0)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return dict(self._space)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        done = settled(study)
        index = next((i for i in range(BASELINE_INDEX, len(self._plan)) if i not in done), len(self._plan) - 1)
        kind, config = ("baseline", "baseline") if index == BASELINE_INDEX else self._plan[index]
        attrs: dict[str, Any] = {PLAN_ATTR: index, "surface_kind": kind, "surface_config": config}
        if self._gate is not None:
            attrs[LOAD_BEFORE_ATTR] = round(self._gate.wait(), 3)
            attrs[WAITED_ATTR] = round(self._gate.waited, 1)
        for key, value in attrs.items():
            study._storage.set_trial_user_attr(trial._trial_id, key, value)
        if self._gate is not None:
            self._gate.start()
        if config == "baseline":
            return dict(baseline_trial(study).params)
        return dict(self._design[int(config[1:])])

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        """Record the load over the trial; mark a completed one to be taken again when it was busy.

        Optuna calls this before the trial is finished, so its user attributes can still be set.
        """
        if self._gate is None:
            return
        load = self._gate.finish()
        if load is None:
            return
        study._storage.set_trial_user_attr(trial._trial_id, LOAD_ATTR, round(load, 3))
        index = plan_index(trial)
        if state != TrialState.COMPLETE or index is None or load <= self._gate.options.threshold:
            return
        taken = sum(1 for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                    if t.user_attrs.get(RETAKE_ATTR) and plan_index(t) == index)
        if taken >= self._gate.options.retakes:
            self._say(f"trial {trial.number}: other processes used {load:.2f} CPUs while it was measured; "
                      f"kept, as it was taken {taken + 1} times")
            return
        study._storage.set_trial_user_attr(trial._trial_id, RETAKE_ATTR, True)
        self._say(f"trial {trial.number}: other processes used {load:.2f} CPUs while it was measured "
                  f"(threshold {self._gate.options.threshold:.2f}): measuring it again")


def baseline_trial(study: optuna.Study) -> FrozenTrial:
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.number == 0:
            return t
    raise RuntimeError("the baseline (trial 0) has not been measured")


def run_commands(commands: Sequence[str], workdir: Path) -> None:
    for command in commands:
        subprocess.run(["/bin/sh", "-c", command], check=True, cwd=workdir)


def versions(commands: Sequence[str], workdir: Path) -> dict[str, str]:
    out = {}
    for command in commands:
        done = subprocess.run(["/bin/sh", "-c", command], cwd=workdir, capture_output=True, text=True)
        text = (done.stdout + done.stderr).strip().splitlines()
        out[command] = text[0] if text else f"exit {done.returncode}"
    return out


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "platform": platform.platform(), "python": platform.python_version()}


def repeat_noise(rows: Sequence[Mapping[str, Any]], metric: str) -> dict[str, Any]:
    """The noise the repeated configurations measured: per configuration its measurements, mean
    and relative standard deviation, and the pooled standard deviation of the log of the metric
    (what the benchmark's surrogate adds to a query)."""
    groups: dict[str, list[float]] = {}
    for row in rows:
        groups.setdefault(str(row["config"]), []).append(float(row[metric]))
    repeated = {config: values for config, values in groups.items() if len(values) > 1}
    per_config = {}
    squares, dof = 0.0, 0
    for config, values in repeated.items():
        mean = statistics.fmean(values)
        per_config[config] = {"n": len(values), "mean": round(mean, 2),
                              "rsd": round(statistics.stdev(values) / mean, 4) if mean else None}
        logs = [math.log(v) for v in values if v > 0]
        if len(logs) > 1:
            squares += statistics.variance(logs) * (len(logs) - 1)
            dof += len(logs) - 1
    return {"repeats": per_config, "pooled_log_sd": round(math.sqrt(squares / dof), 4) if dof else None}


def export(study: optuna.Study, space: Mapping[str, BaseDistribution], metric: str, direction: str,
           out: Path, meta: dict[str, Any], descriptions: Mapping[str, str], knowledge: str | None) -> int:
    """Write ``measurements.csv`` and ``surface.json``; returns the number of rows.

    Measurements marked to be taken again (quiet mode) are left out; ``meta["quiet"]`` gets
    how many there were. The ``other_cpu`` column is written when any trial has the load.
    """
    names = list(space)
    rows = []
    left_out = 0
    baseline = baseline_trial(study)
    for t in sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number):
        value = t.user_attrs.get("metrics", {}).get(metric)
        if value is None:
            continue
        if t.user_attrs.get(RETAKE_ATTR):
            left_out += 1
            continue
        if t.number == 0:
            kind, config = "baseline", "baseline"
        elif PLAN_ATTR in t.user_attrs:
            kind, config = t.user_attrs["surface_kind"], t.user_attrs["surface_config"]
        else:
            continue
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_start and t.datetime_complete else ""
        rows.append({"kind": kind, "config": config, **{n: t.params[n] for n in names}, metric: value,
                     "trial": t.number, "seconds": seconds, LOAD_ATTR: t.user_attrs.get(LOAD_ATTR, "")})
    dropped = given_up(study)
    failed = {t.user_attrs.get("surface_config") for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
              if plan_index(t) in dropped}
    if failed:
        meta["failed"] = sorted(failed)
    columns = ["kind", "config", *names, metric, "trial", "seconds"]
    if any(row[LOAD_ATTR] != "" for row in rows):
        columns.append(LOAD_ATTR)
        loads = sorted(float(row[LOAD_ATTR]) for row in rows if row[LOAD_ATTR] != "")
        meta.setdefault("quiet", {}).update({
            "retaken": left_out,
            "other_cpu_median": round(loads[len(loads) // 2], 3),
            "other_cpu_max": round(loads[-1], 3),
        })
    else:
        for row in rows:
            del row[LOAD_ATTR]
    meta["noise"] = repeat_noise(rows, metric)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "measurements.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    surface = {
        "name": meta.pop("name"),
        "metric": metric,
        "direction": direction,
        "knobs": [knob_from_distribution(n, d, descriptions.get(n)) for n, d in space.items()],
        "baseline": {n: baseline.params[n] for n in names},
        "recorded": meta,
    }
    if knowledge:
        surface["knowledge"] = knowledge
    (out / "surface.json").write_text(json.dumps(surface, indent=2) + "\n", encoding="utf-8")
    return len(rows)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", type=Path, required=True, help="A-Tune server YAML")
    p.add_argument("--client", type=Path, required=True, help="A-Tune client YAML")
    p.add_argument("--metric", required=True, help="the client evaluation recorded")
    p.add_argument("--out", type=Path, required=True, help="surface folder to write")
    p.add_argument("--name", default=None, help="surface name (default: the project's)")
    p.add_argument("--points", type=int, default=512, help="Sobol design points (default 512)")
    p.add_argument("--repeat-configs", type=int, default=3,
                   help="design points re-measured besides the baseline (default 3)")
    p.add_argument("--repeats", type=int, default=10, help="measurements of each repeated configuration (default 10)")
    p.add_argument("--seed", type=int, default=0, help="Sobol scrambling seed (default 0)")
    p.add_argument("--setup", action="append", default=[], help="command run before (repeatable)")
    p.add_argument("--teardown", action="append", default=[], help="command run after (repeatable)")
    p.add_argument("--knowledge", default=None,
                   help="text file of background a model is given (path relative to the repository)")
    p.add_argument("--version", action="append", default=[], help="command whose first output line is recorded")
    p.add_argument("--workdir", type=Path, default=ROOT,
                   help="directory the project's commands run in (default the repository root)")
    p.add_argument("--storage", default=None, help="Optuna storage (default OUT/recording.db, resumable)")
    p.add_argument("--export-only", action="store_true", help="write the files from the stored study, measure nothing")
    quiet = p.add_argument_group("quiet mode", "measure only while other processes leave the CPU alone")
    quiet.add_argument("--quiet", type=float, default=None, metavar="CPUS",
                       help=f"wait before each measurement while other processes use more than CPUS cores, and take "
                            f"a measurement again when they did during it (suggested: {QuietOptions.threshold})")
    quiet.add_argument("--quiet-own", action="append", default=[], metavar="TEXT",
                       help="a substring of the service's command lines (its work folder, say): those processes and "
                            "their descendants are the service's, not other load (repeatable)")
    quiet.add_argument("--quiet-window", type=float, default=QuietOptions.window, metavar="SEC",
                       help="seconds of each check before a measurement (default %(default)s)")
    quiet.add_argument("--quiet-max-wait", type=float, default=QuietOptions.max_wait, metavar="SEC",
                       help="measure anyway after waiting this long for a quiet window (default %(default)s)")
    quiet.add_argument("--quiet-retakes", type=int, default=QuietOptions.retakes, metavar="N",
                       help="take one measurement again at most N times (default %(default)s)")
    args = p.parse_args(argv)
    if args.quiet is not None and not args.quiet >= 0:
        p.error(f"--quiet {args.quiet}: expected CPUs >= 0")
    if args.quiet_window <= 0 or args.quiet_max_wait < 0 or args.quiet_retakes < 0:
        p.error("--quiet-window must be positive, --quiet-max-wait and --quiet-retakes not negative")
    return args


def quiet_options(args: argparse.Namespace) -> QuietOptions | None:
    if args.quiet is None:
        return None
    return QuietOptions(threshold=args.quiet, window=args.quiet_window, max_wait=args.quiet_max_wait,
                        retakes=args.quiet_retakes, own=tuple(args.quiet_own))


def load_recording(storage: str, study_name: str) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        return None


def say(message: str) -> None:
    print(f"record_surface: {message}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from atune_bridge import Runner, RunnerConfig, load_client, load_server

    server = load_server(args.server)
    client = load_client(args.client)
    evaluation = next((e for e in client.evaluations if e.name == args.metric), None)
    if evaluation is None:
        print(f"record_surface: {args.client}: no evaluation named {args.metric!r}", file=sys.stderr)
        return 2
    direction = "maximize" if evaluation.type == "negative" else "minimize"
    space = server.search_space()
    design = sobol_design(space, args.points, args.seed)
    plan = make_plan(args.points, args.repeat_configs, args.repeats)
    args.out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{(args.out / 'recording.db').resolve()}"
    study_name = f"surface-{server.project}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.monotonic()
    options = quiet_options(args)
    if not args.export_only:
        gate = QuietGate(options, say=say) if options is not None else None
        sampler = PlanSampler(space, plan, design, gate=gate, say=say)
        total = 1 + len(plan)

        def progress(report: Any) -> None:
            value = report.metrics.get(args.metric)
            shown = f"{value:.6g}" if value is not None else f"FAILED ({(report.reason or '')[:60]})"
            rate = (time.monotonic() - started) / max(1, report.finished)
            recording = load_recording(storage, study_name)
            done = total - remaining(recording, plan) if recording is not None else 0
            trial = recording.trials[report.number] if recording is not None else None
            load = "" if trial is None or LOAD_ATTR not in trial.user_attrs else (
                f", other CPU {trial.user_attrs[LOAD_ATTR]:.2f}")
            say(f"{done}/{total} trial {report.number} {args.metric} {shown}{load}  ({rate:.1f} s a trial this run)")

        # A stop while the recorder waits for a quiet machine (outside the runner, which
        # handles its own signals) still runs the teardown.
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
        run_commands(args.setup, args.workdir)
        try:
            # One run of the runner per pass: a measurement taken again, or one that failed,
            # needs a trial more than the plan's, and the runner's budget is set per run.
            while True:
                recording = load_recording(storage, study_name)
                left = remaining(recording, plan) if recording is not None else total
                if left == 0:
                    break
                finished = 0 if recording is None else len(
                    recording.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)))
                retakes_before = 0 if recording is None else retaken(recording)
                if gate is not None and finished == 0:  # the runner measures the baseline first
                    gate.wait()
                    gate.start()
                config = RunnerConfig(storage=storage, study_name=study_name, llm="none", n_trials=finished + left,
                                      seed=args.seed, benchmark_timeout=600, command_timeout=60,
                                      workdir=str(args.workdir))
                result = Runner(server, client, config, sampler=sampler, on_trial=progress).run()
                if result.interrupted:
                    print(f"record_surface: interrupted ({result.interrupted}); run again to resume", file=sys.stderr)
                    return 1
                recording = load_recording(storage, study_name)
                if recording is None or (remaining(recording, plan) >= left and retaken(recording) == retakes_before):
                    print(f"record_surface: a pass measured nothing new ({left} measurements left, failing); "
                          "see the failed trials' fail_reason, then run again to resume", file=sys.stderr)
                    return 1
        finally:
            run_commands(args.teardown, args.workdir)
    study = optuna.load_study(study_name=study_name, storage=storage)
    meta = {
        "name": args.name or server.project,
        "date": _dt.date.today().isoformat(),
        "versions": versions(args.version, args.workdir),
        "machine": machine(),
        "design": f"scrambled Sobol, seed {args.seed}, {args.points} points",
        "repeats": f"baseline and d0000..d{args.repeat_configs - 1:04d}, {args.repeats} each, spread through the run",
        "server": str(args.server),
        "client": str(args.client),
        "environment": {k: v for k, v in os.environ.items() if "_STUDY_" in k},
        # The recording's command: written again by --export-only, which is not part of it.
        "command": "python benchmarks/record_surface.py "
        + " ".join(a for a in (sys.argv[1:] if argv is None else argv) if a != "--export-only"),
    }
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_start is not None]
    if trials:
        meta["started"] = min(t.datetime_start for t in trials).isoformat(timespec="seconds")
        meta["finished"] = max(t.datetime_complete or t.datetime_start for t in trials).isoformat(timespec="seconds")
    if options is not None:
        meta["quiet"] = {"threshold": options.threshold, "window": options.window, "max_wait": options.max_wait,
                         "retakes": options.retakes, "own": list(options.own)}
    descriptions = {k.name: k.desc for k in server.tunable if k.desc}
    rows = export(study, space, args.metric, direction, args.out, meta, descriptions, args.knowledge)
    print(f"record_surface: {rows} measurements in {args.out / 'measurements.csv'}")
    noise = meta["noise"]
    for config, r in noise["repeats"].items():
        rsd = "-" if r["rsd"] is None else f"{r['rsd']:.1%}"
        print(f"record_surface: {config}: {r['n']} measurements, mean {r['mean']:,.2f}, relative sd {rsd}")
    print(f"record_surface: pooled sd of log {args.metric} over the repeats: {noise['pooled_log_sd']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
