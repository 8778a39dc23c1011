"""Keep API keys out of storage and logs.

Every string the sampler stores or logs (reply, error message, model name) goes through
:func:`redact` with the secrets :func:`collect_secrets` finds: the values of environment
variables that look like credentials, and the ``SecretStr`` fields of the model object.
"""

from __future__ import annotations

import os
import re
from typing import Any


_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
# A keyword argument holding a credential: api_key, openai_api_key, access_token (not max_tokens).
_SECRET_ARGUMENT = re.compile(r"(^|_)(api_?key|key|token|secret|password|passwd|credentials?)$", re.IGNORECASE)
_MIN_SECRET_LENGTH = 6
REDACTED = "***"


def collect_secrets(model: Any = None) -> list[str]:
    """Return the secret strings to scrub, longest first."""
    secrets = {
        value for name, value in os.environ.items() if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_LENGTH
    }
    if model is not None:
        secrets.update(_model_secrets(model))
    return sorted(secrets, key=len, reverse=True)


def _model_secrets(model: Any) -> set[str]:
    found: set[str] = set()
    bound = getattr(model, "bound", None)  # A RunnableBinding made by .bind().
    for obj in (model, bound):
        if obj is None:
            continue
        try:
            values = list(vars(obj).values())
        except TypeError:
            continue
        for value in values:
            getter = getattr(value, "get_secret_value", None)
            if callable(getter):
                try:
                    secret = getter()
                except Exception:
                    continue
                if isinstance(secret, str) and len(secret) >= _MIN_SECRET_LENGTH:
                    found.add(secret)
    return found


def is_secret_name(name: str) -> bool:
    """Whether a keyword argument named ``name`` holds a credential (``api_key``, ...)."""
    return bool(_SECRET_ARGUMENT.search(name))


def redact(text: str, secrets: list[str]) -> str:
    """Replace every occurrence of each secret in ``text``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text
