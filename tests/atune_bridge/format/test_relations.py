"""A-Tune's less/greater/multiple relations: values repaired into their domain, products set.

None of the 42 example files (``tests/data/atune_examples``) declares a relationship (the
test below checks it, so this file notices the day one does); the tests on real files add
relations in A-Tune's shape to the redis example, where the kernel really caps Redis's
``tcp-backlog`` at ``net.core.somaxconn``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from atune_bridge._format import Knob, Relationship, apply_multiples, load_server, relation_problems, repair_relations
from atune_bridge._format._relations import nearest_allowed

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "atune_examples"
REDIS = EXAMPLES / "redis" / "redis_benchmark_server.yaml"


def knob(name: str, *rels: tuple[str, str], **kwargs: object) -> Knob:
    base: dict[str, object] = dict(type="discrete", dtype="int", scope=(64, 1024), step=64, set="echo $value")
    base.update(kwargs)
    return Knob(name, relationships=tuple(Relationship(t, target) for t, target in rels), **base)  # type: ignore[arg-type]


def test_no_example_file_declares_a_relationship_yet() -> None:
    found = [p.name for p in EXAMPLES.rglob("*.yaml") if "relationships" in p.read_text(errors="replace")]
    assert found == []


@pytest.mark.parametrize(("domain", "bound", "at_most", "expected"), [
    (dict(scope=(64, 1024), step=64), 300, True, 256),
    (dict(scope=(64, 1024), step=64), 300, False, 320),
    (dict(scope=(64, 1024), step=64), 5000, True, 1024),
    (dict(scope=(64, 1024), step=64), 10, True, None),
    (dict(scope=(64, 1024), step=64), 2000, False, None),
    (dict(scope=(1, 4, 100, 200), step=1, items=(50.0,)), 60, True, 50),  # an extra item counts
    (dict(scope=(1, 4, 100, 200), step=1), 60, False, 100),  # the second scope pair
    (dict(type="continuous", dtype="float", scope=(0.0, 1.0), step=None), 0.25, True, 0.25),
    (dict(type="continuous", dtype="int", scope=(16, 65536), step=None), 1000.5, True, 1000),
    (dict(dtype="float", scope=(0.0, 1.0), step=0.25), 0.6, True, 0.5),  # np.arange: 1.0 excluded
    (dict(dtype="float", scope=(0.0, 1.0), step=0.25), 0.9, False, None),
])
def test_the_nearest_allowed_value_lies_in_the_domain(domain: dict, bound: float, at_most: bool,
                                                      expected: float | None) -> None:
    k = knob("k", **domain)
    found = nearest_allowed(k, bound, at_most=at_most)
    assert found == (pytest.approx(expected) if expected is not None else None)
    if found is not None:
        assert k.contains(found)


def test_less_lowers_the_object_to_the_largest_value_kept_and_says_so() -> None:
    knobs = [knob("buf"), knob("cache", ("less", "buf"))]
    fixed = repair_relations(knobs, {"buf": 256, "cache": 512})
    assert fixed.values == {"buf": 256, "cache": 256}
    assert [(c.name, c.old, c.new, c.why) for c in fixed.changes] == [
        ("cache", 512, 256, "cache must be at most buf (256): 512 -> 256")]
    assert fixed.broken == []
    assert repair_relations(knobs, {"buf": 512, "cache": 256}).changes == []  # kept: untouched


def test_greater_raises_the_object_and_a_chain_settles() -> None:
    knobs = [knob("a", ("less", "b")), knob("b", ("less", "c")), knob("c")]
    fixed = repair_relations(knobs, {"a": 1024, "b": 768, "c": 128})
    assert fixed.values == {"a": 128, "b": 128, "c": 128}
    up = repair_relations([knob("lo"), knob("hi", ("greater", "lo"), step=100, scope=(100, 1000))],
                          {"lo": 640, "hi": 300})
    assert up.values["hi"] == 700 and up.changes[0].why == "hi must be at least lo (640): 300 -> 700"


def test_a_relation_no_value_keeps_is_reported_broken_and_left_alone() -> None:
    knobs = [knob("big"), knob("small", ("greater", "big"), scope=(1, 8), step=1)]
    fixed = repair_relations(knobs, {"big": 512, "small": 4})
    assert fixed.values == {"big": 512, "small": 4} and fixed.changes == []
    assert fixed.broken == ["small must be at least big (512), but no value of its domain is; it is 4"]


def test_multiple_sets_the_factor_times_the_target_as_atune_does() -> None:
    knobs = [knob("workers", scope=(1, 8), step=1), knob("conns", ("multiple", "workers"), scope=(1, 4), step=1)]
    assert apply_multiples(knobs, {"workers": "3", "conns": "4"}) == {"workers": "3", "conns": "12"}
    floats = [knob("w", dtype="float", type="continuous", scope=(0.0, 10.0)),
              knob("c", ("multiple", "w"), scope=(1, 4), step=1)]
    assert apply_multiples(floats, {"w": "2.5", "c": "3"})["c"] == "7"  # int(7.5), as RunSet truncates


def test_relations_that_cannot_hold_are_named_and_ignored() -> None:
    knobs = [knob("a", ("less", "gone")), knob("b", ("greater", "mode")),
             Knob("mode", "discrete", "string", options=("x", "y"), set="echo $value")]
    assert relation_problems(knobs) == [
        "a: relationship 'less' names 'gone', which is not a tunable object; it is ignored",
        "b: relationship 'greater' with 'mode' compares numbers, but one of them takes strings; it is ignored",
    ]
    assert repair_relations(knobs, {"a": 1024, "b": 64, "mode": "x"}).changes == []


def redis_with_relations(tmp_path: Path) -> Path:
    """The real redis example with relations added in A-Tune's shape (``relationships`` beside ``info``)."""
    text = REDIS.read_text()
    text = text.replace('    name : "redis.tcp-backlog"\n',
                        '    name : "redis.tcp-backlog"\n'
                        '    relationships :\n'
                        '      - type : "less"\n'
                        '        target : "net.core.somaxconn"\n', 1)
    text = text.replace('    name : "net.core.optmem_max"\n',
                        '    name : "net.core.optmem_max"\n'
                        '    relationships :\n'
                        '      - type : "greater"\n'
                        '        target : "net.core.rmem_max"\n', 1)
    path = tmp_path / "redis_benchmark_server.yaml"
    path.write_text(text)
    return path


def test_relations_on_the_real_redis_example_are_read_and_kept(tmp_path: Path) -> None:
    spec = load_server(redis_with_relations(tmp_path))
    assert not spec.errors
    knobs = list(spec.tunable)
    backlog = spec.knob("redis.tcp-backlog")
    assert backlog.relationships == (Relationship("less", "net.core.somaxconn"),)
    assert relation_problems(knobs) == []
    values = {k.name: k.coerce(k.scope[-1] if k.dtype != "string" else k.options[0]) for k in knobs}
    values.update({"redis.tcp-backlog": 50000, "net.core.somaxconn": 1024})
    values.update({"net.core.rmem_max": 8388608, "net.core.optmem_max": 20480})
    fixed = repair_relations(knobs, values)
    assert fixed.values["redis.tcp-backlog"] == 1024  # continuous int: lowered to somaxconn itself
    assert backlog.contains(fixed.values["redis.tcp-backlog"])
    assert [c.name for c in fixed.changes] == ["redis.tcp-backlog"]
    # optmem_max tops at 204800, below rmem_max's lowest 1 MiB: no value keeps "greater"
    assert fixed.broken == ["net.core.optmem_max must be at least net.core.rmem_max (8388608), but no "
                            "value of its domain is; it is 20480"]
    assert fixed.values["net.core.optmem_max"] == 20480
