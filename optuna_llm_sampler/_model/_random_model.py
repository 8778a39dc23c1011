"""RandomChatModel: a stand-in that is not a model; it answers with uniformly random configurations.

It is the control of every "does the model help?" comparison: it goes through the whole
pipeline a real model does (prompt, schema binding, reply parsing, repair, enqueueing) but
its advice is uniform noise. Whatever LLMSampler gains with it comes from the schedule and
the pipeline, not from knowledge; a real model has to beat it to claim that its advice helps.
Imported only by ``make_chat_model("random")``.
"""

from __future__ import annotations

import json
import random
import pickle
import threading
from typing import Any
from typing import ClassVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration
from langchain_core.outputs import ChatResult
from pydantic import PrivateAttr

from optuna_llm_sampler._model._invoke import bound_schema


RANDOM_MODEL_NAME = "random (stand-in, not a model)"


class RandomChatModel(BaseChatModel):
    """A chat model stand-in that replies with uniformly random configurations.

    It reads the reply's JSON schema from the ``response_format`` that LLMSampler binds (the
    model declares ``supports_response_schema``) and draws each parameter uniformly: an
    integer or number between the schema's ``minimum`` and ``maximum``, a choice from its
    ``enum``. Without a schema it answers with a sentence saying so, which the sampler records
    as an unparsable reply. Its recorded model name says it is not a model.

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import LLMSampler, make_chat_model

            sampler = LLMSampler(
                make_chat_model("random:0"),
                search_space={"x": optuna.distributions.IntDistribution(1, 64)},
            )
            study = optuna.create_study(sampler=sampler)
            study.optimize(lambda t: (t.suggest_int("x", 1, 64) - 24) ** 2, n_trials=6)

    Args:
        seed: Seed of the draws; the same seed gives the same replies in the same order.
        model_name: Name recorded with each trial; default says it is a stand-in.
    """

    seed: int | None = None
    model_name: str = RANDOM_MODEL_NAME

    supports_response_schema: ClassVar[bool] = True

    _rng: random.Random = PrivateAttr(default=None)  # type: ignore[assignment]
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any) -> None:
        self._rng = random.Random(self.seed)

    def __getstate__(self) -> dict[Any, Any]:
        # Picklable for Ray Tune, which pickles the sampler and its model; the lock is recreated.
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        private.pop("_lock", None)
        return {**state, "__pydantic_private__": private}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        # Pydantic's deepcopy copies private attributes, the lock among them; a copy is what
        # a pickle round trip gives.
        return pickle.loads(pickle.dumps(self))

    def with_seed(self, seed: int) -> RandomChatModel:
        """This stand-in drawing from ``seed``: LLMSampler's ``seed`` seeds a stand-in built
        without one, so that a seeded study replays."""
        return type(self)(seed=seed, model_name=self.model_name)

    @property
    def _llm_type(self) -> str:
        return "random-stand-in"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "seed": self.seed}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        schema = bound_schema(kwargs.get("response_format"))
        if schema is None:
            text = (
                "The random stand-in needs the reply's JSON schema (response_format); "
                "LLMSampler passes it unless structured_output=False."
            )
        else:
            with self._lock:
                text = json.dumps(random_instance(schema, self._rng))
        message = AIMessage(content=text, response_metadata={"model_name": self.model_name})
        return ChatResult(generations=[ChatGeneration(message=message)])


def random_instance(schema: dict[str, Any], rng: random.Random) -> Any:
    """A uniformly random value matching the subset of JSON schema :func:`reply_schema` uses."""
    if "enum" in schema:
        return rng.choice(list(schema["enum"]))
    kind = schema.get("type")
    if kind == "object":
        return {name: random_instance(sub, rng) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        count = int(schema.get("minItems", schema.get("maxItems", 1)))
        return [random_instance(schema.get("items", {}), rng) for _ in range(count)]
    if kind == "integer":
        return rng.randint(int(schema.get("minimum", 0)), int(schema.get("maximum", 100)))
    if kind == "number":
        return rng.uniform(float(schema.get("minimum", 0.0)), float(schema.get("maximum", 1.0)))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string":
        return "uniformly random configuration (stand-in, not a model)"
    return None
