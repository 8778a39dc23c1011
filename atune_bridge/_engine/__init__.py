"""The HTTP engine: A-Tune's optimizer engine protocol (what atuned calls) on Optuna studies.

* ``_protocol``: :class:`OptimizerEngine`: what each request (POST, PUT, GET, DELETE) does,
  and the sequence of PUTs atuned sends;
* ``_store``: the task store: one study per task, cached, locked, rebuilt after a restart;
  :class:`EngineConfig`;
* ``_samplers``: the sampler table: which Optuna sampler runs for each A-Tune engine name;
* ``_errors``: the requests it refuses, with their HTTP status;
* ``_app``: the FastAPI app serving it on ``/v1/optimizer`` (imported only when an app is
  built, so that the rest needs no FastAPI).

May import the A-Tune formats (``atune_bridge._format``), never the runner
(``atune_bridge._runner``) nor the modules on top (the CLI). Its own modules import each
other directly, never through this face.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atune_bridge._engine._errors import EngineRequestError, OutOfOrderError, UnknownTaskError
from atune_bridge._engine._protocol import OptimizerEngine
from atune_bridge._engine._samplers import UnsupportedEngineError, engine_names
from atune_bridge._engine._store import EngineConfig

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "EngineConfig",
    "EngineRequestError",
    "OptimizerEngine",
    "OutOfOrderError",
    "UnknownTaskError",
    "UnsupportedEngineError",
    "create_engine_app",
    "engine_names",
]


def create_engine_app(config: EngineConfig | None = None, *, chat_model: Any = None) -> FastAPI:
    """A FastAPI app serving A-Tune's optimizer engine protocol on ``/v1/optimizer``.

    Each call builds its own :class:`~atune_bridge.OptimizerEngine` (kept on
    ``app.state.engine``); nothing is shared between apps.

    Example:
        >>> from fastapi.testclient import TestClient
        >>> from atune_bridge import EngineConfig, create_engine_app
        >>> client = TestClient(create_engine_app(EngineConfig(storage=None)))
        >>> client.post("/v1/optimizer", json={"max_eval": 5, "engine": "tpe", "knobs": [
        ...     {"name": "x", "type": "continuous", "dtype": "float", "range": [0, 1]}]}).json()["status"]
        'OK'
        >>> client.put("/v1/optimizer/nope", json={"iterations": 1, "value": "1"}).json()
        {'message': 'taskid nope not found'}

    Args:
        config: storage, seed, model settings (:class:`~atune_bridge.EngineConfig`).
        chat_model: a LangChain chat model to use instead of building ``config.llm``.
    """
    from atune_bridge._engine._app import create_engine_app as build

    return build(config, chat_model=chat_model)
