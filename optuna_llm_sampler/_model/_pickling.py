"""Carry the sampler's model across pickling: as itself where it pickles, else as its spec.

Ray Tune pickles its searcher, and with it the :class:`~optuna_llm_sampler.LLMSampler` and its
model. A model that pickles (``LocalChatModel``, the random stand-in) travels as itself. One that
holds live clients (``ChatOpenAI``, ``ChatQwen``: HTTP clients with locks) travels as the
:class:`~optuna_llm_sampler._model._spec.ModelSpec` :func:`~optuna_llm_sampler.make_chat_model` made
it from, without its secret keyword arguments, and is rebuilt from it when unpickled.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

from optuna_llm_sampler._errors import LLMSamplerError
from optuna_llm_sampler._errors import ModelPickleError
from optuna_llm_sampler._model._models import make_chat_model
from optuna_llm_sampler._model._spec import ModelSpec
from optuna_llm_sampler._model._spec import spec_of


@dataclasses.dataclass(frozen=True)
class _Rebuild:
    """Stands in a pickle for a model that does not pickle; rebuilt by :func:`restore_model`."""

    spec: ModelSpec
    model_class: str


def portable_model(model: Any) -> Any:
    """``model`` itself if it pickles, else a record to rebuild it from its spec.

    Raises:
        ModelPickleError: It does not pickle and was not made by ``make_chat_model``.
    """
    try:
        pickle.dumps(model)
        return model
    except Exception as e:
        cause = f"{type(e).__name__}: {e}"
        spec = spec_of(model)
        if spec is None:
            raise ModelPickleError(
                f"LLMSampler cannot be pickled (as Ray Tune does with its searcher): its model "
                f"{type(model).__name__} cannot be pickled ({cause}) and was not built by "
                "make_chat_model, so there is no spec to rebuild it from. Build it with "
                "make_chat_model(SPEC) (local, openai:MODEL@URL, tongyi:MODEL, random), or give "
                f"{type(model).__name__} __getstate__/__setstate__ that drop what cannot be "
                "pickled."
            ) from e
        try:
            pickle.dumps(spec)
        except Exception as spec_error:
            raise ModelPickleError(
                f"LLMSampler cannot be pickled: its model {type(model).__name__} cannot be "
                f"pickled ({cause}), and the keyword arguments it was built with "
                f"(make_chat_model({spec.spec!r}, {', '.join(spec.kwargs)})) cannot be either "
                f"({type(spec_error).__name__}: {spec_error}); pass only plain values "
                "(numbers, strings) to make_chat_model"
            ) from spec_error
        return _Rebuild(spec, type(model).__name__)


def restore_model(value: Any) -> Any:
    """The model: ``value`` itself, or rebuilt from its spec.

    Raises:
        ModelPickleError: Rebuilding from the spec failed (a missing key or extra on this
            machine); the message names the spec and the cause.
    """
    if not isinstance(value, _Rebuild):
        return value
    spec = value.spec
    try:
        return make_chat_model(spec.spec, **spec.kwargs)
    except (LLMSamplerError, ImportError, ValueError) as e:
        hint = ""
        if spec.dropped:
            hint = (
                f"; {', '.join(spec.dropped)} was passed as a keyword and is never pickled: "
                "set the provider's key variable on every machine instead"
            )
        raise ModelPickleError(
            f"LLMSampler was unpickled, but its model {value.model_class} could not be rebuilt "
            f"from make_chat_model({spec.spec!r}) on this machine: {type(e).__name__}: {e}{hint}"
        ) from e
