"""ModelSpec: the ``make_chat_model`` call a model came from, remembered on the model.

A model that holds live clients (``ChatOpenAI``, ``ChatQwen``: HTTP clients with locks) cannot
be pickled; :mod:`optuna_llm_sampler._model._pickling` rebuilds it from this record instead. Keyword
arguments that hold credentials are left out: the rebuilt model reads its key from the
environment (``DASHSCOPE_API_KEY``, ``OPENAI_API_KEY``), so no key is written into a pickle or
a Ray checkpoint.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from optuna_llm_sampler._records._redact import is_secret_name


# Set on the model object outside its pydantic fields, so it is never serialised, dumped or
# sent to the provider; pickling a model that pickles keeps it.
_SPEC_ATTR = "_optuna_llm_sampler_spec"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """The ``make_chat_model`` call a model came from, without secret keyword arguments.

    Attributes:
        spec: The spec string, e.g. ``"openai:qwen2.5@http://10.0.0.5:8000/v1"``.
        kwargs: The other keyword arguments, e.g. ``{"temperature": 0.2}``.
        dropped: Names of keyword arguments left out as secrets (e.g. ``("api_key",)``).
    """

    spec: str
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    dropped: tuple[str, ...] = ()


def remember_spec(model: Any, spec: str, kwargs: dict[str, Any]) -> Any:
    """Record on ``model`` the spec it was made from; returns ``model``."""
    kept = {k: v for k, v in kwargs.items() if not is_secret_name(k)}
    dropped = tuple(sorted(k for k in kwargs if k not in kept))
    try:
        object.__setattr__(model, _SPEC_ATTR, ModelSpec(spec, kept, dropped))
    except (AttributeError, TypeError):  # A class with __slots__: nothing to rebuild from.
        pass
    return model


def spec_of(model: Any) -> ModelSpec | None:
    """The spec ``model`` was made from by ``make_chat_model``, or :obj:`None`."""
    try:
        spec = object.__getattribute__(model, _SPEC_ATTR)
    except AttributeError:
        return None
    return spec if isinstance(spec, ModelSpec) else None
