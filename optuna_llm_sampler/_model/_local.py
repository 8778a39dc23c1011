"""LocalChatModel: a LangChain chat model over ``llama_cpp.Llama`` with schema-constrained output.

langchain-community's ``ChatLlamaCpp`` would forward a llama.cpp-style ``response_format`` as an
extra keyword, but its own structured output goes through tool calling, it loads the model when
constructed, it does not serialise concurrent calls (``n_jobs`` threads), and
langchain-community is being sunset. This class takes the same OpenAI-style
``response_format={"type": "json_schema", ...}`` as ``ChatOpenAI`` and turns it into llama.cpp's
JSON-schema grammar, so a 135M-parameter model still answers in the shape the sampler parses.
Imported only by ``make_chat_model("local")`` (or ``optuna_llm_sampler.LocalChatModel``).
"""

from __future__ import annotations

import atexit
import pickle
import threading
import weakref
from typing import Any
from typing import ClassVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration
from langchain_core.outputs import ChatResult
from pydantic import PrivateAttr

from optuna_llm_sampler._model._invoke import bound_schema


_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class LocalChatModel(BaseChatModel):
    """A chat model running a GGUF file in-process with llama.cpp.

    The model is loaded at the first call and kept for the instance's life; calls are
    serialised, since a ``llama_cpp.Llama`` is not thread-safe. With a fixed ``seed`` the same
    prompt gives the same reply.

    Example:

        .. code-block:: python

            from optuna_llm_sampler import make_chat_model

            model = make_chat_model("local", max_tokens=256)
            print(model.invoke("Say hello in JSON.").content)

    Args:
        model_path: The ``.gguf`` file.
        model_name: Name recorded with each trial.
        n_ctx: Context size in tokens. 8192 (SmolLM2's) holds a 10,000-character prompt
            (about 3,000 tokens) and the reply.
        n_threads: CPU threads; default 2.
        max_tokens: Reply length cap; 512 keeps a round under a minute on two cores.
        temperature: Sampling temperature. Default 1.0: at low temperatures a 135M model
            copies the configurations it sees in the history, which the sampler then drops as
            duplicates.
        seed: Sampling seed, for reproducible replies.
    """

    model_path: str
    model_name: str = "SmolLM2-135M-Instruct"
    n_ctx: int = 8192
    n_threads: int = 2
    max_tokens: int = 512
    temperature: float = 1.0
    seed: int = 0

    supports_response_schema: ClassVar[bool] = True

    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __getstate__(self) -> dict[Any, Any]:
        # Picklable for Ray Tune, which pickles the sampler and its model; the lock is recreated.
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        private.pop("_lock", None)
        # The loaded llama.cpp model stays behind; the copy loads its own at its first call.
        private["_llama"] = None
        return {**state, "__pydantic_private__": private}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        # Pydantic's deepcopy copies private attributes, the lock among them; a copy is what
        # a pickle round trip gives.
        return pickle.loads(pickle.dumps(self))

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "n_ctx": self.n_ctx,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }

    def _load(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                seed=self.seed,
                verbose=False,
            )
            # Free it before interpreter teardown: llama_cpp's __del__ fails noisily at exit.
            atexit.register(_close, weakref.ref(self._llama))
        return self._llama

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat = [{"role": _ROLES.get(m.type, "user"), "content": _text(m.content)} for m in messages]
        response_format = _llama_response_format(kwargs.pop("response_format", None))
        options = {
            "max_tokens": kwargs.pop("max_tokens", self.max_tokens),
            "temperature": kwargs.pop("temperature", self.temperature),
            "seed": kwargs.pop("seed", self.seed),
        }
        with self._lock:
            # No reset(): llama.cpp reuses the cached prefix (system prompt, knowledge, search
            # space) of the previous call, which is the same each round.
            llama = self._load()
            out = llama.create_chat_completion(messages=chat, response_format=response_format, stop=stop, **options)
        choice = out["choices"][0]
        message = AIMessage(
            content=choice["message"].get("content") or "",
            response_metadata={
                "finish_reason": choice.get("finish_reason"),
                "usage": out.get("usage", {}),
                "model_name": self.model_name,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def _close(ref: weakref.ref[Any]) -> None:
    llama = ref()
    if llama is not None:
        llama.close()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        block if isinstance(block, str) else str(block.get("text", ""))
        for block in content
        if isinstance(block, (str, dict))
    )


def _llama_response_format(response_format: Any) -> dict[str, Any] | None:
    """OpenAI-style ``response_format`` to llama-cpp-python's ``{"type": "json_object", ...}``."""
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        schema = bound_schema(response_format)
        return {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
    if response_format.get("type") == "json_object":
        return response_format
    return None
