"""Keys out of the project's commands, the storage and the logs.

What a project command sees. Every command runs with only:

* the variables of :data:`PASSED_ENVIRONMENT` (what a shell needs: ``PATH``, ``HOME``, the
  locale, ...);
* the variables the project's YAML names: a top-level ``environment`` list in the server or
  client file (``NAME``, or ``NAME*`` for every variable starting with ``NAME``), and every
  ``$NAME`` or ``${NAME}`` its commands refer to (``$value``, ``$name`` and ``$out`` are A-Tune's
  placeholders, not variables);
* the variables the user passes (``--pass-env NAME``, :attr:`RunnerConfig.pass_env`);
* the runner's own (``ATUNE_VALUE``, ``ATUNE_NAME``, ``ATUNE_OUT``).

So a model's API key (``DASHSCOPE_API_KEY``, ``OPENAI_API_KEY``) never reaches a benchmark
unless asked for.

What is kept out of storage and logs. The value of every environment variable whose name
looks like a credential (:data:`SECRET_NAME`: ``KEY``, ``TOKEN``, ``SECRET``, ``PASSWORD``,
``PASSWD``, ``CREDENTIAL``, or ending in ``_PWD``), six characters or longer, is replaced by
``***`` in everything the runner stores on a trial or the study (failed output, commands,
reasons), in its errors and, through :class:`RedactingFilter` on the ``atune-bridge`` command's
log handlers, in every log line; so is the password of a URL (a storage's). A command's output
is read unredacted to parse metrics from.

Imports nothing of the runner.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atune_bridge._format import ClientSpec, ServerSpec

PASSED_ENVIRONMENT: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TERM",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
)
"""The variables every project command gets from the runner's environment (``NAME*``: every
variable starting with ``NAME``)."""

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|_PWD$", re.IGNORECASE)
"""Names of environment variables whose values are redacted."""

MIN_SECRET_LENGTH = 6
"""Shorter values are not redacted: they would blank out common words and numbers."""

REDACTED = "***"

_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s/@]+@")
_PLACEHOLDERS = {"value", "name", "out"}
_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _commands(server: ServerSpec | None, client: ClientSpec | None) -> Iterable[str]:
    if server is not None:
        yield server.startworkload
        yield server.stopworkload
        for knob in server.knobs:
            yield knob.get or ""
            yield knob.set or ""
    if client is not None:
        yield client.benchmark
        for evaluation in client.evaluations:
            yield evaluation.get


def passed_variables(
    requested: Sequence[str], server: ServerSpec | None = None, client: ClientSpec | None = None
) -> tuple[str, ...]:
    """The names (and ``NAME*`` patterns) a project's commands get: :data:`PASSED_ENVIRONMENT`,
    what the project files ask for and what the user ``requested``."""
    names = list(PASSED_ENVIRONMENT) + list(requested)
    for spec in (server, client):
        names += list(getattr(spec, "environment", ()) or ())
    for command in _commands(server, client):
        names += [m for m in _REFERENCE.findall(command) if m not in _PLACEHOLDERS]
    return tuple(dict.fromkeys(names))


def command_environment(
    passed: Sequence[str], extra: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of one command: the variables of ``environ`` (default the process's)
    that ``passed`` names, then ``extra``."""
    environ = os.environ if environ is None else environ
    exact = {p for p in passed if not p.endswith("*")}
    prefixes = tuple(p[:-1] for p in passed if p.endswith("*"))
    env = {k: v for k, v in environ.items() if k in exact or (prefixes and k.startswith(prefixes))}
    if extra:
        env.update(extra)
    return env


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values to redact (see the module doc), longest first."""
    environ = os.environ if environ is None else environ
    found = {v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_LENGTH}
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Sequence[str] | None = None) -> str:
    """``text`` with every secret value (default :func:`secret_values`), and the password of
    every URL (``postgresql://user:PASSWORD@host``), replaced by ``***``."""
    for secret in secret_values() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)


class RedactingFilter(logging.Filter):
    """A log handler's filter that redacts each record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        if not secrets:
            return True
        record.msg = redact(record.getMessage(), secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True
