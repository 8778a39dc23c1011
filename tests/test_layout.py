"""The packages' import structure: no import cycles, and each package's rooms in their order.

Read from the source with :mod:`ast` (nothing is imported): every ``import`` and
``from ... import`` of a module of the same package, at the top of a module or inside a
function. ``from pkg import name`` counts as importing ``pkg.name`` when that is a module,
else ``pkg`` itself; importing ``a.b.c`` does not count as importing its parents ``a`` and
``a.b`` (Python runs them first, but a package importing its own children is not a cycle).

atune_bridge's rooms, lowest first: ``_format`` (A-Tune's formats, what both others stand
on), then ``_runner`` and ``_engine`` (side by side, neither importing the other); the
modules directly in ``atune_bridge`` (the public face and the CLI) sit on top.

optuna_llm_sampler's rooms, lowest first: ``_records`` (what goes to storage), ``_model``
(making and calling a chat model), ``_proposal`` (prompt, parsing, repair), ``_policy`` (who
proposes each trial), ``_round`` (one model round, start to end); ``_search`` (the base
searches) stands apart on Optuna alone. ``_errors`` is the floor every room may import; the
sampler and the public face sit on top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("atune_bridge", "optuna_llm_sampler")

_S = "optuna_llm_sampler"
ROOMS = {
    "atune_bridge._format": {"atune_bridge._format"},
    "atune_bridge._runner": {"atune_bridge._format", "atune_bridge._runner"},
    "atune_bridge._engine": {"atune_bridge._format", "atune_bridge._engine"},
    f"{_S}._records": {f"{_S}._records"},
    f"{_S}._model": {f"{_S}._records", f"{_S}._model"},
    f"{_S}._proposal": {f"{_S}._records", f"{_S}._model", f"{_S}._proposal"},
    f"{_S}._policy": {f"{_S}._records", f"{_S}._model", f"{_S}._proposal", f"{_S}._policy"},
    f"{_S}._round": {
        f"{_S}._records", f"{_S}._model", f"{_S}._proposal", f"{_S}._policy", f"{_S}._round"
    },
    f"{_S}._search": {f"{_S}._search"},
}
"""Each room, and the rooms its modules may import from (itself included)."""

FLOOR = {f"{_S}._errors"}
"""Modules every room of their package may import: they import nothing of the package."""


def _modules(package: str) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its ``__init__.py``)."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = {name: path for package in PACKAGES for name, path in _modules(package).items()}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST, *, type_checking: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements anywhere in ``tree``; those under ``if TYPE_CHECKING:`` only
    when ``type_checking`` (their ``else`` branch always counts)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not type_checking:
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The modules of MODULES that ``node`` (in ``module``) imports."""
    if isinstance(node, ast.Import):
        found = set()
        for alias in node.names:
            parts = alias.name.split(".")
            # ``import a.b.c`` imports a.b.c (the deepest module of ours it names).
            for end in range(len(parts), 0, -1):
                if ".".join(parts[:end]) in MODULES:
                    found.add(".".join(parts[:end]))
                    break
        return found
    if node.level:
        is_package = MODULES[module].name == "__init__.py"
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    found = set()
    for alias in node.names:
        if f"{source}.{alias.name}" in MODULES:
            found.add(f"{source}.{alias.name}")
        elif source in MODULES:
            found.add(source)
    return found


def import_graph(*, type_checking: bool) -> dict[str, set[str]]:
    """Module -> the modules of the two packages it imports (itself excluded)."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in _import_nodes(tree, type_checking=type_checking):
            edges |= _targets(module, node)
        graph[module] = edges - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None when the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def _room(module: str) -> str | None:
    for room in ROOMS:
        if module == room or module.startswith(room + "."):
            return room
    return None


def test_the_graph_is_read() -> None:
    # Guards the tests below against passing on an empty or unread tree.
    graph = import_graph(type_checking=False)
    assert "optuna_llm_sampler._sampler" in graph
    assert "optuna_llm_sampler._round" in graph["optuna_llm_sampler._sampler"]
    assert "optuna_llm_sampler._proposal._parse" in graph["optuna_llm_sampler._round._judge"]
    assert "atune_bridge._cli" in graph


def test_find_cycle_names_the_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycles() -> None:
    """Imports that run (at the top of a module or inside a function) form no cycle."""
    cycle = find_cycle(import_graph(type_checking=False))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycles_even_for_type_checking() -> None:
    """Two modules do not import each other even for annotations: one of them holds a piece
    that belongs in a third module."""
    cycle = find_cycle(import_graph(type_checking=True))
    assert cycle is None, "import cycle (counting TYPE_CHECKING imports): " + " -> ".join(cycle or [])


def _present(room: str) -> bool:
    return (ROOT / Path(*room.split("."))).is_dir()


def test_the_rooms_are_there() -> None:
    # A room may be added before its modules (``_round``, ``_search``), but the rest exist.
    missing = sorted(r for r in ROOMS if not _present(r) and r.rsplit(".", 1)[1] not in
                     ("_round", "_search"))
    assert not missing, f"rooms without a folder: {missing}"


def test_floor_imports_nothing_of_its_package() -> None:
    graph = import_graph(type_checking=True)
    for module in FLOOR:
        package = module.split(".")[0]
        assert not {t for t in graph[module] if t.split(".")[0] == package}, module


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_room_is_a_package_with_a_docstring(room: str) -> None:
    if not _present(room):
        pytest.skip(f"{room} has no modules yet")
    path = ROOT / Path(*room.split(".")) / "__init__.py"
    assert path.is_file(), f"{room} should be a folder with an __init__.py"
    assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), f"{path}: no docstring"


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_room_imports_only_the_rooms_below_it(room: str) -> None:
    """format imports neither runner nor engine; runner and engine do not import each other;
    the sampler's rooms import only the rooms below them; no room imports the modules on top
    (counting TYPE_CHECKING imports too), except its package's floor."""
    if not _present(room):
        pytest.skip(f"{room} has no modules yet")
    graph = import_graph(type_checking=True)
    members = [m for m in graph if _room(m) == room]
    assert members, f"{room}: no modules"
    package = room.split(".")[0]
    wrong = sorted(
        f"{module} imports {target}"
        for module in members
        for target in graph[module]
        if target.split(".")[0] == package and target not in FLOOR
        and _room(target) not in ROOMS[room]
    )
    assert not wrong, f"{room} may import only {sorted(ROOMS[room])}:\n" + "\n".join(wrong)


def test_only_the_public_face_imports_the_sampler() -> None:
    """LLMSampler is wiring on top: no module of the package imports it but ``__init__``."""
    graph = import_graph(type_checking=True)
    importers = sorted(
        module for module, targets in graph.items()
        if "optuna_llm_sampler._sampler" in targets and module != "optuna_llm_sampler"
        and module.startswith("optuna_llm_sampler")
    )
    assert not importers, f"modules importing optuna_llm_sampler._sampler: {importers}"
