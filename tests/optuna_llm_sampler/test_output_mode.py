"""The sampler asks for JSON in the strongest form a server accepts, steps down on a refusal,
remembers the accepted form and records it on each trial.

The server is a real HTTP server on loopback speaking the OpenAI chat-completions protocol,
reached through ``make_chat_model("openai:...")``; it refuses the forms a test names, as
llama-cpp-python's server refuses ``json_schema`` with HTTP 500.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import pickle
import threading
from typing import Any

import optuna
import pytest

from llm_fakes import model_first
from llm_fakes import objective
from llm_fakes import random_replier
from llm_fakes import ScriptedChatModel
from llm_fakes import SPACE
from llm_fakes import unvetted
from optuna_llm_sampler.attrs import ATTR_ERROR
from optuna_llm_sampler.attrs import ATTR_OUTPUT_MODE
from optuna_llm_sampler.attrs import ATTR_SOURCE
from optuna_llm_sampler import AlternatingSchedule
from optuna_llm_sampler import LLMSampler
from optuna_llm_sampler import make_chat_model
from optuna_llm_sampler import ModelCallError
from optuna_llm_sampler import ModelTimeoutError
from optuna_llm_sampler import OutputMode
from optuna_llm_sampler._model._output_mode import is_refusal
from optuna_llm_sampler._model._output_mode import OutputModes


needs_openai = pytest.mark.skipif(
    importlib.util.find_spec("langchain_openai") is None, reason="needs the [openai] extra"
)


def _form(body: dict[str, Any]) -> str:
    response_format = body.get("response_format")
    if response_format is None:
        return "prompt"
    return str(response_format["type"])


class FakeOpenAIServer:
    """An OpenAI-compatible chat server on loopback that refuses some ``response_format`` forms.

    ``refuse`` maps a form (``json_schema``, ``json_object``, ``prompt``) to the HTTP status
    it answers with; every request's form is logged in ``forms``.
    """

    def __init__(self, refuse: dict[str, int]) -> None:
        self.refuse = dict(refuse)
        self.forms: list[str] = []
        self.schemas: list[dict[str, Any] | None] = []
        self._reply = random_replier(seed=3)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                form = _form(body)
                server.forms.append(form)
                rf = body.get("response_format") or {}
                server.schemas.append(rf.get("schema") or rf.get("json_schema", {}).get("schema"))
                if form in server.refuse:
                    status = server.refuse[form]
                    payload = {"error": {"message": f"response_format type {form} refused"}}
                else:
                    status = 200
                    prompt = body["messages"][-1]["content"]
                    content = server._reply(prompt, len(server.forms))
                    payload = {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def _study(url: str, n_trials: int, **kwargs: Any) -> optuna.Study:
    model = make_chat_model(f"openai:fake@{url}", max_retries=0)
    kwargs.setdefault("schedule", AlternatingSchedule())  # rounds 1-2 and 5-6 in 7 trials
    kwargs.setdefault("choose", unvetted())  # one request per round: the tests count them
    sampler = LLMSampler(model, search_space=SPACE, seed=0, **kwargs)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    return study


def _llm_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if t.user_attrs.get(ATTR_SOURCE) == "llm"]


@needs_openai
def test_a_refused_json_schema_steps_down_to_llama_cpp_form_and_is_remembered() -> None:
    with FakeOpenAIServer(refuse={"json_schema": 500}) as server:
        study = _study(server.url, n_trials=7)  # Rounds 1-2 and 5-6.
    # Round 1: json_schema refused, json_object accepted; round 5 starts with json_object.
    assert server.forms == ["json_schema", "json_object", "json_object"]
    assert [t.number for t in _llm_trials(study)] == [1, 2, 5, 6]
    assert {t.user_attrs[ATTR_OUTPUT_MODE] for t in _llm_trials(study)} == {"json_object"}
    schema = server.schemas[1]
    assert schema is not None and schema["required"] == ["configurations"]


@needs_openai
def test_a_refused_form_costs_one_request_even_with_the_clients_retries() -> None:
    # The OpenAI client retries a 500 twice by default; the probe of a form does not.
    model = make_chat_model("openai:fake@http://127.0.0.1:9/v1")
    assert model.root_client.max_retries == 2
    with FakeOpenAIServer(refuse={"json_schema": 500}) as server:
        model = make_chat_model(f"openai:fake@{server.url}")
        sampler = LLMSampler(model, search_space=SPACE, seed=0, schedule=AlternatingSchedule(),
                             choose=unvetted())
        optuna.create_study(sampler=sampler).optimize(objective, n_trials=7)
    assert server.forms == ["json_schema", "json_object", "json_object"]


@needs_openai
def test_a_server_refusing_both_schema_forms_gets_the_prompt_alone() -> None:
    with FakeOpenAIServer(refuse={"json_schema": 400, "json_object": 422}) as server:
        study = _study(server.url, n_trials=7)
    assert server.forms == ["json_schema", "json_object", "prompt", "prompt"]
    assert {t.user_attrs[ATTR_OUTPUT_MODE] for t in _llm_trials(study)} == {"prompt"}
    assert len(_llm_trials(study)) == 4


@needs_openai
def test_a_server_taking_json_schema_keeps_it() -> None:
    with FakeOpenAIServer(refuse={}) as server:
        study = _study(server.url, n_trials=7)
    assert server.forms == ["json_schema", "json_schema"]
    assert {t.user_attrs[ATTR_OUTPUT_MODE] for t in _llm_trials(study)} == {"json_schema"}


@needs_openai
def test_a_rate_limit_is_a_failure_not_a_refusal() -> None:
    with FakeOpenAIServer(refuse={"json_schema": 429}) as server:
        study = _study(server.url, n_trials=7)
    # Each round fails over to the base sampler, and asks in the strongest form again.
    assert server.forms == ["json_schema", "json_schema"]
    assert not _llm_trials(study)
    assert "429" in study.trials[1].user_attrs[ATTR_ERROR]


@needs_openai
def test_structured_output_true_never_drops_the_schema() -> None:
    with FakeOpenAIServer(refuse={"json_schema": 500, "json_object": 500}) as server:
        study = _study(server.url, n_trials=3, structured_output=True)
    assert server.forms == ["json_schema", "json_object"]
    error = study.trials[1].user_attrs[ATTR_ERROR]
    assert error.startswith("the model refused every output form tried (json_schema: ")
    assert study.trials[1].user_attrs[ATTR_SOURCE] == "TPESampler"


@needs_openai
@pytest.mark.parametrize(
    "structured, forms", [(False, ["prompt"]), ("json_object", ["json_object"]),
                          (OutputMode.PROMPT, ["prompt"])]
)
def test_structured_output_pins_a_form(structured, forms) -> None:
    with FakeOpenAIServer(refuse={}) as server:
        _study(server.url, n_trials=3, structured_output=structured)
    assert server.forms == forms


def test_an_unknown_structured_output_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"structured_output must be .*'json_object'.*'xml'"):
        LLMSampler(ScriptedChatModel(replier=random_replier()), structured_output="xml")


def test_a_model_without_bind_gets_the_prompt_alone() -> None:
    class Plain:
        def invoke(self, messages: list[tuple[str, str]]) -> str:
            return random_replier()(messages[-1][1], 0)

    assert OutputModes(None, Plain()).current is OutputMode.PROMPT
    study = optuna.create_study(sampler=LLMSampler(Plain(), search_space=SPACE, schedule=model_first()))
    study.optimize(objective, n_trials=3)
    assert study.trials[1].user_attrs[ATTR_OUTPUT_MODE] == "prompt"


class _StatusError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"Error code: {status_code}")
        self.status_code = status_code


def _wrapped(error: BaseException) -> ModelCallError:
    try:
        raise ModelCallError(f"{type(error).__name__}: {error}") from error
    except ModelCallError as e:
        return e


@pytest.mark.parametrize("status", [400, 422, 500, 501])
def test_format_statuses_are_refusals(status) -> None:
    assert is_refusal(_wrapped(_StatusError(status)))


@pytest.mark.parametrize("status", [401, 403, 404, 408, 429, 502, 503, 504])
def test_statuses_about_credentials_urls_and_load_are_not_refusals(status) -> None:
    assert not is_refusal(_wrapped(_StatusError(status)))


def test_an_error_naming_the_format_is_a_refusal_and_a_timeout_is_not() -> None:
    assert is_refusal(_wrapped(TypeError("unexpected keyword argument 'response_format'")))
    assert not is_refusal(_wrapped(RuntimeError("connection reset")))
    assert not is_refusal(ModelTimeoutError("the model did not answer within 5 s"))


def test_the_remembered_form_survives_pickling() -> None:
    modes = OutputModes(None, ScriptedChatModel(replier=random_replier()))
    assert modes._step_down(OutputMode.JSON_SCHEMA) is OutputMode.JSON_OBJECT
    copy = pickle.loads(pickle.dumps(modes))
    assert copy.current is OutputMode.JSON_OBJECT
    assert copy._step_down(OutputMode.JSON_OBJECT) is OutputMode.PROMPT
    assert copy._step_down(OutputMode.PROMPT) is None


def test_two_samplers_remember_separately() -> None:
    model = ScriptedChatModel(replier=random_replier())
    first, second = OutputModes(None, model), OutputModes(None, model)
    first._step_down(OutputMode.JSON_SCHEMA)
    assert (first.current, second.current) == (OutputMode.JSON_OBJECT, OutputMode.JSON_SCHEMA)

