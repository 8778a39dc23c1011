"""The prompt and the raw reply of each model call, kept as Optuna artifacts.

A trial's user attributes hold the reply truncated (``PromptConfig.raw_reply_chars``) and no
prompt at all, since attributes live in the study's database. With an artifact store
(``LLMSampler(artifact_store=...)``) the whole exchange is kept as two text files attached to
the trial that called the model; optuna-dashboard lists them in that trial's artifacts panel
(``optuna-dashboard STORAGE --artifact-dir DIR``). Keeping them never stops the study: a failed
upload is logged and the trial goes on without them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import TYPE_CHECKING

import optuna


if TYPE_CHECKING:
    from collections.abc import Sequence

    from optuna.artifacts._protocol import ArtifactStore
    from optuna.study import Study


_logger = logging.getLogger(__name__)


def prompt_text(messages: Sequence[tuple[str, str]]) -> str:
    """The messages of a prompt as one text: each under a ``=== role ===`` line."""
    return "\n\n".join(f"=== {role} ===\n{content}" for role, content in messages)


def keep_exchange(
    store: ArtifactStore | None,
    study: Study,
    number: int,
    round_label: str,
    prompt: str,
    reply: str | None,
    call: str = "round",
) -> dict[str, str]:
    """Upload ``prompt`` and ``reply`` (when not None) to ``store``, attached to trial ``number``.

    The files are named for the call: ``llm-prompt-round-7-8.txt`` for the round's call,
    ``llm-prompt-vet-7-8.txt`` for the vetting call (``call="vet"``) that follows it.

    Returns ``{"prompt": id, "reply": id}`` for the ones kept; ``{}`` without a store or when the
    upload failed (logged as a warning).
    """
    if store is None:
        return {}
    kept: dict[str, str] = {}
    try:
        trial = study._storage.get_trial(
            study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
        )
        with tempfile.TemporaryDirectory(prefix="optuna-llm-sampler-") as folder:
            for kind, text in (("prompt", prompt), ("reply", reply)):
                if text is None:
                    continue
                path = os.path.join(folder, f"llm-{kind}-{call}-{round_label}.txt")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                kept[kind] = optuna.artifacts.upload_artifact(
                    artifact_store=store,
                    file_path=path,
                    study_or_trial=trial,
                    storage=study._storage,
                    mimetype="text/plain",
                    encoding=None,
                )
    except Exception as e:  # An artifact is a record, never a reason to stop the study.
        _logger.warning(
            "Trial %d: could not keep the model exchange of round %s as artifacts: %s: %s",
            number,
            round_label,
            type(e).__name__,
            e,
        )
    return kept
