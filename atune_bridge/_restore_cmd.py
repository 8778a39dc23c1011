"""``atune-bridge restore``: set the original values a study recorded back, without tuning.

For a run that died and is not to be resumed. Exit status: 0 when every value is back (each
read back with its ``get`` where it has one), 1 when nothing could be done (another run holds
the study, no such study, a server file without a recorded parameter: the error says why), 3
when setting a value back failed or a value did not read back as set (the message names each
parameter left changed).
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any, TextIO

from atune_bridge._runner._config import DEFAULT_STORAGE
from atune_bridge._tune_cmd import RESTORE_FAILED


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="set the original values a study recorded back on the service, without tuning",
        description=(
            "Set back the original values the study recorded before its first trial, for a run "
            "that died (kill -9, a crash) and is not to be resumed: each value that differs from "
            "what its get reads is set, the service restarted when a needrestart value changed, "
            "and every value set is read back. Refused while a run holds the study."
        ),
        epilog="Exit status: 0 every value back, 1 error (nothing done), 3 a value not back (named).",
    )
    parser.add_argument(
        "--server", required=True, metavar="S.yaml", help="the A-Tune server YAML the study was tuned with"
    )
    parser.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        metavar="URL",
        help="Optuna storage URL (default: %(default)s, in the working directory)",
    )
    parser.add_argument("--study", metavar="NAME", help="study name (default: the project name)")
    parser.add_argument("--workdir", metavar="DIR", help="directory the project's commands run in (default: here)")
    parser.add_argument(
        "--command-timeout",
        type=float,
        default=120.0,
        metavar="SEC",
        help="seconds each set/get/restart command may run (default: %(default)g)",
    )
    parser.add_argument(
        "--pass-env",
        action="append",
        default=[],
        metavar="NAME",
        help="pass this environment variable to the project's commands (repeatable; "
        "NAME* passes every variable starting with NAME)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from atune_bridge._format import AtuneBridgeError, load_server
    from atune_bridge._runner import RunnerConfig, restore_originals
    from atune_bridge._runner._secrets import redact

    def error(message: str, status: int = 1) -> int:
        print(f"atune-bridge restore: error: {redact(message)}", file=sys.stderr, flush=True)
        return status

    if not args.command_timeout > 0:
        return error("--command-timeout must be positive seconds")
    try:
        server = load_server(args.server)
        config = RunnerConfig(
            storage=args.storage,
            study_name=args.study,
            llm="none",
            workdir=args.workdir,
            command_timeout=args.command_timeout,
            pass_env=tuple(args.pass_env),
        )
    except (AtuneBridgeError, ValueError) as exc:
        return error(str(exc))
    previous = {sig: signal.signal(sig, _finish_first) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        result = restore_originals(server, config)
    except AtuneBridgeError as exc:
        return error(str(exc))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if result.taken_over:
        print(f"Took the study over from {result.taken_over}, which is gone.", file=out)
    if result.failed_trials:
        print(f"Failed the trial(s) it left running: {', '.join(map(str, result.failed_trials))}.", file=out)
    if result.error:
        left = ", ".join(f"{n}={v}" for n, v in result.left_changed.items()) or "unknown"
        return error(
            f"could not set the values back: {result.error}. Left changed: {left}. The original "
            f"values are {_pairs(result.original)}",
            RESTORE_FAILED,
        )
    if result.set_back:
        restart = " and restarted the service" if result.restarted else ""
        print(f"Set back {_pairs(result.set_back)}{restart}.", file=out)
    else:
        print("Nothing to set back: every value reads as its original.", file=out)
    checked = "read back with each get: they match"
    if result.unverified:
        checked += f" ({', '.join(result.unverified)} have no get and were not read back)"
    print(f"Study {result.study_name!r}: original values {_pairs(result.original)} ({checked}).", file=out, flush=True)
    return 0


def _pairs(values: dict[str, str]) -> str:
    return ", ".join(f"{n}={v}" for n, v in values.items())


def _finish_first(signum: int, frame: Any) -> None:
    print(
        f"atune-bridge restore: {signal.Signals(signum).name} received while setting values back: finishing that first",
        file=sys.stderr,
        flush=True,
    )
