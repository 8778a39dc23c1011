"""``atune-bridge serve``: A-Tune's optimizer engine API on Optuna, for atuned to call."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

_STORAGE_DEFAULT = "sqlite:///atune-engine.db"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve A-Tune's optimizer engine API (/v1/optimizer) for atuned",
        description=(
            "Serve the HTTP API atuned calls during `atune-adm tuning` (POST/PUT/GET/DELETE "
            "/v1/optimizer), with Optuna samplers behind it. Point atuned's engine_host and "
            "engine_port (/etc/atuned/atuned.cnf) here; see docs/atuned-engine.md."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=3838, help="port (default %(default)s, A-Tune's engine port)")
    parser.add_argument(
        "--storage",
        default=_STORAGE_DEFAULT,
        metavar="URL",
        help=(
            "Optuna storage URL, one study per task (default %(default)s, relative to the "
            "working directory); 'none' keeps tasks in memory only"
        ),
    )
    parser.add_argument(
        "--llm",
        default="none",
        metavar="SPEC|none",
        help="put LLMSampler over every task's sampler, with this model (local, tongyi:MODEL, openai:MODEL@URL); default none",
    )
    parser.add_argument(
        "--schedule",
        default="adaptive",
        choices=("adaptive", "alternating", "write"),
        help="the model's role with --llm: adaptive (its share follows how its trials fare), "
        "alternating (two model trials, two of the engine's, repeating), write (adaptive, "
        "the model writing every round); default %(default)s",
    )
    parser.add_argument(
        "--knowledge",
        metavar="FILE",
        help="text file of background for the LLM (system, workload, what the knobs do); with --llm",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed every task's sampler (default: one per task)")
    parser.add_argument(
        "--history-dir",
        metavar="DIR",
        help="folder of SQLite files whose studies a task's history_path may name as STUDY@FILE "
        "(read only); without it, history_path names studies of --storage only",
    )
    parser.add_argument(
        "--max-tasks",
        type=int,
        default=1000,
        metavar="N",
        help="tasks held in memory at most, about 45 KB each (default %(default)s; see docs/limits.md)",
    )
    from atune_bridge._tune_cmd import add_search_argument

    add_search_argument(
        parser,
        "engine llm, under the model (its start-up is the task's random_starts; "
        "engine bayes runs the gp search, tpe TPE)",
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    parser.add_argument(
        "--tls-ca",
        metavar="FILE",
        help="require client certificates signed by this CA (atuned sends tlsengineclientcertfile)",
    )
    parser.set_defaults(func=run)


def _problems(args: argparse.Namespace) -> list[str]:
    problems = []
    if not 0 <= args.port <= 65535:
        problems.append(f"--port {args.port}: not a port number (0-65535)")
    if bool(args.tls_cert) != bool(args.tls_key):
        problems.append("--tls-cert and --tls-key go together")
    if args.tls_ca and not args.tls_cert:
        problems.append("--tls-ca needs --tls-cert and --tls-key")
    if args.history_dir and not os.path.isdir(args.history_dir):
        problems.append(f"--history-dir {args.history_dir}: not a folder")
    if args.max_tasks < 1:
        problems.append(f"--max-tasks {args.max_tasks}: at least 1")
    if args.knowledge and args.llm.strip().lower() in ("none", ""):
        problems.append("--knowledge is given to the LLM: it needs --llm SPEC")
    for flag in ("tls_cert", "tls_key", "tls_ca", "knowledge"):
        path = getattr(args, flag)
        if path and not os.access(path, os.R_OK):
            problems.append(f"--{flag.replace('_', '-')} {path}: cannot read the file")
    return problems


def run(args: argparse.Namespace) -> int:
    problems = _problems(args)
    if problems:
        for problem in problems:
            print(f"atune-bridge serve: {problem}", file=sys.stderr)
        return 2

    import ssl

    try:
        import fastapi  # noqa: F401  (create_engine_app imports it later; fail here, with advice)
        import uvicorn
    except ImportError as exc:
        print(
            f"atune-bridge serve needs the engine extra (FastAPI and uvicorn), which is not installed "
            f"({exc}): pip install 'optuna-llm-sampler[engine]'",
            file=sys.stderr,
        )
        return 2

    from atune_bridge._engine import EngineConfig, create_engine_app

    storage = None if args.storage.strip().lower() in ("none", "memory") else args.storage
    llm = None if args.llm.strip().lower() in ("none", "") else args.llm.strip()
    config = EngineConfig(
        storage=storage,
        llm=llm,
        seed=args.seed,
        knowledge=args.knowledge,
        schedule=args.schedule,
        search=args.search,
        history_dir=args.history_dir,
        max_tasks=args.max_tasks,
    )
    chat_model = None
    if llm is not None:
        try:
            from optuna_llm_sampler import LLMSampler, make_chat_model  # noqa: F401  (fail now, not at the first task)

            chat_model = make_chat_model(llm)
        except Exception as exc:  # any failure to build the model is the flag's fault here
            print(f"atune-bridge serve: --llm {llm}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
    try:
        app = create_engine_app(config, chat_model=chat_model)
    except Exception as exc:  # a storage URL SQLAlchemy or Optuna cannot open
        print(f"atune-bridge serve: --storage {args.storage}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2

    scheme = "https" if args.tls_cert else "http"
    print(
        f"A-Tune optimizer engine on {scheme}://{args.host}:{args.port}/v1/optimizer "
        f"(storage {storage or 'in memory: tasks are lost when the engine stops'}; "
        f"llm {llm or 'none'}{'; client certificates required' if args.tls_ca else ''})",
        flush=True,
    )
    tls: dict[str, Any] = {}
    if args.tls_cert:
        tls = {"ssl_certfile": args.tls_cert, "ssl_keyfile": args.tls_key}
        if args.tls_ca:
            tls.update(ssl_ca_certs=args.tls_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="debug" if getattr(args, "verbose", False) else "info",
        **tls,
    )
    return 0
