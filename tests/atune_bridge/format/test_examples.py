"""Every one of A-Tune's 42 example YAML files loads: clients to a spec, servers to a space."""

from __future__ import annotations

from pathlib import Path

import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution

from atune_bridge import (
    AtuneFileError,
    ClientSpec,
    ServerSpec,
    load_client,
    load_project_file,
    load_server,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "atune_examples"
ALL_FILES = sorted(EXAMPLES.rglob("*.yaml"))
NOT_ATUNE = {"tidb/topo.yaml"}  # a TiUP cluster topology shipped beside the tidb project


def _rel(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


def test_the_corpus_has_42_files() -> None:
    assert len(ALL_FILES) == 42


@pytest.mark.parametrize("path", ALL_FILES, ids=_rel)
def test_each_file_loads_to_a_client_spec_or_a_search_space(path: Path) -> None:
    if _rel(path) in NOT_ATUNE:
        with pytest.raises(AtuneFileError, match="not an A-Tune project file"):
            load_project_file(path)
        return
    spec = load_project_file(path)
    if isinstance(spec, ServerSpec):
        space = spec.search_space()
        assert space, f"{path}: empty search space; problems: {spec.problems}"
        assert list(space) == [k.name for k in spec.tunable]
        assert not spec.errors, [str(p) for p in spec.errors]
    else:
        assert isinstance(spec, ClientSpec)
        assert spec.benchmark
        assert spec.evaluations
        assert not spec.errors, [str(p) for p in spec.errors]


def test_servers_and_clients_are_told_apart() -> None:
    kinds = {}
    for path in ALL_FILES:
        if _rel(path) in NOT_ATUNE:
            continue
        kinds[_rel(path)] = type(load_project_file(path)).__name__
    assert sum(k == "ServerSpec" for k in kinds.values()) == 20
    assert sum(k == "ClientSpec" for k in kinds.values()) == 21


def test_nested_double_quotes_are_repaired_to_what_the_author_meant() -> None:
    spec = load_client(EXAMPLES / "ffmpeg" / "ffmpeg_client.yaml")
    assert [e.name for e in spec.evaluations] == ["real", "SSIM", "PSNR"]
    assert spec.evaluations[0].get == """cat tran.txt | grep 'real' | awk -F ":" '{print $2}'"""
    assert any("YAML repaired" in p.message and p.severity == "warning" for p in spec.problems)


def test_unknown_evaluation_types_are_read_as_positive_as_atune_does() -> None:
    spec = load_client(EXAMPLES / "ffmpeg" / "ffmpeg_client.yaml")
    assert {e.type for e in spec.evaluations} == {"positive"}
    assert [e.weight for e in spec.evaluations] == [50, 25, 25]
    warned = {p.object for p in spec.problems if p.field == "type"}
    assert warned == {"real", "SSIM", "PSNR"}


@pytest.mark.parametrize(
    "name, count",
    [("ffmpeg/ffmpeg_server.yaml", 5), ("redis/redis_benchmark_server.yaml", 14)],
)
def test_items_indented_differently_are_each_read(name: str, count: int) -> None:
    spec = load_server(EXAMPLES / name)
    assert len(spec.knobs) == count
    assert any("indented differently" in p.message for p in spec.problems)


def test_int_options_without_scope_become_items() -> None:
    spec = load_server(EXAMPLES / "ffmpeg" / "ffmpeg_server.yaml")
    assert spec.search_space()["threads"] == IntDistribution(1, 8, step=1)


def test_a_missing_dtype_is_inferred_from_the_scope() -> None:
    spec = load_server(EXAMPLES / "kafka" / "kafka_server.yaml")
    knob = spec.knob("kafka.linger_ms")
    assert (knob.type, knob.dtype) == ("continuous", "int")
    assert spec.search_space()["kafka.linger_ms"] == IntDistribution(0, 30)


def test_an_odd_scope_is_read_as_pairs_like_atune_and_warned_about() -> None:
    spec = load_server(EXAMPLES / "spark" / "spark_auto_deployment_and_tuning" / "spark_hibench_server.yaml")
    space = spec.search_space()
    # [10, 20, 30, 40, 50] is read by A-Tune as 10..20 and 30..40 (50 ignored).
    assert space["default_parallelism"] == CategoricalDistribution(list(range(10, 21)) + list(range(30, 41)))
    # [1, 2, 3, 4] gives 1..2 and 3..4, which join into one progression.
    assert space["executor_memory"] == IntDistribution(1, 4, step=1)
    warned = [p for p in spec.problems if p.object == "default_parallelism"]
    assert warned and "ignores the last value 50" in warned[0].message


def test_ref_values_are_kept_as_the_baseline() -> None:
    spec = load_server(EXAMPLES / "redis" / "redis_server.yaml")
    assert spec.knob("redis.tcp-keepalive").ref == "300"
    assert spec.knob("redis.AOF").ref == "no"


def test_a_huge_single_range_is_not_enumerated() -> None:
    spec = load_server(EXAMPLES / "mariadb" / "mariadb_server.yaml")
    dist = spec.search_space()["mariadb.innodb_buffer_pool_size"]
    assert isinstance(dist, IntDistribution)
    assert dist.step == 1024 and dist.low == 1024
    assert dist.high <= 137_000_000_000 and (dist.high - dist.low) % 1024 == 0
