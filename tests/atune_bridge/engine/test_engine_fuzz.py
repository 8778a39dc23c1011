"""No request makes the engine answer 5xx or fall into its catch-all handler.

Two fuzzers: schemathesis drives every operation of the OpenAPI description (valid and
invalid bodies), and a Hypothesis test drives whole tasks with random knobs and random
PUT sequences (iterations out of order, junk values and lines, PUTs after the end).
The catch-all handler marks its replies with ``"error": "internal"``; seeing one fails
the test as surely as a 500 would.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from atune_bridge import EngineConfig, create_engine_app, engine_names, knobs_from_engine, parse_params

schemathesis = pytest.importorskip("schemathesis", reason="the fuzz tests need schemathesis (the dev extra)")

ALLOWED = {200, 400, 404, 405, 409, 413, 429}


def check(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    assert response.status_code in ALLOWED, (response.status_code, response.text)
    body = response.json()
    if response.status_code != 200:
        assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], body
    assert not (isinstance(body, dict) and body.get("error") == "internal"), body


# ---------------------------------------------------------------------- schemathesis

schema = schemathesis.openapi.from_asgi("/openapi.json", create_engine_app(EngineConfig(storage=None, seed=1)))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_operations_never_fail_on_the_server(case: Any) -> None:
    check(case.call())


Workflow = schema.as_state_machine()


class _Linked(Workflow):  # type: ignore[misc,valid-type]
    """POST, then PUT/GET/DELETE on the task it created (the OpenAPI links)."""

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        check(response)


TestLinkedOperations = _Linked.TestCase
TestLinkedOperations.settings = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), stateful_step_count=6
)


# ---------------------------------------------------------------------- whole tasks

numbers = st.one_of(st.integers(-10, 5000), st.floats(-10, 1000, allow_nan=False).map(lambda x: round(x, 2)))


@st.composite
def knob(draw: st.DrawFn, index: int) -> dict[str, Any]:
    """Mostly valid knobs as atuned posts them, sometimes broken ones."""
    name = f"k{index}"
    kind = draw(st.sampled_from(
        ["string", "string", "int-discrete", "int-discrete", "int-continuous", "float-discrete",
         "float-continuous", "junk"]))
    if kind == "string":
        options = draw(st.lists(st.sampled_from(["on", "off", "auto", "1", "a b", "x=y", "deadline"]),
                                min_size=0, max_size=4, unique=True))
        ref = draw(st.one_of(st.sampled_from(options or ["on"]), st.just(""), st.just("other")))
        return {"name": name, "type": "discrete", "dtype": "string", "options": options or None, "ref": ref,
                "range": None, "items": None, "step": 0}
    if kind == "junk":
        return {"name": draw(st.sampled_from([name, ""])), "type": draw(st.sampled_from(["discrete", "float", "enum", ""])),
                "dtype": draw(st.sampled_from(["int", "float", "string", "bool", ""])),
                "range": draw(st.one_of(st.none(), st.lists(numbers, max_size=5))),
                "items": draw(st.one_of(st.none(), st.lists(numbers, max_size=3))),
                "step": draw(st.one_of(st.just(0), numbers)), "options": None,
                "ref": draw(st.one_of(st.none(), numbers.map(str)))}
    low, high = sorted((draw(numbers), draw(numbers)))
    dtype, ktype = kind.split("-")
    if dtype == "int":
        low, high = int(low), int(high)
    step = draw(st.sampled_from([0, 1, 0.5, 7, 100])) if ktype == "discrete" else 0
    items = draw(st.one_of(st.none(), st.lists(st.integers(-5, 5), max_size=2)))
    ref = draw(st.one_of(st.just(str(low)), st.just(str(high)), numbers.map(str), st.just("")))
    return {"name": name, "type": ktype, "dtype": dtype, "range": [low, high], "items": items,
            "step": step, "options": None, "ref": ref}


values = st.one_of(numbers.map(str), numbers.map(str), st.just("-1.5,-2.5"), numbers, st.just(""),
                   st.sampled_from(["abc", "nan", "1,,2", " 7 ", "1e309", "-0", "Infinity"]))


@st.composite
def puts(draw: st.DrawFn) -> list[dict[str, Any]]:
    """atuned's sequence -1, 0, 1, 2, ... (good steps) mixed with bad steps: repeats, skips,
    junk values and lines. Only a good step moves the expected iteration on."""
    ops = []
    nominal = -1
    for _ in range(draw(st.integers(1, 14))):
        good = draw(st.sampled_from([True, True, True, True, False]))
        if good:
            iterations = nominal
            value = draw(numbers.map(str)) if nominal > 0 else draw(st.one_of(st.just(""), numbers.map(str)))
            line = draw(st.sampled_from(["", f"{iterations}|t|t|evaluations={value}|m={value}|k0=1"]))
            if nominal == -1:
                line = "project demo tpe 5\n"
            nominal += 1
        else:
            iterations = draw(st.integers(-2, 9))
            value = draw(values)
            line = draw(st.one_of(st.just(""), st.just(None), st.just("project demo tpe 5\n"),
                                  st.just(f"{iterations}|t|t|evaluations={value}|m={value}|k0=1"),
                                  st.text(max_size=20)))
        body: dict[str, Any] = {"iterations": iterations, "value": value}
        if line is not None:
            body["line"] = line
        if draw(st.booleans()):
            body.update(prj_name="demo-1", max_iter=draw(st.integers(-1, 10)))
        ops.append(body)
    return ops


@given(
    knobs=st.integers(1, 3).flatmap(lambda n: st.tuples(*(knob(i) for i in range(n)))),
    engine=st.one_of(st.sampled_from(engine_names()), st.sampled_from(["", "whitebox", "GRIDSEARCH"]), st.none()),
    max_eval=st.sampled_from([1, 2, 3, 4, 5, 6, 4, 5, 0, -1]),
    steps=puts(),
    x_ref=st.booleans(),
)
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_tasks_and_put_sequences(knobs: tuple, engine: Any, max_eval: int, steps: list, x_ref: bool) -> None:
    client = TestClient(create_engine_app(EngineConfig(storage=None, seed=0)))
    body: dict[str, Any] = {"max_eval": max_eval, "knobs": list(knobs), "engine": engine, "random_starts": 1}
    if x_ref:
        body["x_ref"] = [[f"{k['name']}={k.get('ref') or 1}" for k in knobs]]
        body["y_ref"] = ["-3"]
    r = client.post("/v1/optimizer", content=json.dumps(body))
    check(r)
    event(f"POST {r.status_code}" + ("" if r.status_code == 200 else " " + r.json()["message"][:45]))
    if r.status_code != 200:
        return
    task = r.json()["task_id"]
    parsed = knobs_from_engine(list(knobs))
    finished = False
    for step in steps:
        r = client.put(f"/v1/optimizer/{task}", content=json.dumps(step))
        check(r)
        event(f"PUT {r.status_code}")
        if finished and step["iterations"] >= -1:
            # A finished task takes no more results (409); a body that is itself invalid (a
            # value or line that does not parse) is refused as such first (400).
            assert r.status_code in (409, 400), r.text
        if r.status_code == 200 and step["iterations"] != -1:
            reply = r.json()
            parse_params(reply["param"], parsed)  # every knob, each value of its dtype
            if reply["finished"]:
                event("finished")
                finished = True
                for item in reply["rank"].split(","):
                    float(item.partition(":")[2])  # what atuned's strconv.ParseFloat needs
    check(client.get(f"/v1/optimizer/{task}"))
    check(client.delete(f"/v1/optimizer/{task}"))


@pytest.mark.parametrize(
    "raw",
    [b"", b"null", b"[]", b"{}", b'"text"', b"{\"max_eval\": 1e400}", b'{"max_eval": NaN, "knobs": []}',
     b'{"max_eval": 3, "knobs": [{"name": "a", "type": "continuous", "dtype": "float", "range": [NaN, 1]}]}',
     b'{"max_eval": 3, "knobs": [{"name": "a", "type": "continuous", "dtype": "float", "range": [0, Infinity]}]}',
     b"\xff\xfe",
     # past the size limits (docs/atuned-engine.md, Limits)
     json.dumps({"max_eval": 5, "engine": "abtest", "split_count": 1_000_000, "knobs": [
         {"name": "f", "type": "continuous", "dtype": "float", "range": [0, 1], "ref": "0.5"}]}).encode(),
     json.dumps({"max_eval": 5, "knobs": [{"name": "s", "type": "discrete", "dtype": "string",
                                           "options": [str(i) for i in range(10_001)]}]}).encode(),
     json.dumps({"max_eval": 5, "knobs": [{"name": f"k{i}", "type": "continuous", "dtype": "int",
                                           "range": [0, 1]} for i in range(201)]}).encode(),
     json.dumps({"max_eval": 999, "knobs": [{"name": "k", "type": "continuous", "dtype": "int", "range": [0, 9]}],
                 "x_ref": [["k=1"]] * 501, "y_ref": ["1"] * 501}).encode(),
     b'{"max_eval": 5, "pad": "' + b"x" * (9 << 20) + b'"}'],
)
def test_odd_bodies(raw: bytes) -> None:
    client = TestClient(create_engine_app(EngineConfig(storage=None)))
    check(client.post("/v1/optimizer", content=raw))
    check(client.put("/v1/optimizer/x", content=raw))
