"""``atune-bridge space FILE...``: each file's search space as a table, and its problems."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from atune_bridge._examples import UnknownExampleError, example_files, example_names
from atune_bridge._format import (
    AtuneFileError,
    ClientSpec,
    InvalidKnobError,
    Knob,
    ServerSpec,
    load_project_file,
    number_text,
    to_distribution,
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "space",
        help="print the Optuna search space of A-Tune YAML files",
        description=(
            "Print each A-Tune file's search space (server files) or evaluations (client "
            "files) and the problems found. Exit status 1 when a file cannot be used at all."
        ),
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="A-Tune server or client YAML files")
    parser.add_argument(
        "--example",
        action="append",
        default=[],
        metavar="NAME",
        help="also print an example project installed with atune_bridge, its server "
        f"and client files with their paths (repeatable; one of: {', '.join(example_names())})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--quiet-warnings", action="store_true", help="print errors only")
    parser.set_defaults(func=run)


def _row(knob: Knob, dist: BaseDistribution) -> dict[str, str]:
    if isinstance(dist, CategoricalDistribution):
        kind = "categorical"
        choices = [str(c) for c in dist.choices]
        shown = ", ".join(choices[:8]) + (f", ... ({len(choices)} values)" if len(choices) > 8 else "")
        return {"name": knob.name, "kind": kind, "domain": "{" + shown + "}", "step": "", "baseline": knob.ref or ""}
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    kind = "int" if isinstance(dist, IntDistribution) else "float"
    step = "" if dist.step is None or (kind == "int" and knob.type == "continuous") else number_text(dist.step)
    return {
        "name": knob.name,
        "kind": kind,
        "domain": f"[{number_text(dist.low)}, {number_text(dist.high)}]",
        "step": step,
        "baseline": knob.ref or "",
    }


def _table(rows: list[dict[str, str]], columns: list[str], out: TextIO) -> None:
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in columns}
    out.write("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip() + "\n")
    for row in rows:
        out.write("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip() + "\n")


def _server_rows(spec: ServerSpec) -> tuple[list[dict[str, str]], list[str]]:
    rows, errors = [], []
    for knob in spec.tunable:
        try:
            rows.append(_row(knob, to_distribution(knob)))
        except InvalidKnobError as exc:
            errors.append(f"{spec.path} object {knob.name!r} field {exc.problem.field!r}: error: {exc.problem.message}")
    return rows, errors


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        files = [*args.files, *(str(f) for name in args.example for f in example_files(name))]
    except UnknownExampleError as exc:
        print(f"atune-bridge space: error: {exc}", file=sys.stderr)
        return 2
    if not files:
        print("atune-bridge space: error: give at least one FILE or --example NAME", file=sys.stderr)
        return 2
    status = 0
    report: list[dict[str, Any]] = []
    for file in files:
        try:
            spec = load_project_file(file)
        except AtuneFileError as exc:
            status = 1
            report.append({"file": file, "usable": False, "error": exc.message})
            if not args.json:
                out.write(f"== {file}\nerror: {exc.message}\n\n")
            continue
        problems = [str(p) for p in spec.problems if not (args.quiet_warnings and p.severity == "warning")]
        if isinstance(spec, ServerSpec):
            rows, errors = _server_rows(spec)
            problems += errors
            usable = bool(rows)
            skipped = [k.name for k in spec.knobs if k.skip]
            entry = {
                "file": file,
                "kind": "server",
                "project": spec.project,
                "usable": usable,
                "parameters": rows,
                "skipped": skipped,
                "problems": problems,
            }
            if not args.json:
                out.write(f"== {file} (server, project {spec.project!r}, {len(rows)} parameters)\n")
                if rows:
                    _table(rows, ["name", "kind", "domain", "step", "baseline"], out)
                if skipped:
                    out.write(f"skipped (skip: true): {', '.join(skipped)}\n")
        else:
            assert isinstance(spec, ClientSpec)
            rows = [
                {
                    "name": e.name,
                    "goal": "maximise" if e.higher_is_better else "minimise",
                    "weight": f"{e.weight:g}",
                    "get": e.get,
                }
                for e in spec.evaluations
            ]
            usable = bool(rows) and bool(spec.benchmark)
            entry = {
                "file": file,
                "kind": "client",
                "project": spec.project,
                "usable": usable,
                "engine": spec.engine,
                "iterations": spec.iterations,
                "benchmark": spec.benchmark,
                "evaluations": rows,
                "problems": problems,
            }
            if not args.json:
                out.write(
                    f"== {file} (client, project {spec.project!r}, engine {spec.engine}, "
                    f"{spec.iterations} iterations)\nbenchmark: {spec.benchmark}\n"
                )
                if rows:
                    _table(rows, ["name", "goal", "weight", "get"], out)
        if not usable:
            status = 1
            problems.append(f"{file}: error: nothing usable in this file")
        report.append(entry)
        if not args.json:
            for line in problems:
                out.write(f"  {line}\n")
            out.write("\n")
    if args.json:
        json.dump(report, out, indent=2)
        out.write("\n")
    return status
