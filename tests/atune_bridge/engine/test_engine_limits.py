"""Hostile requests: each is refused with a 4xx and a message naming the field at fault, in
well under a second, and none makes the engine stop answering others."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from atune_bridge import EngineConfig, create_engine_app

F = {"name": "f", "type": "continuous", "dtype": "float", "range": [0, 1], "ref": "0.5"}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_engine_app(EngineConfig(storage=None, seed=0)))


def refused(client: TestClient, method: str, path: str, body: Any, match: str, status: int = 400) -> str:
    start = time.perf_counter()
    r = client.request(method, path, content=json.dumps(body))
    elapsed = time.perf_counter() - start
    assert r.status_code == status, r.text
    message = r.json()["message"]
    assert match in message and "error" not in r.json(), message
    assert elapsed < 2.0, (elapsed, message)
    return message


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"max_eval": True, "knobs": [F]}, "max_eval: Value error, true is not a number"),
        ({"max_eval": 3, "random_starts": False, "knobs": [F]}, "random_starts"),
        ({"max_eval": 3, "knobs": [{**F, "range": [0, True]}]}, "knobs.0.range.1"),
        ({"max_eval": 3, "knobs": [{**F, "ref": True}]}, "knobs.0.ref"),
        ({"max_eval": 3, "knobs": [{**F, "name": "a,b"}]}, "knob 'a,b': its name holds ','"),
        ({"max_eval": 3, "knobs": [{**F, "name": "a=b"}]}, "knob 'a=b': its name holds '='"),
        ({"max_eval": 3, "knobs": [{**F, "type": "discrete", "step": 1e-300}]},
         "field 'step': step 1e-300 over [0, 1] makes more than 1e+15 values"),
        ({"max_eval": 3, "knobs": [{**F, "type": "discrete", "range": [0, 1e300], "step": 1e-10}]},
         "field 'step': step 1e-10 over [0, 1e+300] makes more than 1e+15 values"),
    ],
)
def test_a_bad_post_is_refused_with_a_message(client: TestClient, body: dict, match: str) -> None:
    refused(client, "POST", "/v1/optimizer", body, match)


def test_a_boolean_value_or_iteration_is_refused(client: TestClient) -> None:
    task = client.post("/v1/optimizer", json={"max_eval": 3, "knobs": [F]}).json()["task_id"]
    assert client.put(f"/v1/optimizer/{task}", json={"iterations": 0, "value": "1"}).status_code == 200
    refused(client, "PUT", f"/v1/optimizer/{task}", {"iterations": 1, "value": True}, "value: Value error, true")
    refused(client, "PUT", f"/v1/optimizer/{task}", {"iterations": True, "value": "1"}, "iterations")
    assert client.put(f"/v1/optimizer/{task}", json={"iterations": 1, "value": "2"}).status_code == 200
