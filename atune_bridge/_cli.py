"""The ``atune-bridge`` command: one sub-command a module (``space``, ``tune``, ``restore``,
``serve``). Every log line it prints has credentials redacted
(:class:`~atune_bridge._runner._secrets.RedactingFilter`)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from optuna_llm_sampler._version import __version__

# Each module has ``add_parser(subparsers)``, which sets ``func(args) -> int`` as default.
# Importing them must stay cheap: heavy imports happen inside ``func``.
_COMMAND_MODULES = (
    "atune_bridge._space_cmd",
    "atune_bridge._tune_cmd",
    "atune_bridge._restore_cmd",
    "atune_bridge._serve_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atune-bridge",
        description="A-Tune project files on Optuna: inspect search spaces, tune, serve atuned.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from atune_bridge._runner._secrets import RedactingFilter

    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
