"""Asking for JSON in the strongest form a model accepts, and remembering which form that is.

Servers differ in how they take a JSON schema: OpenAI and vLLM take ``response_format`` type
``json_schema``; llama.cpp's servers (``llama-server``, ``python -m llama_cpp.server``) take
type ``json_object`` with the schema beside it and refuse ``json_schema`` (llama-cpp-python's
answers HTTP 500); some take neither. :class:`OutputModes` tries the forms from the strongest
down, steps down when the server refuses one, and keeps the form that was accepted for the
next calls, so a refusal costs one quick failed request per sampler, not one per round:
until a form has been answered once, the call goes out without the client's own retries
(:func:`without_retries`).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._errors import ModelCallError
from optuna_llm_sampler._errors import ModelTimeoutError
from optuna_llm_sampler._model._invoke import bind_schema
from optuna_llm_sampler._model._invoke import invoke


if TYPE_CHECKING:
    from collections.abc import Sequence

    from optuna_llm_sampler._model._invoke import Reply


_logger = logging.getLogger(__name__)


class OutputMode(str, enum.Enum):
    """How the reply's JSON schema is passed to the model, strongest first."""

    JSON_SCHEMA = "json_schema"
    """``response_format={"type": "json_schema", "json_schema": {"name", "schema"}}`` (OpenAI)."""

    JSON_OBJECT = "json_object"
    """``response_format={"type": "json_object", "schema": ...}`` (llama.cpp's servers)."""

    PROMPT = "prompt"
    """No ``response_format``: the prompt alone asks for JSON; the parser is lenient."""


_ORDER = (OutputMode.JSON_SCHEMA, OutputMode.JSON_OBJECT, OutputMode.PROMPT)

# Statuses that say nothing about the request's format: credentials, a wrong URL or model,
# rate limits and an overloaded or unreachable upstream. Stepping down on them would give up
# structured output for the rest of the study because of a passing condition.
_NOT_A_REFUSAL = frozenset({401, 403, 404, 408, 409, 429, 502, 503, 504})
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "structured output")


def without_retries(model: Any) -> Any:
    """A copy of ``model`` whose HTTP client does not retry a failed request, or ``model``.

    OpenAI's client (under LangChain's ``ChatOpenAI`` and the models built on it) retries a
    failed request twice by default; a server that refuses an output form would answer each
    try the same. The copy asks once. Models without such a client come back unchanged.
    """
    root: Any = getattr(model, "root_client", None)
    if not callable(getattr(root, "with_options", None)) or not hasattr(model, "model_copy"):
        return model
    try:
        probe = model.model_copy()
        probe.root_client = root.with_options(max_retries=0)
        probe.client = probe.root_client.chat.completions
        root_async: Any = getattr(model, "root_async_client", None)
        if callable(getattr(root_async, "with_options", None)):
            probe.root_async_client = root_async.with_options(max_retries=0)
            probe.async_client = probe.root_async_client.chat.completions
    except Exception:  # Another client layout: ask with the model as it is.
        return model
    return probe


def bind_mode(model: Any, mode: OutputMode, schema: dict[str, Any]) -> Any:
    """``model`` bound to pass ``schema`` in the form ``mode`` (unchanged for ``PROMPT``)."""
    if mode is OutputMode.JSON_SCHEMA:
        return bind_schema(model, schema)
    if mode is OutputMode.JSON_OBJECT:
        return model.bind(response_format={"type": "json_object", "schema": schema})
    return model


def is_refusal(error: BaseException) -> bool:
    """Whether ``error`` (or an error it was raised from) says the server refused the format.

    A refusal is an HTTP 4xx/5xx answer other than those about credentials, the URL, rate
    limits or an unavailable upstream (whatever its message says), or an error without a
    status whose message names the response format (e.g. a client that takes no
    ``response_format`` keyword). A timeout is never a refusal: the server took the request.
    """
    chain = _chain(error)
    if any(isinstance(e, (ModelTimeoutError, TimeoutError)) for e in chain):
        return False
    for e in chain:
        status = _status_code(e)
        if status is not None:
            return 400 <= status < 600 and status not in _NOT_A_REFUSAL
    return any(word in str(e).lower() for e in chain for word in _FORMAT_WORDS)


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the errors it was raised from or during, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not e for e in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _status_code(error: BaseException) -> int | None:
    # openai.APIStatusError has status_code; httpx.HTTPStatusError has response.status_code.
    for value in (
        getattr(error, "status_code", None),
        getattr(getattr(error, "response", None), "status_code", None),
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _modes_for(structured: bool | str | OutputMode | None, model: Any) -> tuple[OutputMode, ...]:
    if structured is False or not callable(getattr(model, "bind", None)):
        return (OutputMode.PROMPT,)
    if structured is None:
        return _ORDER
    if structured is True:
        return _ORDER[:-1]
    try:
        return (OutputMode(structured),)
    except ValueError:
        raise ValueError(
            f"structured_output must be None, True, False or one of "
            f"{', '.join(repr(m.value) for m in OutputMode)}, got {structured!r}"
        ) from None


class OutputModes:
    """The forms still to try for one model, strongest first; one per sampler instance.

    Args:
        structured:
            :obj:`None`: try ``json_schema``, then ``json_object``, then prompt-only.
            :obj:`True`: the two schema forms only (a refusal of both fails the call).
            :obj:`False`: prompt-only. An :class:`OutputMode` or its value: that form only.
        model:
            The chat model; one without ``bind`` (not a LangChain runnable) gets prompt-only.
    """

    def __init__(self, structured: bool | str | OutputMode | None, model: Any) -> None:
        self._modes = _modes_for(structured, model)
        self._index = 0
        self._lock = threading.Lock()
        self._answered: set[OutputMode] = set()  # forms the model has answered in
        # The replies' output so far, for a timeout's message: (tokens, seconds, estimated).
        self._output = [0, 0.0, False]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]  # Locks do not pickle (Ray pickles samplers).
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self.__dict__.setdefault("_output", [0, 0.0, False])
        self.__dict__.setdefault("_answered", set())

    @property
    def current(self) -> OutputMode:
        """The form the next call starts with."""
        with self._lock:
            return self._modes[self._index]

    def invoke(
        self,
        model: Any,
        schema: dict[str, Any] | None,
        messages: Sequence[tuple[str, str]],
        timeout: float | None,
    ) -> tuple[Reply, OutputMode]:
        """Call ``model`` in the current form, stepping down on each refusal.

        ``timeout`` bounds the whole call, refusals included. Without a ``schema`` (one too
        large to send) the call is prompt-only, and the form kept for later calls is not
        changed.

        Raises:
            ModelTimeoutError: No answer within ``timeout``.
            ModelCallError: The model failed for another reason than a refusal, or refused
                the last form there is; the message names the forms refused.
        """
        try:
            reply, mode = self._invoke(model, schema, messages, timeout)
        except ModelTimeoutError as e:
            raise ModelTimeoutError(f"{e}; {self.throughput()}") from e
        self._measure(reply)
        return reply, mode

    def throughput(self) -> str:
        """How fast the model's replies came so far, in output tokens per second."""
        tokens, seconds, estimated = self._output
        if not tokens or not seconds:
            return "no reply of the model has been measured yet"
        about = "about " if estimated else ""
        return (
            f"its replies so far came at {about}{tokens / seconds:.1f} tokens/s "
            f"({about}{tokens} tokens in {seconds:.1f} s)"
        )

    def _measure(self, reply: Reply) -> None:
        tokens = reply.tokens
        estimated = tokens is None
        if tokens is None:
            tokens = max(1, len(reply.text) // 4)  # about four characters a token
        with self._lock:
            self._output[0] += tokens
            self._output[1] += reply.latency
            self._output[2] = bool(self._output[2]) or estimated

    def _invoke(
        self,
        model: Any,
        schema: dict[str, Any] | None,
        messages: Sequence[tuple[str, str]],
        timeout: float | None,
    ) -> tuple[Reply, OutputMode]:
        if schema is None:
            return invoke(model, messages, timeout), OutputMode.PROMPT
        deadline = None if timeout is None else time.monotonic() + timeout
        refused: list[str] = []
        mode = self.current
        while True:
            left = timeout
            if refused and deadline is not None:
                left = max(deadline - time.monotonic(), 0.001)
            # A form not answered yet is probed with one request, not the client's retries.
            asked = model if mode in self._answered else without_retries(model)
            try:
                reply = invoke(bind_mode(asked, mode, schema), messages, left)
            except ModelCallError as e:
                if not is_refusal(e):
                    raise
                refused.append(f"{mode.value}: {e}")
                following = self._step_down(mode)
                if following is None:
                    raise ModelCallError(
                        "the model refused every output form tried (" + "; ".join(refused) + ")"
                    ) from e
                _logger.warning(
                    "The model refused response_format %s (%s); asking with %s from now on.",
                    mode.value,
                    e,
                    following.value,
                )
                mode = following
                continue
            with self._lock:
                self._answered.add(mode)
            return reply, mode

    def _step_down(self, refused: OutputMode) -> OutputMode | None:
        """The form after ``refused``, remembered for later calls; None if it was the last."""
        with self._lock:
            position = self._modes.index(refused)
            if position + 1 >= len(self._modes):
                return None
            # Another thread may have stepped further down meanwhile; never step back up.
            self._index = max(self._index, position + 1)
            return self._modes[position + 1]
