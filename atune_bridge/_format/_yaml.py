"""A tolerant YAML reader for hand-written A-Tune files.

Real A-Tune files contain YAML that strict parsers reject. :func:`load_tolerant` first tries
the file as it is; when that fails it applies two repairs, each recorded:

1. **Nested double quotes.** ``get: "awk -F ":" '{print $2}'"`` is read as the whole text
   between the first and the last double quote of the line (what the author meant).
2. **Inconsistent list indentation.** A list under a top-level key (``object``,
   ``evaluations``) whose items are not indented alike is split into items at bare ``-``
   lines or ``- key:`` lines standing at most two columns deeper than the shallowest item,
   and each item is parsed on its own. An item that still does
   not parse is reported with its name and line, and the other items still load.

Every parse is bounded (:func:`safe_load`): nesting deeper than :data:`MAX_DEPTH` and a
document that aliases expand past :data:`MAX_NODES` nodes (a "billion laughs") are YAML
errors, found before anything is built from the document.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml

_TOP_KEY = re.compile(r"^([A-Za-z_][\w.-]*)\s*:(.*)$")
_ITEM_START = re.compile(r"^(\s*)-\s*(?:#.*)?$|^(\s*)-\s+[\w .-]+?\s*:")
_ITEM_DRIFT = 2  # how much deeper than the shallowest item an item's dash may stand
_DQ_LINE = re.compile(r'^(\s*(?:-\s+)?[\w .-]+?\s*:\s*)"(.*)"(\s*(?:#.*)?)$')
_NAME_LINE = re.compile(r"^\s*-?\s*name\s*:\s*(.+?)\s*$")

MAX_DEPTH = 50
"""The deepest nesting of lists and mappings read (A-Tune's files use four levels)."""
MAX_NODES = 200_000
"""The most nodes a document may hold once its aliases are expanded."""


class YAMLBoundError(yaml.YAMLError):
    """A document past :data:`MAX_DEPTH` or :data:`MAX_NODES`: no repair is tried on it."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing deep nesting (its composer recurses, so 10,000 levels
    end in a RecursionError) and documents whose aliases expand past :data:`MAX_NODES`."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise YAMLBoundError(f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()
        if node is not None and _expanded_size(node) > MAX_NODES:
            raise YAMLBoundError(f"aliases (*name) expand the document past {MAX_NODES} values; write the values out")
        return node


def _expanded_size(root: yaml.Node) -> int:
    """Nodes in ``root`` with every alias expanded, counted in time linear in the graph."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # post-order, without recursion (depth is bounded, but keep it cheap)
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in children), MAX_NODES + 1)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` within :data:`MAX_DEPTH` and :data:`MAX_NODES`.

    Raises:
        yaml.YAMLError: the text is not YAML, or passes a bound (the message says which).
    """
    return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506  (a SafeLoader subclass)


@dataclass
class ItemError:
    """An item of a top-level list that could not be parsed even after repairs."""

    section: str
    index: int
    name: str | None
    line: int
    message: str


@dataclass
class TolerantResult:
    """What :func:`load_tolerant` read: the data, the repairs applied, the unparsable items."""

    data: Any
    repairs: list[str] = field(default_factory=list)
    item_errors: list[ItemError] = field(default_factory=list)


def _fix_nested_quotes(line: str) -> tuple[str, bool]:
    match = _DQ_LINE.match(line)
    if match is None:
        return line, False
    inner = match.group(2)
    if not re.search(r'(?<!\\)"', inner):
        return line, False
    quoted = "'" + inner.replace("'", "''") + "'"
    return f"{match.group(1)}{quoted}{match.group(3)}", True


def _repair_quotes(lines: list[str], first_line: int, repairs: list[str]) -> list[str]:
    out = []
    for offset, line in enumerate(lines):
        fixed, changed = _fix_nested_quotes(line)
        if changed:
            repairs.append(
                f"line {first_line + offset}: double quotes inside a double-quoted value; "
                "read the text between the outer quotes literally"
            )
        out.append(fixed)
    return out


def _mark_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return None if mark is None else mark.line


def _short(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    text = " ".join(str(p) for p in (context, problem) if p)
    return text or str(exc).splitlines()[0]


def _split_top_level(lines: list[str]) -> list[tuple[str, int, list[str]]]:
    """Split a file into (key, first line index, lines) blocks at column-0 keys."""
    blocks: list[tuple[str, int, list[str]]] = []
    for index, line in enumerate(lines):
        match = _TOP_KEY.match(line)
        if match is not None:
            blocks.append((match.group(1), index, [line]))
        elif blocks:
            blocks[-1][2].append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            blocks.append(("", index, [line]))
    return blocks


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _split_items(body: list[str]) -> list[tuple[int, list[str]]]:
    starts = [_indent(line) for line in body if _ITEM_START.match(line)]
    limit = min(starts, default=0) + _ITEM_DRIFT
    items: list[tuple[int, list[str]]] = []
    for index, line in enumerate(body):
        if _ITEM_START.match(line) and _indent(line) <= limit:
            stripped = line.lstrip()
            indent = len(line) - len(stripped)
            rest = stripped[1:]
            # "- name: x" becomes " name: x" at the indentation of the item's body.
            first = " " * (indent + 1) + rest if rest.strip() else ""
            items.append((index, [first] if first else []))
        elif items:
            items[-1][1].append(line)
    return items


def _item_name(lines: list[str]) -> str | None:
    for line in lines:
        match = _NAME_LINE.match(line)
        if match is not None:
            return match.group(1).strip().strip("'\"")
    return None


def _parse_by_blocks(text: str, repairs: list[str]) -> TolerantResult:
    lines = text.splitlines()
    result = TolerantResult(data={}, repairs=repairs)
    for key, start, block in _split_top_level(lines):
        if not key:
            raise yaml.YAMLError(f"line {start + 1}: text before the first top-level key")
        head_value = _TOP_KEY.match(block[0]).group(2)  # type: ignore[union-attr]
        body = block[1:]
        has_items = any(_ITEM_START.match(line) for line in body)
        if head_value.strip() or not has_items:
            fixed = _repair_quotes(block, start + 1, repairs)
            try:
                result.data.update(safe_load("\n".join(fixed)) or {key: None})
            except yaml.YAMLError as exc:
                line = _mark_line(exc)
                raise yaml.YAMLError(
                    f"line {start + 1 + (line or 0)}: {_short(exc)} (in top-level key {key!r})"
                ) from exc
            continue
        values: list[Any] = []
        items = _split_items(body)
        indents = {len(body[i]) - len(body[i].lstrip()) for i, _ in items}
        if len(indents) > 1:
            repairs.append(
                f"key {key!r}: list items indented differently ({sorted(indents)} spaces); "
                "each item was read on its own"
            )
        for number, (offset, item_lines) in enumerate(items):
            first_line = start + 2 + offset
            fixed = _repair_quotes(item_lines, first_line, repairs)
            chunk = textwrap.dedent("\n".join(fixed))
            try:
                values.append(safe_load(chunk))
            except yaml.YAMLError as exc:
                line = _mark_line(exc)
                result.item_errors.append(
                    ItemError(
                        section=key,
                        index=number,
                        name=_item_name(item_lines),
                        line=first_line + (line or 0),
                        message=_short(exc),
                    )
                )
                values.append(None)
        result.data[key] = values
    return result


def load_tolerant(text: str) -> TolerantResult:
    """Parse ``text`` as YAML, repairing the faults hand-written A-Tune files are known for.

    Raises:
        yaml.YAMLError: when the text is not YAML even after the repairs (the message names
            the line).
    """
    try:
        return TolerantResult(data=safe_load(text))
    except YAMLBoundError:
        raise
    except yaml.YAMLError:
        pass
    repairs: list[str] = []
    lines = _repair_quotes(text.splitlines(), 1, repairs)
    try:
        return TolerantResult(data=safe_load("\n".join(lines)), repairs=repairs)
    except yaml.YAMLError:
        pass
    return _parse_by_blocks(text, [])
