"""``atune-bridge tune``: tune an A-Tune project (server + client YAML) without atuned.

Running the same command again resumes the study; a second run on a study a live run holds is
refused before it touches anything. Exit status: 0 when the budget is
reached, 1 when the project cannot be tuned (the error says why), 128 + the signal number
when stopped by Ctrl-C (130), SIGTERM (143) or SIGHUP (129, a closed terminal) after the
original values were set back, and
3 when setting the values back failed, or they did not read back as set (whatever else
happened): the service is left modified, and the message names each parameter left changed.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING, Any, TextIO

from atune_bridge._runner._config import DEFAULT_LLM, DEFAULT_SCHEDULE, DEFAULT_STORAGE, SCHEDULES
from atune_bridge._runner._confirm import DEFAULT_CONFIRM
from atune_bridge._runner._rerank import DEFAULT_RERANK

if TYPE_CHECKING:
    from atune_bridge._runner import TrialReport


RESTORE_FAILED = 3
"""Exit status when the tuned values could not be set back: the service is left modified."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="tune an A-Tune project on an Optuna study (no atuned needed)",
        description=(
            "Tune an A-Tune project with A-Tune's semantics (get/set/restart/benchmark/"
            "evaluations) on an Optuna study: trial 0 measures the baseline, then an LLM "
            "proposes configurations alongside TPE. The original values are set back on every "
            "exit (unless --apply-best). Running the same command again resumes the study."
        ),
        epilog=(
            "What the study stores, for optuna-dashboard: with one evaluation, the metric as "
            "measured (maximised when its type is negative, i.e. higher is better; minimised when "
            "positive); with several, A-Tune's weighted improvement rate over the baseline in "
            "percent (maximised), or with --multi-objective each metric in its own direction. "
            "A-Tune's own signed objective is kept on each trial as user attribute atune_objective. "
            "Exit status: 0 done, 1 error, 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (values set back in each case); "
            "3 when setting the values back failed (the message names what was left changed)."
        ),
    )
    parser.add_argument("--server", required=True, metavar="S.yaml", help="A-Tune server YAML (object list)")
    parser.add_argument("--client", required=True, metavar="C.yaml", help="A-Tune client YAML (benchmark, evaluations)")
    parser.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        metavar="URL",
        help="Optuna storage URL (default: %(default)s, in the working directory)",
    )
    parser.add_argument("--study", metavar="NAME", help="study name (default: the project name)")
    parser.add_argument(
        "--llm",
        default=DEFAULT_LLM,
        metavar="SPEC|none",
        help="model for LLMSampler: local, tongyi:MODEL, openai:MODEL@URL; none for TPE alone (default: %(default)s)",
    )
    parser.add_argument(
        "--schedule",
        default=DEFAULT_SCHEDULE,
        choices=SCHEDULES,
        help="the model's role: adaptive (the model writes one trial of TPE's "
        "start-up, then earns a share of the trials by how they fare, "
        "picking among TPE's candidates unless what it wrote is ahead), "
        "alternating (two model trials, two of TPE's, repeating), write "
        "(adaptive, the model writing every round) (default: %(default)s)",
    )
    parser.add_argument(
        "--trials",
        type=int,
        metavar="N",
        help="finished trials to reach in the study, baseline and earlier runs "
        "included (default: the client's iterations + 1)",
    )
    parser.add_argument("--knowledge", metavar="FILE", help="text file of tuning knowledge for the model")
    parser.add_argument(
        "--multi-objective",
        action="store_true",
        help="optimise each metric as an objective (Pareto front) instead of A-Tune's weighted improvement rate",
    )
    parser.add_argument("--seed", type=int, help="seed of the samplers")
    add_search_argument(
        parser,
        "the trials the model does not write (all of them with --llm none); its start-up is the client's random_starts",
    )
    parser.add_argument(
        "--llm-timeout",
        type=float,
        default=300.0,
        metavar="SEC",
        help="seconds one model call may take before its trial goes to TPE (default: %(default)g)",
    )
    parser.add_argument(
        "--apply-best",
        action="store_true",
        help="leave the best configuration applied at the end instead of the original values",
    )
    parser.add_argument("--output", metavar="DIR", help="report folder (default: ./atune-bridge-output/<study>/)")
    parser.add_argument(
        "--benchmark-timeout",
        type=float,
        default=1800.0,
        metavar="SEC",
        help="seconds the benchmark may run (default: %(default)g)",
    )
    parser.add_argument(
        "--command-timeout",
        type=float,
        default=120.0,
        metavar="SEC",
        help="seconds each set/get/restart/evaluation command may run (default: %(default)g)",
    )
    parser.add_argument("--workdir", metavar="DIR", help="directory the project's commands run in (default: here)")
    parser.add_argument(
        "--confirm",
        type=int,
        default=DEFAULT_CONFIRM,
        metavar="N",
        help="at the end, measure the best configuration and the baseline N times each, "
        "alternately, and report the gain with its 95%% interval; 0 turns it off "
        "(default: %(default)s, the fewest that give each an interval)",
    )
    parser.add_argument(
        "--rerank",
        type=int,
        metavar="K",
        help="before confirming, measure the top K configurations again and confirm the "
        "one with the best mean rather than the best single measurement, often a "
        "lucky draw on a noisy benchmark; 0 turns it off (default: "
        f"{DEFAULT_RERANK} when --confirm is on, else off)",
    )
    parser.add_argument(
        "--rerank-repeats",
        type=int,
        default=1,
        metavar="R",
        help="re-measurements of each of the --rerank configurations (default: %(default)s)",
    )
    parser.add_argument(
        "--target-gain",
        type=float,
        metavar="PCT",
        help="stop once the best trial's gain over the baseline reaches PCT percent "
        "(A-Tune's LLM tuner uses 10; default: off)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        metavar="N",
        help="stop after N finished trials without improving on the best (default: off)",
    )
    parser.add_argument(
        "--warm-start",
        action="append",
        default=[],
        metavar="STUDY[@STORAGE]",
        help="seed the sampler with an earlier study's best trials (repeatable; the storage defaults to --storage)",
    )
    parser.add_argument(
        "--pass-env",
        action="append",
        default=[],
        metavar="NAME",
        help="pass this environment variable to the project's commands, which otherwise get "
        "only PATH, HOME, the locale and what the project's YAML names (repeatable; "
        "NAME* passes every variable starting with NAME)",
    )
    parser.add_argument(
        "--artifact-dir",
        metavar="DIR",
        help="folder keeping each model call's whole prompt and reply as Optuna artifacts "
        "(default: <db stem>.artifacts/ beside a SQLite storage; 'none' keeps none)",
    )
    parser.set_defaults(func=run)


def add_search_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--search NAME``: the base search (``optuna_llm_sampler._search.SEARCHES``), its help listing each."""
    from optuna_llm_sampler._search import DEFAULT_SEARCH, SEARCHES, search_names

    listed = "; ".join(f"{name}: {SEARCHES[name][1]}" for name in search_names())
    parser.add_argument(
        "--search",
        choices=search_names(),
        default=DEFAULT_SEARCH,
        metavar="NAME",
        help=f"the base search for {what} (default: %(default)s). {listed}",
    )


def progress_line(report: TrialReport, names: list[str]) -> str:
    """One line per finished trial: number, proposer, metrics, best so far."""
    width = len(str(report.budget))
    head = f"trial {report.number:>{width}} [{report.finished:>{width}}/{report.budget}] {report.source:<12}"
    if report.state == "COMPLETE":
        body = " ".join(f"{n}={report.metrics[n]:.2f}" for n in names if n in report.metrics)
        if len(names) > 1 and report.values is not None and len(report.values) == 1:
            body += f" ({report.values[0]:+.2f}% weighted)"
        if report.restarted:
            body += " (restarted)"
    else:
        body = f"FAILED: {report.reason}"
    if report.best_number is not None:
        best = " ".join(f"{n}={report.best_metrics[n]:.2f}" for n in names if n in report.best_metrics)
        if len(names) > 1 and report.best_values is not None and len(report.best_values) == 1:
            best += f" ({report.best_values[0]:+.2f}%)"
        body += f" | best {best} (trial {report.best_number})"
    return f"{head} {body}"


def model_problem(llm: str) -> str | None:
    """Why the model ``--llm`` names cannot be built (a missing extra, a malformed spec, a missing
    key), or None when it can (or is ``none``).

    Checked before the runner opens the study's storage or runs a command on the system, so
    that such a mistake leaves nothing behind (no ``atune-bridge.db``). Building a model is
    cheap: the local model's file is loaded at its first call, a server is not contacted.
    """
    if llm.strip().lower() == "none":
        return None
    try:
        from optuna_llm_sampler import LLMSamplerError, make_chat_model
    except ImportError as exc:
        return f"--llm {llm}: optuna_llm_sampler cannot be imported ({exc}); use --llm none for TPE alone"
    try:
        make_chat_model(llm)
    except (LLMSamplerError, ImportError, ValueError, OSError) as exc:
        return f"--llm {llm}: {exc}; or use --llm none for TPE alone"
    return None


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    import logging

    import optuna

    from atune_bridge._format import AtuneBridgeError, is_variable_pattern, load_client, load_server
    from atune_bridge._runner import (
        Runner,
        RunnerConfig,
        SystemFaultError,
        confirm_text,
        default_output_dir,
        format_summary,
        summarize,
        write_report,
    )

    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        optuna.logging.set_verbosity(optuna.logging.WARNING)

    from atune_bridge._runner._secrets import redact

    def error(message: str, status: int = 1) -> int:
        print(f"atune-bridge tune: error: {redact(message)}", file=sys.stderr, flush=True)
        return status

    if args.trials is not None and args.trials < 1:
        return error(f"--trials must be at least 1, got {args.trials}")
    try:
        server = load_server(args.server)
        client = load_client(args.client)
    except AtuneBridgeError as exc:
        return error(str(exc))
    if args.confirm < 0 or args.confirm == 1:
        return error(f"--confirm must be 0 (off) or at least 2, got {args.confirm}")
    rerank = args.rerank if args.rerank is not None else (DEFAULT_RERANK if args.confirm else 0)
    if rerank < 0 or rerank == 1:
        return error(f"--rerank must be 0 (off) or at least 2, got {rerank}")
    if rerank and not args.confirm:
        return error(
            f"--rerank {rerank} needs --confirm: the crowned configuration's gain is what it "
            f"verifies; give --confirm {DEFAULT_CONFIRM} or --rerank 0"
        )
    if args.rerank_repeats < 1:
        return error(f"--rerank-repeats must be at least 1, got {args.rerank_repeats}")
    if args.patience is not None and args.patience < 1:
        return error(f"--patience must be at least 1, got {args.patience}")
    if args.target_gain is not None and not args.target_gain > 0:
        return error(f"--target-gain must be a positive percentage, got {args.target_gain}")
    if not (args.command_timeout > 0 and args.benchmark_timeout > 0 and args.llm_timeout > 0):
        return error("--command-timeout, --benchmark-timeout and --llm-timeout must be positive seconds")
    bad = [name for name in args.pass_env if not is_variable_pattern(name)]
    if bad:
        return error(f"--pass-env takes variable names (NAME or NAME*), got {' '.join(bad)}")
    problem = model_problem(args.llm)
    if problem is not None:
        return error(problem)
    config = RunnerConfig(
        storage=args.storage,
        study_name=args.study,
        llm=args.llm,
        schedule=args.schedule,
        n_trials=args.trials,
        knowledge=args.knowledge,
        multi_objective=args.multi_objective,
        seed=args.seed,
        llm_timeout=args.llm_timeout,
        command_timeout=args.command_timeout,
        benchmark_timeout=args.benchmark_timeout,
        apply_best=args.apply_best,
        workdir=args.workdir,
        confirm=args.confirm,
        rerank=rerank,
        rerank_repeats=args.rerank_repeats,
        target_gain=args.target_gain,
        patience=args.patience,
        warm_start=tuple(args.warm_start),
        artifact_dir=args.artifact_dir,
        pass_env=tuple(args.pass_env),
        search=args.search,
    )
    names = [e.name for e in client.evaluations]
    runner = Runner(
        server, client, config, on_trial=lambda report: print(progress_line(report, names), file=out, flush=True)
    )
    print(
        redact(
            f"Tuning project {server.project!r} as study {runner.study_name!r} in {config.storage} "
            f"({runner.budget} trials, llm {config.llm})"
        ),
        file=out,
        flush=True,
    )
    try:
        result = runner.run()
    except AtuneBridgeError as exc:
        failed = runner.result is not None and runner.result.restore_error is not None
        if failed and not isinstance(exc, SystemFaultError):  # whose message says it
            assert runner.result is not None
            left = ", ".join(f"{n}={v}" for n, v in runner.result.left_changed.items()) or "unknown"
            exc = AtuneBridgeError(
                f"{exc}; setting the values back failed too: {runner.result.restore_error}. Left changed: {left}"
            )
        return error(str(exc), RESTORE_FAILED if failed else 1)
    except KeyboardInterrupt:  # a second Ctrl-C: the values were still set back
        print("Interrupted; run the same command again to resume.", file=out, flush=True)
        return 128 + int(signal.SIGINT)
    if result.restore_error:
        left = ", ".join(f"{name}={value}" for name, value in result.left_changed.items()) or "unknown"
        print(
            f"atune-bridge tune: error: could not set the values back: {result.restore_error}. "
            f"Left changed: {left}. Set them back by hand (the study keeps the original values "
            "in its user attributes).",
            file=sys.stderr,
            flush=True,
        )
    elif result.applied:
        checked = " (read back with each get: they match)" if result.read_back else ""
        if result.unverified:
            checked = f" ({', '.join(result.unverified)} not read back: no get)"
        print(f"Left applied: {result.applied}{checked}.", file=out, flush=True)
    if result.interrupted is not None:
        print(f"Interrupted by {result.interrupted}; run the same command again to resume.", file=out, flush=True)
        signum = getattr(signal, result.interrupted, None) if result.interrupted.startswith("SIG") else None
        if result.restore_error:
            return RESTORE_FAILED
        return 128 + int(signum) if signum is not None else 1
    summary = summarize(result, artifact_dir=config.artifact_folder())
    print(format_summary(summary), file=out, flush=True)
    if result.stopped is not None:
        print(
            f"Stopped before the budget ({result.stopped['rule']}): {result.stopped['reason']}.", file=out, flush=True
        )
    if result.confirm is not None:
        print("\n".join(confirm_text(result.confirm)), file=out, flush=True)
    folder = args.output or default_output_dir(result.study_name)
    try:
        files = write_report(summary, folder, result.study)
    except OSError as exc:
        return error(
            f"could not write the report to {folder}: {exc.strerror or exc}; the study keeps "
            "every result: run the same command again to write it"
        )
    if not files.plots and files.note:
        print(f"Note: {files.note}", file=out)
    print(f"Report: {files.html}", file=out)
    print(f"Best configuration: {files.best}", file=out)
    print(f"Open the same study: {summary.dashboard_command}", file=out, flush=True)
    return RESTORE_FAILED if result.restore_error else 0
