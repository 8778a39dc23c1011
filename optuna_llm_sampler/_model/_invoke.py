"""Calling the chat model: JSON schema binding, a deadline, text extraction."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any
from typing import TYPE_CHECKING

from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution

from optuna_llm_sampler._errors import ModelCallError
from optuna_llm_sampler._errors import ModelTimeoutError


if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution


@dataclasses.dataclass(frozen=True)
class Reply:
    """The model's answer."""

    text: str
    latency: float
    tokens: int | None = None
    """Output tokens, when the model reports them (LangChain's ``usage_metadata``)."""


def reply_schema(search_space: Mapping[str, BaseDistribution], n: int) -> dict[str, Any]:
    """JSON schema of the expected reply: ``{"configurations": [{"params", "rationale"}]}``.

    Grammar-constrained decoders (llama.cpp) use it to make the reply parse; bounds are given
    too, though not every decoder enforces them (the repair step clips anyway).
    """
    properties: dict[str, Any] = {}
    for name, dist in search_space.items():
        if isinstance(dist, IntDistribution):
            properties[name] = {"type": "integer", "minimum": dist.low, "maximum": dist.high}
        elif isinstance(dist, FloatDistribution):
            properties[name] = {"type": "number", "minimum": dist.low, "maximum": dist.high}
        elif isinstance(dist, CategoricalDistribution):
            properties[name] = {"enum": [_json_choice(c) for c in dist.choices]}
    params = {"type": "object", "properties": properties, "required": list(properties)}
    return list_reply_schema("configurations", n, "params", params)


def fit_schema(schema: dict[str, Any], limit: int) -> tuple[dict[str, Any] | None, str | None]:
    """``schema`` within ``limit`` characters of JSON: as it is, without its enumerations and
    bounds, or :obj:`None` (the prompt alone asks for the shape); and a note when it was cut."""
    size = len(json.dumps(schema, default=str))
    if size <= limit:
        return schema, None
    plain = json.loads(json.dumps(schema, default=str), object_hook=_without_enums)
    plain_size = len(json.dumps(plain))
    if plain_size <= limit:
        return plain, (
            f"the reply's JSON schema ({size} characters) is over schema_chars "
            f"({limit}): sent without its enumerations and bounds ({plain_size})"
        )
    return None, (
        f"the reply's JSON schema ({size} characters, {plain_size} without "
        f"enumerations) is over schema_chars ({limit}): not sent"
    )


def _without_enums(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in ("enum", "minimum", "maximum")}


def list_reply_schema(key: str, n: int, field: str, field_schema: dict[str, Any]) -> dict[str, Any]:
    """``{key: [{field, "rationale"}] * n}``: the reply shape every round asks for.

    :func:`reply_schema` asks for configurations (``params``), ``Choose`` for candidate
    numbers (``candidate``); each item carries a short rationale.
    """
    return {
        "type": "object",
        "properties": {
            key: {
                "type": "array",
                "minItems": n,
                "maxItems": n,
                "items": {
                    "type": "object",
                    "properties": {
                        field: field_schema,
                        "rationale": {"type": "string", "maxLength": 200},
                    },
                    "required": [field, "rationale"],
                },
            }
        },
        "required": [key],
    }


def _json_choice(choice: Any) -> Any:
    if choice is None or isinstance(choice, (bool, int, float, str)):
        return choice
    return str(choice)


def model_name(model: Any) -> str:
    """A readable name for ``model``: its ``model_name``/``model`` field or its class."""
    target = getattr(model, "bound", model)
    for attr in ("model_name", "model", "model_id"):
        value = getattr(target, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(target).__name__


def supports_schema(model: Any) -> bool:
    """Whether ``model`` declares it can constrain its output to a JSON schema."""
    return bool(getattr(getattr(model, "bound", model), "supports_response_schema", False))


def bind_schema(model: Any, schema: dict[str, Any]) -> Any:
    """Bind ``schema`` as an OpenAI-style ``response_format`` keyword."""
    return model.bind(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "proposals", "schema": schema},
        }
    )


def bound_schema(response_format: Any) -> dict[str, Any] | None:
    """The JSON schema inside a ``response_format`` keyword, the inverse of :func:`bind_schema`.

    Takes the OpenAI form (``{"type": "json_schema", "json_schema": {"schema": ...}}``) and
    llama.cpp's (``{"type": "json_object", "schema": ...}``); anything else gives :obj:`None`.
    """
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
    else:
        schema = response_format.get("schema")
    return schema if isinstance(schema, dict) else None


def invoke(model: Any, messages: Sequence[tuple[str, str]], timeout: float | None) -> Reply:
    """Call ``model.invoke(messages)`` in a worker thread and wait at most ``timeout`` seconds.

    The thread is a daemon: a model that never answers does not keep the process alive, and
    the study goes on with the base sampler.

    Raises:
        ModelTimeoutError: No answer within ``timeout``.
        ModelCallError: The model raised, or returned neither a message nor a string.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = model.invoke(list(messages))
        except BaseException as e:  # Reported to the caller, not lost in the thread.
            outcome["error"] = e

    start = time.perf_counter()
    thread = threading.Thread(target=run, name="optuna-llm-sampler-model-call", daemon=True)
    thread.start()
    thread.join(timeout)
    latency = time.perf_counter() - start
    if thread.is_alive():
        raise ModelTimeoutError(
            f"the model did not answer within {timeout:g} s (raise the limit with "
            "LLMSampler(timeout=...), or atune-bridge tune --llm-timeout)"
        )
    if "error" in outcome:
        error = outcome["error"]
        raise ModelCallError(f"{type(error).__name__}: {error}") from error
    value = outcome.get("value")
    return Reply(message_text(value), latency, _output_tokens(value))


def _output_tokens(message: Any) -> int | None:
    usage = getattr(message, "usage_metadata", None)
    tokens = usage.get("output_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) and tokens > 0 else None


def message_text(message: Any) -> str:
    """The text of an ``AIMessage`` (string or content blocks) or of a plain string."""
    if isinstance(message, str):
        return message
    content = getattr(message, "content", None)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    raise ModelCallError(f"the model returned {type(message).__name__}, not a message")
