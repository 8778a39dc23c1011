"""The HTTP face of the optimizer engine: A-Tune's ``/v1/optimizer`` on FastAPI.

Every reply that is not a success is a 4xx with a JSON ``message`` atuned can print:
validation errors are 400 (not FastAPI's 422), unknown tasks 404, PUTs out of sequence
409, and anything unexpected is logged with its traceback and answered with a 400 whose
body also carries ``"error": "internal"`` (the fuzz tests fail on that marker, so such a
reply is a bug to fix, not a behaviour).

atuned sends ``Content-Type: application/x-www-form-urlencoded`` *and*
``Content-Type: application/json`` on every request (A-Tune's ``common/http``); bodies of
POST and PUT on ``/v1/`` are therefore always read as JSON.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from atune_bridge._engine._errors import EngineRequestError
from atune_bridge._engine._protocol import MAX_EVAL, OptimizerEngine
from atune_bridge._engine._samplers import engine_names
from atune_bridge._engine._store import EngineConfig
from atune_bridge._format import AtuneBridgeError, InvalidKnobError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

_logger = logging.getLogger(__name__)

PATH = "/v1/optimizer"

MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest request body read (413 beyond it)."""
MAX_BODIES_BYTES = 32 * 1024 * 1024
"""The most bytes of request bodies held at once, being read or handled (503 beyond it), so that
many clients sending large bodies slowly cannot take the engine's memory."""
BODY_SECONDS = 30.0
"""How long a request body may take to arrive whole (408 after it): a client sending a large body
slowly holds its bytes no longer."""
MAX_CREATING = 4
"""The most ``POST``s building a task at once (429 beyond it), so that creating tasks never
takes every worker thread from the ``PUT``s and ``GET``s of others."""


# ---------------------------------------------------------------------- request and reply models


def _not_a_bool(value: Any) -> Any:
    # JSON true/false would otherwise pass as 1/0 (pydantic's lax mode).
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a number; send a number")
    return value


NotBool = BeforeValidator(_not_a_bool)
Int = Annotated[int, NotBool]
Float = Annotated[float, NotBool]


class Knob(BaseModel):
    """One tunable parameter, as atuned builds it from the server YAML ``object`` list."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(description="parameter name")
    type: str | None = Field(None, description='"discrete" or "continuous"')
    dtype: str | None = Field(None, description='"int", "float" or "string"')
    range: list[Float] | None = Field(None, description="the YAML scope: [lo, hi] or [lo1, hi1, lo2, hi2, ...]")
    items: list[Float] | None = Field(None, description="extra allowed discrete values")
    step: Float | None = Field(None, description="discrete step (0 or absent: 1 for int, 0.1 for float)")
    options: list[Annotated[str | int | float, NotBool]] | None = Field(
        None, description='allowed values when dtype is "string"'
    )
    ref: Annotated[str | int | float | None, NotBool] = Field(
        None, description="the parameter's current value (the baseline)"
    )


class CreateTask(BaseModel):
    """``POST /v1/optimizer``: create a tuning task. Unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    max_eval: Int = Field(ge=1, le=MAX_EVAL, description="number of evaluations to run")
    knobs: list[Knob] = Field(min_length=1, description="the tunable parameters")
    engine: str | None = Field(None, description=f"one of {', '.join(engine_names())} (default bayes)")
    random_starts: Int | None = Field(None, ge=0, description="random evaluations before the model-based ones")
    history_path: list[str] | str | None = Field(
        None, description="earlier studies to seed the task from: task ids or STUDY@STORAGE"
    )
    x_ref: list[list[str]] | None = Field(None, description='earlier configurations, each ["name=value", ...]')
    y_ref: list[Annotated[str | float, NotBool]] | None = Field(None, description="their evaluation sums (minimised)")
    feature_filter: bool | None = None
    split_count: Int | None = Field(None, ge=0, description="levels per knob for abtest (default 5)")
    noise: Float | None = None
    sel_feature: bool | None = None
    prj_name: str | None = None
    feature_selector: str | None = None


class TaskCreated(BaseModel):
    task_id: str
    status: str = Field(description='"OK"')
    iters: int = Field(description="evaluations the task will run")
    message: str | None = Field(None, description="warnings about the task (e.g. a sampler fallback)")


class PutStep(BaseModel):
    """``PUT /v1/optimizer/{task_id}``: one step of atuned's loop. Unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    iterations: Int = Field(ge=-1, description="-1 registration, 0 baseline, k >= 1 result of iteration k")
    value: Annotated[str | float, NotBool] = Field(
        description='comma-separated floats, summed and minimised; "" when none'
    )
    line: str | None = Field(None, description="atuned's record: iter|start|end|evaluations=SUM|metrics|params")
    prj_name: str | None = None
    max_iter: Int | None = None


class StepReply(BaseModel):
    param: str | None = Field(None, description='"name1=value1,name2=value2,..." for every knob')
    rank: str | None = Field(None, description='parameter importance, "name1: 40.1, name2: 12.0, ...", when finished')
    finished: bool | None = None
    message: str | None = None


class ErrorReply(BaseModel):
    message: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorReply, "description": "invalid request"},
    404: {"model": ErrorReply, "description": "unknown task id"},
}


# ---------------------------------------------------------------------- middleware and handlers


class _JsonBodies:
    """Read POST/PUT bodies under ``/v1/`` as JSON whatever Content-Type headers came with them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT") and scope["path"].startswith("/v1/"):
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
            headers.append((b"content-type", b"application/json"))
            scope = dict(scope, headers=headers)
        await self.app(scope, receive, send)


class _BodyRefused(Exception):
    """A request body not to be handled: the reply to send instead (None: the client is gone)."""

    def __init__(self, status: int | None = None, message: str = "", retry: bool = False) -> None:
        super().__init__(message)
        self.status, self.message, self.retry = status, message, retry


class _Limits:
    """Bound request bodies: each to :data:`MAX_BODY_BYTES` (413), all those held at once to
    :data:`MAX_BODIES_BYTES` (503), the time one takes to arrive to :data:`BODY_SECONDS` (408);
    a body cut short by a client that went away, or shorter than its ``Content-Length``, is never
    handled as if complete. POSTs beyond :data:`MAX_CREATING` at once get a 429."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.creating = 0  # changed on the event loop only: no lock needed
        self.held = 0
        """Bytes of request bodies being read or handled now (on the event loop only)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        reserved = [0]
        try:
            await self._handle(scope, receive, send, reserved)
        finally:
            self.held -= reserved[0]

    async def _handle(self, scope: Scope, receive: Receive, send: Send, reserved: list[int]) -> None:
        try:
            body = await self._read(scope, receive, reserved)
        except _BodyRefused as refused:
            if refused.status is None:
                _logger.info(
                    "%s %s: the client went away before sending its whole body; dropped", scope["method"], scope["path"]
                )
                return
            headers = {"Retry-After": "2"} if refused.retry else None
            await JSONResponse({"message": refused.message}, status_code=refused.status, headers=headers)(
                scope, receive, send
            )
            return
        creating = scope["method"] == "POST" and scope["path"].rstrip("/") == PATH
        if creating and self.creating >= MAX_CREATING:
            message = f"{self.creating} tasks are being created; retry in a few seconds"
            await JSONResponse({"message": message}, status_code=429, headers={"Retry-After": "2"})(
                scope, receive, send
            )
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        self.creating += creating
        try:
            await self.app(scope, replay, send)
        finally:
            self.creating -= creating

    def _reserve(self, reserved: list[int], size: int) -> None:
        """Count ``size`` more bytes as held for this request.

        Raises:
            _BodyRefused: past :data:`MAX_BODY_BYTES` or :data:`MAX_BODIES_BYTES`.
        """
        if reserved[0] + size > MAX_BODY_BYTES:
            raise _BodyRefused(
                413,
                f"the request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB; "
                "send fewer knobs, options or x_ref rows",
            )
        if self.held + size > MAX_BODIES_BYTES:
            raise _BodyRefused(
                503,
                f"the engine holds {MAX_BODIES_BYTES // (1024 * 1024)} MiB of request "
                "bodies already; retry in a few seconds",
                retry=True,
            )
        self.held += size
        reserved[0] += size

    async def _read(self, scope: Scope, receive: Receive, reserved: list[int]) -> bytes:
        """The whole body, counted in :attr:`held` until the request is done.

        Raises:
            _BodyRefused: too large, too many held, too slow, or cut short (see the class doc).
        """
        declared = None
        for key, value in scope["headers"]:
            if key.lower() == b"content-length" and value.isdigit():
                declared = int(value)
        if declared is not None:  # refused before reading when it cannot fit
            self._reserve(reserved, declared)
            self.held -= declared
            reserved[0] = 0
        deadline = asyncio.get_running_loop().time() + BODY_SECONDS
        chunks, size, more = [], 0, True
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - asyncio.get_running_loop().time()))
            except asyncio.TimeoutError:
                raise _BodyRefused(408, f"the request body did not arrive whole within {BODY_SECONDS:g} s") from None
            if message["type"] != "http.request":
                raise _BodyRefused()  # http.disconnect: what came is not the whole body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > reserved[0]:
                self._reserve(reserved, size - reserved[0])
            chunks.append(chunk)
            more = message.get("more_body", False)
        if declared is not None and size != declared:
            raise _BodyRefused(400, f"the request body has {size} bytes, not the {declared} its Content-Length says")
        return b"".join(chunks)


class _NeverCrash:
    """Answer any exception that escaped the handlers with a JSON message (and log it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            _logger.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            body = {"message": f"internal error: {type(exc).__name__}: {exc}", "error": "internal"}
            await JSONResponse(body, status_code=400)(scope, receive, send)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in list(exc.errors())[:5]:
        loc = [str(p) for p in error.get("loc", ())]
        if loc and loc[0] in ("body", "path", "query"):
            loc = loc[1:]
        where = ".".join(loc) or "body"
        text = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            where, text = "body", f"not valid JSON ({(error.get('ctx') or {}).get('error', 'decode error')})"
        parts.append(f"{where}: {text}")
    return "invalid request: " + "; ".join(parts)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"message": _validation_message(exc)}, status_code=400)


async def _on_bridge_error(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status if isinstance(exc, EngineRequestError) else 400
    message = str(exc)
    if isinstance(exc, InvalidKnobError):
        p = exc.problem
        source = f" ({p.file})" if p.file.startswith("request") else ""
        where = p.file if p.object is None else f"knob {p.object!r}{source}"
        message = where + (f" field {p.field!r}" if p.field else "") + f": {p.message}"
    return JSONResponse({"message": message}, status_code=status)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


def _drop_422(app: FastAPI) -> None:
    """The OpenAPI description without FastAPI's 422 replies (validation errors are 400 here)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# ---------------------------------------------------------------------- the app


def create_engine_app(config: EngineConfig | None = None, *, chat_model: Any = None) -> FastAPI:
    """Build the app; see :func:`atune_bridge.create_engine_app` (the public, lazy entry)."""
    engine = OptimizerEngine(config, chat_model=chat_model)
    app = FastAPI(
        title="A-Tune optimizer engine on Optuna",
        description=(
            "Drop-in for A-Tune's engine `/v1/optimizer` API (what atuned calls during "
            "`atune-adm tuning`). Every task is an Optuna study."
        ),
        version="1",
    )
    app.state.engine = engine
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(AtuneBridgeError, _on_bridge_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_middleware(_JsonBodies)
    app.add_middleware(_Limits)
    app.add_middleware(_NeverCrash)

    @app.post(
        PATH,
        response_model=TaskCreated,
        response_model_exclude_none=True,
        responses={
            **_ERRORS,
            200: {
                "links": {"PutStep": {"operationId": "put_step", "parameters": {"task_id": "$response.body#/task_id"}}}
            },
        },
        operation_id="create_task",
        summary="Create a tuning task",
    )
    def create_task(body: CreateTask) -> dict[str, Any]:
        request = body.model_dump(exclude={"knobs"})
        knobs = [k.model_dump(exclude_none=True) for k in body.knobs]
        return engine.create_task(knobs=knobs, **request)

    @app.get(PATH, response_model=list[str], operation_id="list_tasks", summary="List task ids")
    def list_tasks() -> list[str]:
        return engine.list_tasks()

    @app.get(
        f"{PATH}/{{task_id}}",
        response_model=list[str],
        responses=_ERRORS,
        operation_id="get_task",
        summary="Confirm a task exists",
    )
    def get_task(task_id: str) -> list[str]:
        return engine.get_task(task_id)

    @app.put(
        f"{PATH}/{{task_id}}",
        response_model=StepReply,
        response_model_exclude_none=True,
        responses={**_ERRORS, 409: {"model": ErrorReply, "description": "iteration out of sequence"}},
        operation_id="put_step",
        summary="Report a result, get the next parameters",
    )
    def put_step(task_id: str, body: PutStep) -> dict[str, Any]:
        return engine.put(task_id, **body.model_dump())

    @app.delete(f"{PATH}/{{task_id}}", responses=_ERRORS, operation_id="delete_task", summary="Stop and remove a task")
    def delete_task(task_id: str) -> dict[str, Any]:
        return engine.delete_task(task_id)

    _drop_422(app)
    return app
