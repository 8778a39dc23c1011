"""The ``expert`` stand-in: scripted tuning advice for nginx and MariaDB, not a model.

It stands for what a capable model knows about the service, so that the benchmark can show
what LLMSampler makes of good advice. It encodes published tuning advice (for nginx: nginx's
own tuning guide, the "Tuning NGINX for performance" blog post, common production
checklists; for MariaDB: the MariaDB knowledge base's InnoDB and server system variable
pages and the usual OLTP checklists) and applies it to the study's best configuration so far. It answers through the same chat
model interface, schema and parser as a real model, and its recorded model name says what it
is. It knows nothing about the recorded surface beyond that advice, and it is benchmark
code, not part of the package.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from optuna_llm_sampler._model._invoke import bound_schema

EXPERT_MODEL_NAME = "expert (scripted nginx advice, not a model)"
"""The recorded model name of the nginx advice; :func:`expert_model_name` gives any service's."""

#: knob -> (advised value, the advice), in the order a tuning guide gives them.
NGINX_ADVICE: dict[str, tuple[Any, str]] = {
    "access_log": ("off", "access logging off (or buffered) on a hot static path"),
    "gzip": ("off", "no on-the-fly compression for small static files: CPU is the bottleneck"),
    "sendfile": ("on", "sendfile on: the kernel copies file data"),
    "tcp_nopush": ("on", "tcp_nopush on with sendfile: full packets"),
    "tcp_nodelay": ("on", "tcp_nodelay on for keep-alive connections"),
    "keepalive_requests": (10000, "more requests per keep-alive connection"),
    "keepalive_timeout": (65, "keep-alive on, a minute's timeout"),
    "worker_processes": ("auto", "one worker per core"),
    "worker_connections": (4096, "enough connections per worker"),
    "open_file_cache": ("on", "cache open file descriptors"),
    "reuseport": ("on", "a listening socket per worker"),
    "multi_accept": ("on", "accept all pending connections at once"),
    "gzip_comp_level": (1, "if compressing, the cheapest level"),
}

#: knob -> (advised value, the advice) for MariaDB under an OLTP load, sizes in bytes.
MARIADB_ADVICE: dict[str, tuple[Any, str]] = {
    "innodb_buffer_pool_size": (1073741824, "a buffer pool larger than the data and its indexes"),
    "innodb_flush_log_at_trx_commit": (2, "write the redo log at commit, flush it once a second"),
    "sync_binlog": ("0", "let the OS flush the binary log"),
    "innodb_log_file_size": (536870912, "a large redo log: fewer checkpoints under writes"),
    "innodb_log_buffer_size": (67108864, "a redo log buffer of tens of MiB"),
    "innodb_flush_method": ("O_DIRECT", "O_DIRECT: no double caching in the OS"),
    "innodb_io_capacity": (2000, "an I/O capacity for SSDs"),
    "thread_cache_size": (100, "cache threads for reconnecting clients"),
    "table_open_cache": (4000, "keep the tables open"),
    "max_connections": (200, "connections for the clients with room to spare, no more"),
    "sort_buffer_size": (2097152, "per-connection buffers at their defaults: 2 MiB sort buffer"),
    "read_buffer_size": (131072, "128 KiB read buffer"),
    "read_rnd_buffer_size": (262144, "256 KiB random-read buffer"),
    "max_heap_table_size": (16777216, "16 MiB in-memory temporary tables"),
}

ADVICE: dict[str, dict[str, tuple[Any, str]]] = {"nginx": NGINX_ADVICE, "mariadb": MARIADB_ADVICE}
"""Each service's advice, by the name the expert's model name gives."""


def expert_model_name(service: str) -> str:
    """The model name the expert records for ``service``'s advice: it says it is not a model."""
    return f"expert (scripted {service} advice, not a model)"


class ExpertUnavailableError(ValueError):
    """The expert has no advice for this search space."""


def check_expert(space: Mapping[str, Any]) -> str:
    """The service whose advice covers most of ``space``'s knobs (at least half of the advised
    ones); :class:`ExpertUnavailableError` when no service's does."""
    for service, advice in ADVICE.items():
        if sum(k in space for k in advice) >= len(advice) / 2:
            return service
    raise ExpertUnavailableError(
        "the expert stand-in has advice only for the knobs of the studies "
        f"{' and '.join(ADVICE)}; this problem has {', '.join(space)}"
    )


class ExpertChatModel(BaseChatModel):
    """Scripted advice applied to the study's best so far, answered as a chat model would.

    The first configuration of a round is the best so far with every piece of advice
    applied; each further one, and any that would repeat a measured configuration, also
    changes one or more knobs the advice leaves open (more when a change still repeats), as
    a model shown the history would. Before the study has a best trial, the baseline (the
    space's first trial) is the starting point. :meth:`attach` gives it the study.
    """

    seed: int = 0
    service: str = "nginx"
    model_name: str = ""

    supports_response_schema: ClassVar[bool] = True

    _study: Any = PrivateAttr(default=None)
    _rng: random.Random = PrivateAttr(default=None)  # type: ignore[assignment]
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any) -> None:
        if self.service not in ADVICE:
            raise ExpertUnavailableError(f"no scripted advice for {self.service!r}; choose one of {', '.join(ADVICE)}")
        self.model_name = self.model_name or expert_model_name(self.service)
        self._rng = random.Random(self.seed)

    @property
    def advice(self) -> dict[str, tuple[Any, str]]:
        """The advice this expert applies: knob -> (value, why)."""
        return ADVICE[self.service]

    def attach(self, study: Any) -> None:
        """The study whose best configuration the advice is applied to."""
        self._study = study

    @property
    def _llm_type(self) -> str:
        return "scripted-expert"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        schema = bound_schema(kwargs.get("response_format")) or {}
        if "choices" in schema.get("properties", {}):
            return self._choose(messages, schema)
        slots = int(schema.get("properties", {}).get("configurations", {}).get("minItems", 1))
        props = (schema.get("properties", {}).get("configurations", {}).get("items", {})
                 .get("properties", {}).get("params", {}).get("properties", {}))
        with self._lock:
            start = self._start()
            seen = self._evaluated()
            configurations = []
            for slot in range(slots):
                params = dict(start)
                applied = []
                for knob, (value, why) in self.advice.items():
                    if knob in props and _allowed(props[knob], value):
                        params[knob] = value
                        applied.append(why)
                params = {k: v for k, v in params.items() if k in props}
                # the advice is already in the best so far: vary what the advice leaves open, as a
                # model shown the history would, rather than repeat a measured configuration
                tries = 0
                while (slot > 0 or _key(params) in seen) and tries < 20:
                    params = self._vary(params, props, 1 + tries // 5)
                    tries += 1
                    if _key(params) not in seen:
                        break
                seen.add(_key(params))
                configurations.append({
                    "params": params,
                    "rationale": ("; ".join(applied)[:180] or "best so far") + ("; varied" if tries else ""),
                })
        text = json.dumps({"configurations": configurations})
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _choose(self, messages: list[BaseMessage], schema: Mapping[str, Any]) -> ChatResult:
        """Under ``Choose``: pick the candidates that follow the most advice, first listed first."""
        choices = schema["properties"]["choices"]
        slots = int(choices.get("minItems", 1))
        allowed = set(choices["items"]["properties"]["candidate"].get("enum", []))
        text = str(messages[-1].content)
        candidates = {int(m.group(1)): json.loads(m.group(2)) for m in _CANDIDATE.finditer(text)}
        ranked = sorted((n for n in candidates if n in allowed),
                        key=lambda n: (-_advice_score(candidates[n], self.advice), n))
        picks = [{"candidate": n,
                  "rationale": f"follows {_advice_score(candidates[n], self.advice):.1f} pieces of advice"}
                 for n in ranked[:slots]]
        text = json.dumps({"choices": picks})
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _evaluated(self) -> set[str]:
        study = self._study
        if study is None:
            return set()
        return {_key(t.params) for t in study.get_trials(deepcopy=False) if t.params}

    def _vary(self, params: dict[str, Any], props: Mapping[str, Any], count: int) -> dict[str, Any]:
        """Change ``count`` knobs, those the advice does not fix first, to another allowed value."""
        out = dict(params)
        weighted = [k for k in props for _ in range(1 if k in self.advice else 3)]
        chosen: list[str] = []
        while len(chosen) < min(count, len(props)):
            knob = self._rng.choice(weighted)
            if knob not in chosen:
                chosen.append(knob)
        for knob in chosen:
            prop = props[knob]
            if "enum" in prop:
                out[knob] = self._rng.choice(list(prop["enum"]))
            elif prop.get("type") == "integer":
                out[knob] = self._rng.randint(int(prop["minimum"]), int(prop["maximum"]))
            elif prop.get("type") == "number":
                out[knob] = self._rng.uniform(float(prop["minimum"]), float(prop["maximum"]))
        return out

    def _start(self) -> dict[str, Any]:
        study = self._study
        if study is None:
            return {}
        try:
            return dict(study.best_trial.params)
        except ValueError:
            trials = study.get_trials(deepcopy=False)
            return dict(trials[0].params) if trials else {}


_CANDIDATE = re.compile(r"^(\d+)\. (\{.*\})$", re.MULTILINE)


def _advice_score(params: Mapping[str, Any], advice: Mapping[str, tuple[Any, str]]) -> float:
    """How much advice ``params`` follows: 1 per advised choice, the ratio for advised numbers."""
    score = 0.0
    for knob, (value, _) in advice.items():
        if knob not in params:
            continue
        have = params[knob]
        if isinstance(value, str) or isinstance(have, str):
            score += float(str(have) == str(value))
        elif have > 0 and value > 0:
            score += min(have, value) / max(have, value)
    return score


def _key(params: Mapping[str, Any]) -> str:
    return json.dumps({k: params[k] for k in sorted(params)}, default=str)


def _allowed(prop: Mapping[str, Any], value: Any) -> bool:
    if "enum" in prop:
        return value in prop["enum"]
    low, high = prop.get("minimum"), prop.get("maximum")
    return (low is None or value >= low) and (high is None or value <= high)
