"""Loading A-Tune YAML: tolerance rules, and errors naming the file, the object and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from atune_bridge import (
    AtuneFileError,
    InvalidKnobError,
    Knob,
    knob_from_engine,
    knobs_from_engine,
    load_client,
    load_project_file,
    load_server,
)

GOOD_OBJECT = """
  - name: "good"
    info:
      desc: "a fine knob"
      get: "cat good"
      set: "echo $value > good"
      needrestart: "false"
      type: "discrete"
      scope: [1, 10]
      dtype: "int"
"""


def server_file(tmp_path: Path, objects: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f'project: "demo"\nmaxiterations: 10\nstartworkload: ""\nstopworkload: ""\nobject:\n{GOOD_OBJECT}{textwrap.dedent(objects)}')
    return path


def obj(**info: object) -> str:
    lines = ["  - name: \"bad\"", "    info:"]
    base = {"get": '"cat x"', "set": '"echo $value"'}
    base.update({k: v for k, v in info.items()})
    for key, value in base.items():
        if value is None:
            continue
        lines.append(f"      {key}: {value}")
    return "\n".join(lines) + "\n"


MALFORMED = [
    ("no set command", obj(type='"discrete"', dtype='"int"', scope="[1, 2]", set=None), "set", "no set command"),
    ("unknown dtype", obj(type='"discrete"', dtype='"bool"', scope="[1, 2]"), "dtype", "not one of int, float, string"),
    ("unknown type", obj(type='"fuzzy"', dtype='"int"', scope="[1, 2]"), "type", "not 'discrete' or 'continuous'"),
    ("scope of words", obj(type='"discrete"', dtype='"int"', scope='["low", "high"]'), "scope", "is not a number"),
    ("low above high", obj(type='"discrete"', dtype='"int"', scope="[10, 1]"), "scope", "low 10 is above high 1"),
    ("continuous with 3 values", obj(type='"continuous"', dtype='"int"', scope="[1, 2, 3]"), "scope", "needs scope [low, high]"),
    ("string without options", obj(type='"discrete"', dtype='"string"'), "options", "non-empty options"),
    ("discrete without values", obj(type='"discrete"', dtype='"int"'), "scope", "needs a scope"),
    ("fractional int scope", obj(type='"discrete"', dtype='"int"', scope="[1.5, 4]"), "scope", "not a whole number"),
    ("fractional int step", obj(type='"discrete"', dtype='"int"', scope="[1, 9]", step="1.5"), "step", "not a whole number"),
    ("step of words", obj(type='"discrete"', dtype='"float"', scope="[1, 9]", step='"big"'), "step", "not a number"),
    ("float step too fine", obj(type='"discrete"', dtype='"float"', scope="[0, 1]", step="1e-300"), "step", "more than 1e+15 values"),
    ("float scope too wide", obj(type='"discrete"', dtype='"float"', scope="[0, 1e300]", step="1e-10"), "step", "more than 1e+15 values"),
    ("needrestart of words", obj(type='"discrete"', dtype='"int"', scope="[1, 9]", needrestart='"maybe"'), "needrestart", "expected true or false"),
    ("bad relationship", obj(type='"discrete"', dtype='"int"', scope="[1, 9]").replace("    info:", "    relationships: [{type: sideways, target: good}]\n    info:"), "relationships", "is not one of"),
]


@pytest.mark.parametrize("case, text, field, message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_object_is_reported_by_file_object_and_field_and_the_rest_loads(
    tmp_path: Path, case: str, text: str, field: str, message: str
) -> None:
    path = server_file(tmp_path, text)
    spec = load_server(path)
    assert [k.name for k in spec.knobs] == ["good"]
    (error,) = spec.errors
    assert (error.file, error.object, error.field) == (str(path), "bad", field)
    assert message in error.message
    assert str(path) in str(error) and "'bad'" in str(error) and repr(field) in str(error)


def test_an_object_without_name_is_named_by_its_position(tmp_path: Path) -> None:
    spec = load_server(server_file(tmp_path, "  - info: {get: x, set: y, type: discrete, dtype: int, scope: [1, 2]}\n"))
    (error,) = spec.errors
    assert (error.object, error.field) == ("#2", "name")


def test_duplicate_names_keep_the_first(tmp_path: Path) -> None:
    spec = load_server(server_file(tmp_path, GOOD_OBJECT))
    assert len(spec.knobs) == 1
    assert spec.errors[0].field == "name" and "unique" in spec.errors[0].message


def test_an_unparsable_object_is_reported_with_its_line_and_the_rest_loads(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "project: demo\nobject:\n"
        "  -\n    name: good\n    info:\n      set: x\n      type: discrete\n      dtype: int\n      scope: [1, 2]\n"
        " -\n    name: broken\n    info:\n      set: [unclosed\n      type: discrete\n"
    )
    spec = load_server(path)
    assert [k.name for k in spec.knobs] == ["good"]
    (error,) = spec.errors
    assert error.object == "broken" and error.line is not None and error.line >= 10
    assert "not valid YAML" in error.message


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("- just\n- a list\n", "mapping of keys"),
        ("key: [unclosed\n", "not valid YAML"),
        ("global: {user: tidb}\npd_servers: []\n", "not an A-Tune project file"),
    ],
)
def test_a_file_that_cannot_be_used_raises_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(AtuneFileError, match=message) as info:
        load_project_file(path)
    assert str(path) in str(info.value)


def test_a_missing_file_raises_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AtuneFileError, match="cannot read"):
        load_server(tmp_path / "nope.yaml")


def test_a_client_file_is_not_a_server_file(examples: Path) -> None:
    with pytest.raises(AtuneFileError, match="not an A-Tune server file"):
        load_server(examples / "nginx" / "nginx_client.yaml")
    with pytest.raises(AtuneFileError, match="not an A-Tune client file"):
        load_client(examples / "redis" / "redis_server.yaml")


def test_tolerance_rules_fire_with_warnings(tmp_path: Path) -> None:
    path = server_file(
        tmp_path,
        """
  - name : "quirky"
    info :
        set : "echo $value"
        needrestart : "TRUE"
        type : "float"
        scope :
          - "0.5"
          - "2"
        items :
        "dtype " : "float"
""",
    )
    spec = load_server(path)
    knob = spec.knob("quirky")
    assert (knob.type, knob.dtype, knob.scope, knob.items, knob.needrestart) == (
        "continuous", "float", (0.5, 2), (), True,
    )
    fields = {p.field for p in spec.problems if p.object == "quirky"}
    assert {"type", "scope", "dtype"} <= fields
    assert all(p.severity == "warning" for p in spec.problems)


def test_relationships_and_skip_are_read(tmp_path: Path) -> None:
    spec = load_server(
        server_file(
            tmp_path,
            """
  - name: "tied"
    relationships:
      - {type: less, target: good}
    info:
      set: "echo $value"
      skip: true
      type: discrete
      dtype: int
      scope: [1, 4]
""",
        )
    )
    tied = spec.knob("tied")
    assert tied.skip and tied.relationships[0].type == "less" and tied.relationships[0].target == "good"
    assert [k.name for k in spec.tunable] == ["good"]
    assert list(spec.search_space()) == ["good"]


def test_client_fields_and_problems(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        'project: "p"\nengine: "tpe"\niterations: "12"\nbenchmark: "sh b.sh"\nevaluations:\n'
        '  - name: rps\n    info: {get: "echo $out", type: negative, weight: 70}\n'
        '  - name: lat\n    info: {get: "echo $out", type: positive, weight: 20, threshold: 9}\n'
        '  - name: broken\n    info: {type: positive}\n'
    )
    spec = load_client(path)
    assert (spec.engine, spec.iterations) == ("tpe", 12)
    assert [(e.name, e.higher_is_better, e.weight, e.threshold) for e in spec.evaluations] == [
        ("rps", True, 70, None), ("lat", False, 20, 9),
    ]
    assert [(p.object, p.field) for p in spec.errors] == [("broken", "get")]
    assert any("add up to 90" in p.message for p in spec.problems)


def test_engine_knobs_use_range_and_name_the_knob_at_fault() -> None:
    knob = knob_from_engine({"name": "k", "type": "discrete", "dtype": "int", "range": [1, 8], "step": 2, "ref": "3"})
    assert knob == Knob("k", "discrete", "int", scope=(1, 8), step=2, ref="3")
    with pytest.raises(InvalidKnobError, match="'k2'.*'range'|'k2'.*'scope'") as info:
        knobs_from_engine([{"name": "k1", "type": "continuous", "dtype": "int", "range": [0, 1]},
                           {"name": "k2", "type": "continuous", "dtype": "int", "range": ["a", 1]}])
    assert info.value.problem.object == "k2"
    with pytest.raises(InvalidKnobError, match="duplicate"):
        knobs_from_engine([{"name": "k", "type": "continuous", "dtype": "int", "range": [0, 1]}] * 2)
