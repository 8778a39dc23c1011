"""What each LLM schedule is expected to cost or earn by trial 10, from trials already measured.

A model's early rounds replace TPE's random start-up draws. Whether that pays is a question
about best@10, and twenty seeds of a local model (an hour) leave it within one and a half of
TPE's standard errors. This script resamples instead (``optbench.startup``): TPE's start-up
values from the reference arm's runs, the model's first-round and later-round values from
the model arm's runs, with the real ``AdaptiveSchedule`` deciding each block. It prints, for
each schedule, the expected difference to TPE alone at trial 10 and the model's expected
number of start-up trials; first the schedule the model arm actually ran, modelled and
measured side by side, so a reader sees how far to trust the rest.

Usage, from the repository root::

    .venv/bin/python benchmarks/startup_cost.py --runs DIR/runs.jsonl \\
        --model-arm llm:local+write-when-ahead --schedules early-evidence,base-first \\
        --early-shares 0,0.25,0.5,1

``--schedules`` takes the ``compare.py`` arm options that set an ``AdaptiveSchedule``;
``--early-shares`` adds ``AdaptiveSchedule(early_share=X)`` for each X (LLMSampler's defaults
otherwise, ``model_first=False`` among them), where ``DIR`` is a ``compare.py`` folder (its
``--out``). The model arm's schedule is the one its runs recorded, even where LLMSampler's
defaults differ from it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from optbench.arms import LLM_OPTIONS, schedule_setting, split_arm  # noqa: E402
from optbench.protocol import RunRecord, RunStore  # noqa: E402
from optbench.startup import STARTUP, StartupModelError, compare_schedules, pools_from_runs, reference_best  # noqa: E402
from optbench.summary import label, paired_differences  # noqa: E402


def _schedule_of(options: list[str]) -> Any:
    """The AdaptiveSchedule an arm's options give (LLMSampler's default without one)."""
    from optuna_llm_sampler import AdaptiveSchedule

    schedule: Any = AdaptiveSchedule()
    for option in options:
        schedule = LLM_OPTIONS[option][0]().get("schedule", schedule)
    if not isinstance(schedule, AdaptiveSchedule):
        raise StartupModelError(f"options {'+'.join(options)!r} give {schedule!r}: only an AdaptiveSchedule is modelled")
    return schedule


def _schedule_as_run(options: list[str], recorded: set[str]) -> tuple[Any, str]:
    """The schedule the model arm's runs ran, and what it is called if it is not ``options``' today.

    Runs record their settings (``schedule=..., choose=...``); when LLMSampler's defaults have
    changed since, the arm's options build another schedule, and the option that pins the one
    they ran (``+one-shot``, say) is modelled instead. Runs recorded
    before settings were kept are taken as run with today's code.
    """
    def ran(schedule: Any) -> bool:
        return any(s.startswith(schedule_setting(schedule) + ", ") for s in recorded)

    today = _schedule_of(options)
    if not any(recorded) or ran(today):
        return today, ""
    for name, (build, _) in LLM_OPTIONS.items():
        schedule = build().get("schedule")
        if schedule is not None and ran(schedule):
            return _schedule_of([*options, name]), f"+{name}'s schedule, a default when they ran"
    raise StartupModelError(
        f"the runs recorded {sorted(filter(None, recorded))[0]}, which no arm option builds with this code "
        f"(it builds {schedule_setting(today)}): model them with the code they ran on, or pass the option "
        "that builds it as --model-arm's"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=Path, nargs="+", required=True, help="runs.jsonl files written by compare.py")
    p.add_argument("--model-arm", required=True, help="the llm: arm whose model trials to resample")
    p.add_argument("--reference", default="tpe", help="the arm whose start-up trials are the base draws (default tpe)")
    p.add_argument("--schedules", default="", help="comma-separated compare.py arm options that set the schedule")
    p.add_argument("--early-shares", default="", help="comma-separated early_share values to add")
    p.add_argument("--draws", type=int, default=20000, help="start-ups drawn per schedule (default 20000)")
    p.add_argument("--minimize", action="store_true", help="the problem is minimised (default: maximised)")
    args = p.parse_args(argv)

    from optuna_llm_sampler import AdaptiveSchedule

    runs: list[RunRecord] = []
    for path in args.runs:
        if not path.is_file():
            p.error(f"--runs {path}: no such file; compare.py writes DIR/runs.jsonl")
        store = RunStore(path)
        keys = {(r.problem, r.trials) for r in store.records()}
        if len(keys) > 1:
            p.error(f"--runs {path}: holds runs of {sorted(keys)}; give one problem's runs")
        runs += [r for r in store.records() if r.arm in (args.model_arm, args.reference)]
    maximize = not args.minimize
    _, measured_options = split_arm(args.model_arm)
    try:
        recorded = {r.settings for r in runs if r.arm == args.model_arm}
        measured, pinned = _schedule_as_run(measured_options, recorded)
        as_run = f"as run: {pinned}" if pinned else "as run"
        schedules: dict[str, Any] = {f"{args.model_arm} ({as_run})": measured}
        for option in filter(None, args.schedules.split(",")):
            if option not in LLM_OPTIONS:
                p.error(f"--schedules: unknown option {option!r}; choose from {', '.join(LLM_OPTIONS)}")
            schedules[f"+{option}"] = _schedule_of([option])
        for share in filter(None, args.early_shares.split(",")):
            schedules[f"early_share={float(share):g}"] = AdaptiveSchedule(early_share=float(share))
        pools = pools_from_runs(runs, args.model_arm, args.reference, maximize=maximize,
                                round_size=measured.max_round_size)
    except StartupModelError as e:
        print(f"startup_cost: {e}", file=sys.stderr)
        return 2
    seeds = len({r.seed for r in runs if r.arm == args.reference})
    ref_sd = statistics.stdev(reference_best(pools, draws=args.draws))
    unit = ref_sd / seeds ** 0.5
    paired = paired_differences(runs, args.reference, maximize).get(args.model_arm, [])
    measured_at = paired[STARTUP - 1] if len(paired) >= STARTUP else None

    print(f"Start-up model: {len(pools.base)} start-up values of {args.reference}, {len(pools.first)} first-round "
          f"and {len(pools.later)} later-round values of {label(args.model_arm)}; {len(pools.baselines)} baselines; "
          f"{args.draws} draws per schedule.\n")
    if not pools.later:
        print("The model arm ran one start-up round: later rounds are drawn from its first round's values.\n")
    print(f"Expected best@{STARTUP} against {args.reference} alone (positive: better), mean ± standard error of the "
          f"resampling; in {args.reference}'s standard errors at {seeds} seeds; the model's expected start-up trials.\n")
    print("| schedule | best@10 vs tpe | in SE at %d seeds | model trials 1-9 |" % seeds)
    print("|---|---|---|---|")
    for o in compare_schedules(schedules, pools, draws=args.draws):
        m, se = o.difference
        print(f"| {o.schedule} | {_num(m, '+')} ± {_num(se)} | {m / unit:+.2f} | {o.model_trials:.2f} |")
    if measured_at is not None:
        print(f"\nMeasured, {args.model_arm} against {args.reference} at trial {STARTUP} over {seeds} seeds: "
              f"{_num(measured_at[0], '+')} ± {_num(measured_at[1])} (paired).")
    return 0


def _num(x: float, sign: str = "") -> str:
    return f"{x:{sign},.0f}" if abs(x) >= 100 else f"{x:{sign}.3g}"


if __name__ == "__main__":
    raise SystemExit(main())
