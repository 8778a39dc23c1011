"""From the model's reply text to candidate configurations.

Models wrap JSON in code fences, surround it with prose, cut it off at the token limit, answer
with one object instead of a list, or use Python literals. This module finds the JSON and turns
it into :class:`Candidate` objects; it does not check values (see ``_repair``).

Every search is bounded, so a long or broken reply costs time in proportion to its length:
at most :data:`MAX_STARTS` places where a JSON value may begin are tried, at most
:data:`MAX_CUTS` ways to close a reply cut off at the token limit, and a ``deadline`` (the
model's own, which the parsing counts against) stops the search with what was found. The
reply is cut to ``PromptConfig.reply_chars`` before it gets here.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import time
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._proposal._fixes import Repair


if TYPE_CHECKING:
    from collections.abc import Iterator
    from collections.abc import Sequence


_LIST_KEYS = (
    "configurations",
    "configs",
    "proposals",
    "candidates",
    "suggestions",
    "recommendations",
    "results",
    "trials",
)
_PARAM_KEYS = ("params", "parameters", "config", "configuration", "settings", "values")
_RATIONALE_KEYS = ("rationale", "reason", "reasoning", "explanation", "why", "comment")
MAX_STARTS = 32
"""The most positions of ``[`` or ``{`` a JSON value is looked for at."""

MAX_CUTS = 16
"""The most places a cut-off reply is closed at, from its end back."""

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One configuration as the model wrote it (values not yet checked)."""

    params: dict[str, Any]
    rationale: str = ""


@dataclasses.dataclass(frozen=True)
class ParseResult:
    """Candidates found in a reply, with notes on how they were found."""

    candidates: list[Candidate]
    notes: list[Repair]


def parse_reply(text: str, param_names: Sequence[str], deadline: float | None = None) -> ParseResult:
    """Find the configurations in ``text``.

    Args:
        text: The reply.
        param_names: The search space's parameter names, in order; used to read a bare list of
            values (the seed experiment's ``{"values": [...]}`` format) positionally.
        deadline: A :func:`time.monotonic` time after which the search stops with what it
            found (noted); :obj:`None`: no deadline.

    Returns:
        The candidates (possibly none) and notes on extraction (code fence, prose, truncation).
    """
    notes: list[Repair] = []
    value = _find_json(text, notes, deadline)
    if value is _NOTHING:
        return ParseResult([], notes)
    candidates = _to_candidates(value, list(param_names), notes)
    return ParseResult(candidates, notes)


def find_json(text: str, notes: list[Repair], deadline: float | None = None) -> Any:
    """The first JSON value in ``text`` (fences, prose, truncation handled), or :obj:`None`.

    How it was found is appended to ``notes``.
    """
    value = _find_json(text, notes, deadline)
    return None if value is _NOTHING else value


class _Nothing:
    pass


_NOTHING: Any = _Nothing()


def _find_json(text: str, notes: list[Repair], deadline: float | None = None) -> Any:
    stripped = text.strip()
    if not stripped:
        return _NOTHING
    value = _loads(stripped, notes)
    if value is not _NOTHING:
        return value
    for fence, match in enumerate(_FENCE.finditer(stripped)):
        if fence >= MAX_STARTS or _past(deadline, notes):
            break
        body = match.group(1).strip()
        if not body:
            continue
        value = _loads(body, notes)
        if value is _NOTHING:
            value, _ = _first_embedded(body, notes, deadline)
        if value is not _NOTHING:
            notes.append(Repair("extracted", None, "JSON taken from a code fence"))
            return value
    value, surrounded = _first_embedded(stripped, notes, deadline)
    if value is not _NOTHING and surrounded:
        notes.append(Repair("extracted", None, "JSON taken from surrounding prose"))
    return value


def _loads(text: str, notes: list[Repair]) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    without_commas = _TRAILING_COMMA.sub(r"\1", text)
    if without_commas != text:
        try:
            value = json.loads(without_commas)
        except ValueError:
            pass
        else:
            notes.append(Repair("syntax", None, "trailing commas removed"))
            return value
    if text[:1] in "[{":
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            pass
        else:
            if isinstance(value, (dict, list, tuple)):
                notes.append(Repair("syntax", None, "read as a Python literal"))
                return _jsonable(value)
    return _NOTHING


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return value


def _past(deadline: float | None, notes: list[Repair]) -> bool:
    """Whether ``deadline`` has passed; noted once when it has."""
    if deadline is None or time.monotonic() <= deadline:
        return False
    if not any(n.kind == "deadline" for n in notes):
        notes.append(
            Repair(
                "deadline",
                None,
                "the model's timeout ran out while the reply was read; the rest of it was not searched",
            )
        )
    return True


def _first_embedded(text: str, notes: list[Repair], deadline: float | None = None) -> tuple[Any, bool]:
    """Decode the first JSON object or array in ``text``; say whether other text surrounds it.

    At most :data:`MAX_STARTS` opening brackets are tried, each in time linear in the text.
    """
    decoder = json.JSONDecoder()
    for tried, match in enumerate(re.finditer(r"[\[{]", text)):
        if tried >= MAX_STARTS or _past(deadline, notes):
            break
        start = match.start()
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            pass
        else:
            if isinstance(value, (dict, list)) and value:
                return value, bool(text[:start].strip() or text[end:].strip())
            continue
        closing = _matching_end(text, start)
        if closing is not None:
            value = _loads(text[start:closing], notes)
            if value is not _NOTHING:
                return value, bool(text[:start].strip() or text[closing:].strip())
            continue
        value = _close_truncated(text[start:], deadline)
        if value is not _NOTHING:
            notes.append(Repair("truncated", None, "reply was cut off; incomplete tail dropped"))
            return value, bool(text[:start].strip())
    return _NOTHING, False


def _matching_end(text: str, start: int) -> int | None:
    """Index after the bracket closing the one at ``start``, or None if it is never closed."""
    depth = 0
    in_string = False
    quote = ""
    escaped = False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                in_string = False
        elif c in "\"'":
            in_string, quote = True, c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _close_truncated(fragment: str, deadline: float | None = None) -> Any:
    """Close a JSON text cut off at its end, dropping the incomplete last element.

    Cut points are just after a closed object or array, and just before a comma, so a number
    cut off in the middle of its digits is never kept. The last :data:`MAX_CUTS` of them are
    tried, from the end; finding them and their closing brackets takes two passes over the
    text, whatever its nesting.
    """
    cuts = _cuts(fragment)
    if cuts is None:
        return _NOTHING
    chosen = cuts[-MAX_CUTS:]
    closers = _closers_at(fragment, [end for end, _ in chosen])
    for end, _ in reversed(chosen):
        if deadline is not None and time.monotonic() > deadline:
            break
        candidate = _TRAILING_COMMA.sub(r"\1", fragment[:end] + closers[end])
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, (dict, list)) and value:
            return value
    return _NOTHING


def _scan(fragment: str) -> Iterator[tuple[int, str, list[str]]]:
    """Each bracket and comma outside strings: its index, the character, the open brackets'
    closers after it (a list the caller must not keep)."""
    stack: list[str] = []
    in_string = False
    escaped = False
    for i, c in enumerate(fragment):
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
            continue
        if c == '"':
            in_string = True
        elif c in "[{":
            stack.append("]" if c == "[" else "}")
            yield i, c, stack
        elif c in "]}":
            if stack:
                stack.pop()
            yield i, c, stack
        elif c == ",":
            yield i, c, stack


def _cuts(fragment: str) -> list[tuple[int, int]] | None:
    """Where the text can be cut and closed: ``(end, open brackets)`` pairs; :obj:`None`
    when a bracket closes that was never opened."""
    cuts: list[tuple[int, int]] = []
    depth = 0
    for i, c, stack in _scan(fragment):
        if c in "]}":
            if depth == 0:
                return None
            depth -= 1
            if depth:
                cuts.append((i + 1, depth))
        elif c in "[{":
            depth += 1
        else:
            cuts.append((i, len(stack)))
    return cuts


def _closers_at(fragment: str, ends: Sequence[int]) -> dict[int, str]:
    """The closing brackets the text needs when cut at each of ``ends``."""
    wanted = set(ends)
    out: dict[int, str] = {}
    stack: list[str] = []
    for i, c, stack in _scan(fragment):
        # A comma's cut is before it; a closing bracket's cut is after it.
        end = i if c == "," else i + 1
        if end in wanted:
            out[end] = "".join(reversed(stack))
    for end in wanted - set(out):
        out[end] = "".join(reversed(stack))
    return out


def _to_candidates(value: Any, names: list[str], notes: list[Repair]) -> list[Candidate]:
    if isinstance(value, list):
        if value and all(not isinstance(v, (dict, list)) for v in value):
            return _positional(value, names, notes)
        out: list[Candidate] = []
        for item in value:
            out.extend(_to_candidates(item, names, notes))
        return out
    if not isinstance(value, dict):
        return []
    for key in _LIST_KEYS:
        if isinstance(value.get(key), list):
            return _to_candidates(value[key], names, notes)
        if isinstance(value.get(key), dict):
            return _to_candidates(value[key], names, notes)
    values = value.get("values")
    if isinstance(values, list) and not set(value) - {"values", *_RATIONALE_KEYS}:
        return _to_candidates(values, names, notes)
    candidate = _from_object(value)
    return [candidate] if candidate.params else []


def _positional(values: list[Any], names: list[str], notes: list[Repair]) -> list[Candidate]:
    if len(values) != len(names):
        notes.append(
            Repair(
                "unusable",
                None,
                f"a bare list of {len(values)} values cannot be matched to {len(names)} parameters",
            )
        )
        return []
    notes.append(Repair("positional", None, "bare list of values read in parameter order"))
    return [Candidate(dict(zip(names, values)))]


def _from_object(obj: dict[str, Any]) -> Candidate:
    rationale = ""
    for key in _RATIONALE_KEYS:
        if isinstance(obj.get(key), str):
            rationale = obj[key]
            break
    for key in _PARAM_KEYS:
        if isinstance(obj.get(key), dict):
            return Candidate(dict(obj[key]), rationale)
    params = {k: v for k, v in obj.items() if k not in _RATIONALE_KEYS}
    return Candidate(params, rationale)
