"""Typed A-Tune project files: server ``object`` lists, client ``evaluations``, engine knobs.

Loading is tolerant by design, because real files are messy. The rules, each of which
records a ``warning`` :class:`~atune_bridge.Problem` when it fires:

* keys are compared without surrounding spaces and case (``dtype : "int"`` works);
* numbers given as strings (``"100"``) are read as numbers; whole floats as ints;
* ``items:`` left empty means no extra items;
* ``type: "float"`` or ``type: "int"`` means ``continuous`` with that ``dtype``;
* a missing ``dtype`` is inferred: ``options`` give ``string``, whole-number scopes ``int``,
  anything else ``float``; a missing ``type`` is ``discrete`` with ``options``, else
  ``continuous`` for a two-value scope;
* ``needrestart`` and ``skip`` accept booleans and the strings true/false/yes/no/1/0;
* ``options`` given as numbers are read as strings (``dtype: string``); ``options`` of an
  int or float parameter without ``scope`` or ``items`` are read as its ``items``;
* a discrete ``scope`` with an odd number of values loses its last value, as in A-Tune
  (which reads scopes as ``[lo, hi]`` pairs);
* a discrete step below 1 for an int parameter becomes 1, a step of 0 or less for a float
  one becomes 0.1 (A-Tune's defaults);
* an evaluation ``type`` other than negative/positive is read as positive (A-Tune's reading);
* an empty list item is ignored; unknown keys are ignored.

One key is this project's own, in either file: ``environment``, the environment variables the
project's commands need from the runner's environment (``NAME``, or ``NAME*`` for every
variable starting with ``NAME``; see :mod:`atune_bridge._runner._secrets`). atuned ignores it.

An object that cannot be made valid (no name, no ``set``, an unknown ``dtype``, a scope that is
not numbers, a low bound above its high bound, no options for a string parameter, ...) is
recorded as an ``error`` problem naming the file, the object and the field, and left out;
the rest of the file still loads. Only a file that is not YAML, or not an A-Tune project at
all, raises :class:`~atune_bridge.AtuneFileError`.
"""

from __future__ import annotations

import math
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from atune_bridge._format._errors import AtuneFileError, InvalidKnobError, Problem
from atune_bridge._format._knob import MAX_FLOAT_STEPS, Knob, Relationship
from atune_bridge._format._space import MAX_CHOICES, search_space
from atune_bridge._format._yaml import load_tolerant

_DTYPE_ALIASES = {
    "int": "int",
    "integer": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "real": "float",
    "string": "string",
    "str": "string",
    "enum": "string",
}
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\*?")
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off", ""}
_RELATION_TYPES = {"less", "greater", "rely_on", "depend_on", "multiple"}
_SERVER_KEYS = {"project", "maxiterations", "startworkload", "stopworkload", "object", "environment"}
_CLIENT_KEYS = {
    "project",
    "engine",
    "iterations",
    "random_starts",
    "benchmark",
    "evaluations",
    "environment",
    "history_path",
    "feature_filter_engine",
    "feature_filter_cycle",
    "feature_filter_iters",
    "feature_filter_count",
    "feature_selector",
    "split_count",
    "eval_fluctuation",
}


@dataclass(frozen=True)
class ServerSpec:
    """A server YAML file: the project, its workload commands and its tunable objects.

    Example:
        >>> from atune_bridge import load_server
        >>> spec = load_server("studies/nginx/nginx_server.yaml")  # doctest: +SKIP
        >>> spec.search_space()  # doctest: +SKIP
    """

    project: str
    knobs: tuple[Knob, ...]
    maxiterations: int | None = None
    startworkload: str = ""
    stopworkload: str = ""
    path: str = "<string>"
    problems: tuple[Problem, ...] = ()
    environment: tuple[str, ...] = ()
    """Environment variables the project's commands need (``NAME`` or ``NAME*``)."""

    @property
    def tunable(self) -> tuple[Knob, ...]:
        """The knobs that are tuned: those without ``skip: true``."""
        return tuple(k for k in self.knobs if not k.skip)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    def knob(self, name: str) -> Knob:
        for k in self.knobs:
            if k.name == name:
                return k
        raise KeyError(f"{self.path}: no object named {name!r}")

    def search_space(self) -> dict[str, Any]:
        """The Optuna search space of the tunable knobs (see :func:`to_distribution`)."""
        return search_space(self.tunable)


@dataclass(frozen=True)
class Evaluation:
    """One metric of a client file: the command reading it from ``$out`` and how it counts."""

    name: str
    get: str
    type: Literal["negative", "positive"] = "positive"
    weight: float = 100.0
    threshold: float | None = None

    @property
    def higher_is_better(self) -> bool:
        """A-Tune's ``negative``: the value is negated before minimisation."""
        return self.type == "negative"


@dataclass(frozen=True)
class ClientSpec:
    """A client YAML file: the benchmark, its evaluations and the search settings."""

    project: str
    benchmark: str
    evaluations: tuple[Evaluation, ...]
    engine: str = "bayes"
    iterations: int = 30
    random_starts: int = 20
    path: str = "<string>"
    extras: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    environment: tuple[str, ...] = ()
    """Environment variables the project's commands need (``NAME`` or ``NAME*``)."""

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


# --------------------------------------------------------------------------- helpers


class _Collector:
    """Collects problems for one file; ``fail`` raises for the object being read."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def warn(self, obj: str | None, fld: str | None, message: str, line: int | None = None) -> None:
        self.problems.append(Problem(self.file, obj, fld, message, "warning", line))

    def error(self, obj: str | None, fld: str | None, message: str, line: int | None = None) -> None:
        self.problems.append(Problem(self.file, obj, fld, message, "error", line))

    def fail(self, obj: str | None, fld: str | None, message: str) -> InvalidKnobError:
        return InvalidKnobError(Problem(self.file, obj, fld, message, "error"))


def _norm_keys(mapping: Mapping[Any, Any], c: _Collector, obj: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        norm = str(key).strip().lower()
        if norm != str(key):
            c.warn(obj, norm, f"key {str(key)!r} read as {norm!r}")
        out[norm] = value
    return out


def _to_number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a number") from None
    else:
        raise ValueError(f"{what} {value!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{what} {value!r} is not a finite number")
    return number


def _numbers(value: Any, fld: str, name: str, c: _Collector) -> tuple[float, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, Sequence):
        raise c.fail(name, fld, f"expected a list of numbers, got {type(value).__name__} {value!r}")
    out = []
    for item in value:
        try:
            number = _to_number(item, "value")
        except ValueError as exc:
            raise c.fail(name, fld, f"{exc}; write plain numbers, e.g. [1, 100]") from None
        if isinstance(item, str):
            c.warn(name, fld, f"number given as a string {item!r}: read as {number:g}")
        out.append(int(number) if number.is_integer() else number)
    return tuple(out)


def _flag(value: Any, fld: str, name: str, c: _Collector) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise c.fail(name, fld, f"expected true or false, got {value!r}")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip() if isinstance(value, str) else str(value)


def is_variable_pattern(text: str) -> bool:
    """Whether ``text`` names environment variables: ``NAME``, or ``NAME*`` for every variable
    starting with ``NAME`` (an ``environment`` entry, a ``--pass-env`` value)."""
    return bool(_VARIABLE.fullmatch(text))


def _environment(raw: Any, c: _Collector) -> tuple[str, ...]:
    """The ``environment`` list: variable names, or names followed by ``*``."""
    if raw in (None, "", []):
        return ()
    entries = raw if isinstance(raw, list) else [raw]
    names = []
    for entry in entries:
        text = _text(entry)
        if is_variable_pattern(text):
            names.append(text)
        else:
            c.error(None, "environment", f"{text!r} is not a variable name (NAME or NAME*): left out")
    return tuple(names)


def _relationships(raw: Any, name: str, c: _Collector) -> tuple[Relationship, ...]:
    if raw in (None, "", []):
        return ()
    if not isinstance(raw, list):
        raise c.fail(name, "relationships", "expected a list of {type, target, value}")
    out = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise c.fail(name, "relationships", f"expected a mapping, got {entry!r}")
        entry = _norm_keys(entry, c, name)
        rtype = _text(entry.get("type")).lower()
        if rtype not in _RELATION_TYPES:
            raise c.fail(
                name,
                "relationships",
                f"type {rtype!r} is not one of {sorted(_RELATION_TYPES)}",
            )
        target = _text(entry.get("target"))
        if not target:
            raise c.fail(name, "relationships", "a relationship needs a target object name")
        out.append(Relationship(rtype, target, _text(entry.get("value")), _text(entry.get("src_name"))))
    return tuple(out)


def _build_knob(name: str, info: Mapping[str, Any], c: _Collector, *, need_set: bool) -> Knob:
    """Validate one object's ``info`` (already key-normalised) into a :class:`Knob`."""
    ktype = _text(info.get("type")).lower()
    dtype_raw = _text(info.get("dtype")).lower()
    dtype = _DTYPE_ALIASES.get(dtype_raw) if dtype_raw else None
    if dtype_raw and dtype is None:
        raise c.fail(name, "dtype", f"dtype {dtype_raw!r} is not one of int, float, string")
    if dtype_raw and dtype != dtype_raw:
        c.warn(name, "dtype", f"dtype {dtype_raw!r} read as {dtype!r}")

    options_raw = info.get("options")
    scope = _numbers(info.get("scope", info.get("range")), "scope", name, c)
    items = _numbers(info.get("items"), "items", name, c)

    if dtype in ("int", "float") and options_raw and not scope and not items:
        items = _numbers(options_raw, "options", name, c)
        c.warn(name, "options", f"options of a {dtype} parameter read as its discrete items")
        options_raw = None
    if ktype in ("float", "int"):
        c.warn(name, "type", f"type {ktype!r} read as continuous with dtype {ktype!r}")
        if dtype is None:
            dtype = ktype  # type: ignore[assignment]
        ktype = "continuous"
    if not ktype:
        ktype = "discrete" if options_raw or items or len(scope) != 2 else "continuous"
        c.warn(name, "type", f"type missing: read as {ktype!r}")
    if ktype not in ("discrete", "continuous"):
        raise c.fail(name, "type", f"type {ktype!r} is not 'discrete' or 'continuous'")
    if dtype is None:
        if options_raw:
            dtype = "string"
        elif all(float(v).is_integer() for v in scope + items):
            dtype = "int"
        else:
            dtype = "float"
        c.warn(name, "dtype", f"dtype missing: inferred {dtype!r} from the values")

    options: tuple[str, ...] = ()
    step: float | None = None
    if dtype == "string":
        if ktype == "continuous":
            c.warn(name, "type", "a string parameter is discrete: type read as 'discrete'")
            ktype = "discrete"
        if not isinstance(options_raw, list) or not options_raw:
            raise c.fail(name, "options", "a string parameter needs a non-empty options list")
        if len(options_raw) > MAX_CHOICES:
            raise c.fail(name, "options", f"{len(options_raw)} options is more than {MAX_CHOICES}; list fewer")
        seen: dict[str, None] = {}  # a dict keeps the order and checks duplicates in O(1)
        for option in options_raw:
            if option is None:
                continue
            if not isinstance(option, str):
                c.warn(name, "options", f"option {option!r} given as a number: read as {str(option)!r}")
            text = str(option).strip() if isinstance(option, str) else str(option)
            if text in seen:
                c.warn(name, "options", f"duplicate option {text!r} ignored")
                continue
            seen[text] = None
        if not seen:
            raise c.fail(name, "options", "a string parameter needs a non-empty options list")
        options = tuple(seen)
    else:
        if dtype == "int":
            for v in scope + items:
                if not float(v).is_integer():
                    fld = "scope" if v in scope else "items"
                    raise c.fail(name, fld, f"value {v} is not a whole number but dtype is int")
        if ktype == "continuous":
            if len(scope) != 2:
                raise c.fail(
                    name,
                    "scope",
                    f"a continuous parameter needs scope [low, high], got {list(scope)}",
                )
            if info.get("step") not in (None, ""):
                c.warn(name, "step", "step is ignored for a continuous parameter (as in A-Tune)")
        else:
            if not scope and not items:
                raise c.fail(name, "scope", "a discrete parameter needs a scope [low, high] or items")
            if len(scope) % 2 == 1:
                if len(scope) == 1:
                    raise c.fail(name, "scope", f"scope {list(scope)} has one value; write [low, high]")
                c.warn(
                    name,
                    "scope",
                    f"scope {list(scope)} has an odd number of values: A-Tune reads [low, high] "
                    f"pairs and ignores the last value {scope[-1]}; list single values under items",
                )
                scope = scope[:-1]
            raw_step = info.get("step")
            if raw_step not in (None, ""):
                try:
                    step = _to_number(raw_step, "step")
                except ValueError as exc:
                    raise c.fail(name, "step", str(exc)) from None
                if dtype == "int" and step < 1:
                    c.warn(name, "step", f"step {step:g} below 1 for an int parameter: 1 is used")
                    step = 1
                elif dtype == "int" and not step.is_integer():
                    raise c.fail(name, "step", f"step {step:g} is not a whole number but dtype is int")
                elif dtype == "float" and step <= 0:
                    c.warn(name, "step", f"step {step:g} is not positive: 0.1 is used")
                    step = 0.1
                if dtype == "int":
                    step = int(step)
        for lo, hi in [(scope[i], scope[i + 1]) for i in range(0, len(scope) - 1, 2)]:
            if lo > hi:
                raise c.fail(name, "scope", f"low {lo} is above high {hi}; write [low, high]")
            if ktype == "discrete" and dtype == "float":
                count = (hi - lo) / (step or 0.1)
                if not count <= MAX_FLOAT_STEPS:  # also inf, from [0, 1e300] with step 1e-10
                    raise c.fail(
                        name,
                        "step",
                        f"step {step or 0.1:g} over [{lo:g}, {hi:g}] makes more than {MAX_FLOAT_STEPS:.0e} "
                        "values: raise the step, or make the parameter continuous",
                    )

    ref_raw = info.get("ref")
    ref: str | None = None
    if ref_raw is not None and ref_raw != "":
        if isinstance(ref_raw, float) and ref_raw.is_integer():
            ref_raw = int(ref_raw)
        ref = str(ref_raw).strip() if isinstance(ref_raw, str) else str(ref_raw)

    set_cmd = _text(info.get("set"))
    if need_set and not set_cmd:
        raise c.fail(name, "set", 'no set command: add `set: "... $value ..."`')
    knob = Knob(
        name=name,
        type=ktype,  # type: ignore[arg-type]
        dtype=dtype,  # type: ignore[arg-type]
        scope=scope,
        step=step,
        items=items,
        options=options,
        ref=ref,
        desc=_text(info.get("desc")),
        get=_text(info.get("get")),
        set=set_cmd,
        needrestart=_flag(info.get("needrestart"), "needrestart", name, c),
        skip=_flag(info.get("skip"), "skip", name, c),
    )
    if ref is not None and not knob.contains(ref):
        c.warn(name, "ref", f"ref {ref!r} lies outside the declared domain; the baseline keeps it as measured")
    return knob


MAX_FILE_BYTES = 1024 * 1024
"""The largest project file read (A-Tune's largest example is 30 KB)."""


def _read_small_file(path: Path) -> str:
    """The text of a regular file of at most :data:`MAX_FILE_BYTES`; a FIFO, a device or a
    directory is refused before it is opened (reading one could block or never end)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"not a regular file ({_file_kind(info.st_mode)}); give the path of a YAML file")
    with path.open("rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(f"larger than {MAX_FILE_BYTES // 1024} KiB; an A-Tune project file is a few KiB")
    return data.decode("utf-8")


def _file_kind(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _load(path: str | Path) -> tuple[dict[str, Any], _Collector]:
    """Read and parse ``path``; its top-level keys normalised, and the collector of problems."""
    file = str(path)
    try:
        text = _read_small_file(Path(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise AtuneFileError(file, f"cannot read the file: {exc}") from exc
    c = _Collector(file)
    try:
        result = load_tolerant(text)
    except yaml.YAMLError as exc:
        raise AtuneFileError(file, f"not valid YAML even after repairs: {exc}") from exc
    for repair in result.repairs:
        c.warn(None, None, f"YAML repaired: {repair}")
    for err in result.item_errors:
        label = err.name or f"#{err.index + 1}"
        c.error(label, None, f"this {err.section} item is not valid YAML: {err.message}", err.line)
    data = result.data
    if data is None:
        raise AtuneFileError(file, "the file is empty")
    if not isinstance(data, Mapping):
        raise AtuneFileError(file, f"expected a mapping of keys at the top, got {type(data).__name__}")
    return _norm_keys(data, c, None), c


def _kind(data: Mapping[str, Any]) -> Literal["server", "client"] | None:
    if "object" in data:
        return "server"
    if "evaluations" in data or "benchmark" in data:
        return "client"
    return None


def _int_field(data: Mapping[str, Any], key: str, default: int | None, c: _Collector) -> int | None:
    value = data.get(key)
    if value is None or value == "":
        return default
    try:
        number = _to_number(value, key)
        if not number.is_integer():
            raise ValueError(f"{key} {value!r} is not a whole number")
    except ValueError as exc:
        c.error(None, key, f"{exc}; using {default}")
        return default
    return int(number)


# --------------------------------------------------------------------------- server


def server_from_dict(data: Mapping[str, Any], path: str = "<string>") -> ServerSpec:
    """Build a :class:`ServerSpec` from parsed YAML (see the module doc for the rules)."""
    c = _Collector(path)
    return _server(_norm_keys(data, c, None), c)


def _server(data: dict[str, Any], c: _Collector) -> ServerSpec:
    for key in data:
        if key not in _SERVER_KEYS and key not in _CLIENT_KEYS:
            c.warn(None, key, "unknown top-level key ignored")
    objects = data.get("object")
    if objects is None:
        objects = []
        c.error(None, "object", "no objects: the file has nothing to tune")
    if not isinstance(objects, list):
        raise AtuneFileError(c.file, "`object` must be a list of {name, info} entries")
    knobs: list[Knob] = []
    names: set[str] = set()
    for index, entry in enumerate(objects):
        label = f"#{index + 1}"
        if entry is None:
            continue  # unparsable items were reported by the YAML reader; empty ones skipped
        try:
            if not isinstance(entry, Mapping):
                raise c.fail(label, None, f"expected a mapping with name and info, got {entry!r}")
            entry = _norm_keys(entry, c, label)
            name = _text(entry.get("name"))
            if not name:
                raise c.fail(label, "name", "the object has no name")
            info = entry.get("info")
            if not isinstance(info, Mapping):
                raise c.fail(name, "info", "the object needs an `info` mapping")
            info = _norm_keys(info, c, name)
            if name in names:
                raise c.fail(name, "name", "a second object with this name; names must be unique")
            knob = _build_knob(name, info, c, need_set=True)
            knob = replace(knob, relationships=_relationships(entry.get("relationships"), name, c))
        except InvalidKnobError as exc:
            c.problems.append(exc.problem)
            continue
        names.add(name)
        knobs.append(knob)
    empty = sum(1 for e in objects if e is None)
    if empty and not any(p.severity == "error" and p.line for p in c.problems):
        c.warn(None, "object", f"{empty} empty list item(s) ignored")
    return ServerSpec(
        project=_text(data.get("project")) or Path(c.file).stem,
        knobs=tuple(knobs),
        maxiterations=_int_field(data, "maxiterations", None, c),
        startworkload=_text(data.get("startworkload")),
        stopworkload=_text(data.get("stopworkload")),
        path=c.file,
        environment=_environment(data.get("environment"), c),
        problems=tuple(c.problems),
    )


def load_server(path: str | Path) -> ServerSpec:
    """Load a server YAML file (``object`` list) into a :class:`ServerSpec`.

    Raises:
        AtuneFileError: the file cannot be read, is not YAML even after repairs, or is not a
            server file.
    """
    data, c = _load(path)
    if _kind(data) != "server":
        raise AtuneFileError(c.file, "not an A-Tune server file: it has no `object` list")
    return _server(data, c)


# --------------------------------------------------------------------------- client


def client_from_dict(data: Mapping[str, Any], path: str = "<string>") -> ClientSpec:
    """Build a :class:`ClientSpec` from parsed YAML."""
    c = _Collector(path)
    return _client(_norm_keys(data, c, None), c)


def _client(data: dict[str, Any], c: _Collector) -> ClientSpec:
    for key in data:
        if key not in _CLIENT_KEYS:
            c.warn(None, key, "unknown top-level key ignored")
    benchmark = _text(data.get("benchmark"))
    if not benchmark:
        c.error(None, "benchmark", 'no benchmark command: add `benchmark: "sh bench.sh"`')
    raw = data.get("evaluations") or []
    if not isinstance(raw, list):
        raise AtuneFileError(c.file, "`evaluations` must be a list of {name, info} entries")
    evaluations: list[Evaluation] = []
    for index, entry in enumerate(raw):
        label = f"#{index + 1}"
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            c.error(label, None, f"expected a mapping with name and info, got {entry!r}")
            continue
        entry = _norm_keys(entry, c, label)
        name = _text(entry.get("name")) or label
        info = entry.get("info")
        if not isinstance(info, Mapping):
            c.error(name, "info", "the evaluation needs an `info` mapping with get and type")
            continue
        info = _norm_keys(info, c, name)
        get = _text(info.get("get"))
        if not get:
            c.error(name, "get", "no get command reading the metric from $out")
            continue
        etype = _text(info.get("type")).lower()
        if etype not in ("negative", "positive"):
            c.warn(
                name,
                "type",
                f"type {etype!r} is not negative (higher is better) or positive (lower is "
                "better): read as positive, as A-Tune does",
            )
            etype = "positive"
        weight = 100.0
        if info.get("weight") not in (None, ""):
            try:
                weight = _to_number(info["weight"], "weight")
            except ValueError as exc:
                c.error(name, "weight", f"{exc}; using 100")
        threshold = None
        if info.get("threshold") not in (None, ""):
            try:
                threshold = _to_number(info["threshold"], "threshold")
            except ValueError as exc:
                c.error(name, "threshold", str(exc))
        evaluations.append(Evaluation(name, get, etype, weight, threshold))  # type: ignore[arg-type]
    if not evaluations:
        c.error(None, "evaluations", "no usable evaluation: nothing can be measured")
    elif len(evaluations) > 1:
        total = sum(e.weight for e in evaluations)
        if not math.isclose(total, 100.0):
            c.warn(None, "evaluations", f"weights add up to {total:g}, not 100")
    extras = {
        k: v
        for k, v in data.items()
        if k not in {"project", "benchmark", "evaluations", "engine", "iterations", "random_starts", "environment"}
    }
    environment = _environment(data.get("environment"), c)
    return ClientSpec(
        project=_text(data.get("project")) or Path(c.file).stem,
        benchmark=benchmark,
        evaluations=tuple(evaluations),
        engine=_text(data.get("engine")) or "bayes",
        iterations=_int_field(data, "iterations", 30, c) or 30,
        random_starts=_int_field(data, "random_starts", 20, c) or 0,
        path=c.file,
        extras=extras,
        environment=environment,
        problems=tuple(c.problems),
    )


def load_client(path: str | Path) -> ClientSpec:
    """Load a client YAML file (``benchmark`` and ``evaluations``) into a :class:`ClientSpec`.

    Raises:
        AtuneFileError: the file cannot be read, is not YAML even after repairs, or is not a
            client file.
    """
    data, c = _load(path)
    if _kind(data) != "client":
        raise AtuneFileError(c.file, "not an A-Tune client file: it has no `evaluations` or `benchmark`")
    return _client(data, c)


def load_project_file(path: str | Path) -> ServerSpec | ClientSpec:
    """Load either kind of A-Tune file, telling server from client by its keys.

    Raises:
        AtuneFileError: the file is not an A-Tune project file (for example a TiUP
            topology), with what was found instead.
    """
    data, c = _load(path)
    kind = _kind(data)
    if kind == "server":
        return _server(data, c)
    if kind == "client":
        return _client(data, c)
    keys = ", ".join(sorted(data)[:6])
    raise AtuneFileError(
        c.file,
        f"not an A-Tune project file: no `object` list (server) and no `evaluations` (client); "
        f"top-level keys are {keys}",
    )


# --------------------------------------------------------------------------- engine knobs


def knob_from_engine(data: Mapping[str, Any], *, source: str = "request") -> Knob:
    """Validate one knob dict as atuned POSTs it to the engine (``range`` for ``scope``).

    Raises:
        InvalidKnobError: naming the knob and the field at fault.
    """
    c = _Collector(source)
    if not isinstance(data, Mapping):
        raise c.fail(None, None, f"a knob must be an object, got {type(data).__name__}")
    info = _norm_keys(data, c, None)
    name = _text(info.get("name"))
    if not name:
        raise c.fail(None, "name", "the knob has no name")
    return _build_knob(name, info, c, need_set=False)


def knobs_from_engine(items: Iterable[Mapping[str, Any]], *, source: str = "request") -> tuple[Knob, ...]:
    """Validate a knob list; names must be unique. Raises :class:`InvalidKnobError`."""
    knobs = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        knob = knob_from_engine(item, source=f"{source} knobs[{index}]")
        if knob.name in seen:
            raise InvalidKnobError(Problem(source, knob.name, "name", "duplicate knob name"))
        seen.add(knob.name)
        knobs.append(knob)
    return tuple(knobs)
