"""The example A-Tune project files installed with atune_bridge (``atune_bridge/examples/``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from atune_bridge import (
    AtuneBridgeError,
    UnknownExampleError,
    example_files,
    example_names,
    example_path,
    load_client,
    load_server,
)
from atune_bridge._cli import main

ROOT = Path(__file__).resolve().parents[2]


def _body(path: Path) -> str:
    """The file without its leading comment block (which says where the example comes from)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    return "".join(lines[start:])


def test_the_nginx_example_is_a_usable_project() -> None:
    assert example_names() == ["nginx"]
    server_path, client_path = example_files("nginx")
    assert (server_path.name, client_path.name) == ("nginx_server.yaml", "nginx_client.yaml")
    server, client = load_server(server_path), load_client(client_path)
    assert (server.project, client.project) == ("nginx", "nginx")
    assert len(server.search_space()) == 14 and not server.errors and not client.errors
    assert [e.name for e in client.evaluations] == ["rps"]


@pytest.mark.parametrize("role", ["server", "client"])
def test_the_nginx_example_is_the_nginx_study_s_file(role: str) -> None:
    """The shipped copy keeps the study's YAML as it is, below a header of its own."""
    shipped = example_path(f"nginx_{role}.yaml")
    study = ROOT / "studies" / "nginx" / f"nginx_{role}.yaml"
    assert _body(shipped) == _body(study), f"{shipped} differs from {study}: copy the study's file again"


def test_an_unknown_example_names_those_there_are() -> None:
    with pytest.raises(UnknownExampleError, match=r"no example project 'redis'; the examples are: nginx"):
        example_files("redis")
    with pytest.raises(UnknownExampleError, match=r"nginx_client.yaml, nginx_server.yaml"):
        example_path("../examples/nginx_server.yaml")
    assert issubclass(UnknownExampleError, AtuneBridgeError)


def test_space_prints_an_example_with_its_installed_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "--example", "nginx"]) == 0
    out = capsys.readouterr().out
    assert f"== {example_path('nginx_server.yaml')} (server, project 'nginx', 14 parameters)" in out
    assert f"== {example_path('nginx_client.yaml')} (client, project 'nginx', engine gbrt" in out


def test_space_with_an_unknown_example_or_nothing_to_read_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "--example", "redis"]) == 2
    assert "no example project 'redis'; the examples are: nginx" in capsys.readouterr().err
    assert main(["space"]) == 2
    assert "give at least one FILE or --example NAME" in capsys.readouterr().err
