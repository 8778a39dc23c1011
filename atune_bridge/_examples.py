"""Example A-Tune project files installed with the package, to try the bridge on.

A wheel has no ``studies/`` or ``tests/`` folder, so the package keeps a few project files of
its own under ``atune_bridge/examples/``, named ``<project>_server.yaml`` and
``<project>_client.yaml``. :func:`example_names` lists the projects, :func:`example_files`
gives a project's files (server first) and :func:`example_path` one file by name;
``atune-bridge space --example NAME`` prints them with their paths.

The ``nginx`` example is the server and client files of the source distribution's nginx
study (``studies/nginx/``): their commands call that study's scripts from the source tree's
root, so from a wheel they are for reading (the search space, the evaluations), not for
``atune-bridge tune``.

Example:
    >>> from atune_bridge import example_path, load_server
    >>> spec = load_server(example_path("nginx_server.yaml"))
    >>> spec.project
    'nginx'
"""

from __future__ import annotations

from pathlib import Path

from atune_bridge._format import AtuneBridgeError

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
"""The folder holding the example project files."""

_ROLES = ("server", "client")


class UnknownExampleError(AtuneBridgeError):
    """An example project or file that the package does not ship; the message lists those it does."""


def example_names() -> list[str]:
    """The example projects, sorted: each has a ``<name>_server.yaml`` file."""
    return sorted(p.name[: -len("_server.yaml")] for p in EXAMPLES_DIR.glob("*_server.yaml"))


def example_files(name: str) -> list[Path]:
    """The files of example project ``name``: its server file, then its client file.

    Raises:
        UnknownExampleError: no example project of that name.
    """
    files = [EXAMPLES_DIR / f"{name}_{role}.yaml" for role in _ROLES]
    if "/" in name or not files[0].is_file():
        raise UnknownExampleError(
            f"no example project {name!r}; the examples are: {', '.join(example_names()) or 'none'}"
        )
    return [f for f in files if f.is_file()]


def example_path(filename: str) -> Path:
    """The installed path of example file ``filename`` (e.g. ``"nginx_server.yaml"``).

    Raises:
        UnknownExampleError: the package ships no such file.
    """
    path = EXAMPLES_DIR / filename
    if "/" in filename or not path.is_file():
        shipped = sorted(p.name for p in EXAMPLES_DIR.glob("*.yaml"))
        raise UnknownExampleError(
            f"no example file {filename!r} in {EXAMPLES_DIR}; the files are: {', '.join(shipped) or 'none'}"
        )
    return path
