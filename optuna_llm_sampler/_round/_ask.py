"""Asking the model for a round: the prompt (with the candidates of a round that chooses),
the call in the strongest output form the model accepts, and the exchange kept as artifacts."""

from __future__ import annotations

import json
import time
from typing import Any
from typing import TYPE_CHECKING

from optuna_llm_sampler._errors import ModelCallError
from optuna_llm_sampler._errors import ModelTimeoutError
from optuna_llm_sampler._model._invoke import fit_schema
from optuna_llm_sampler._model._invoke import reply_schema
from optuna_llm_sampler._proposal._fixes import Repair
from optuna_llm_sampler._proposal._candidates import choice_request
from optuna_llm_sampler._proposal._candidates import choice_schema
from optuna_llm_sampler._proposal._candidates import draw_candidates
from optuna_llm_sampler._proposal._candidates import place_own
from optuna_llm_sampler._proposal._candidates import render_candidates
from optuna_llm_sampler._proposal._history import evaluated_params
from optuna_llm_sampler._proposal._history import read_history
from optuna_llm_sampler._records import _attrs
from optuna_llm_sampler._records._artifacts import keep_exchange
from optuna_llm_sampler._records._artifacts import prompt_text
from optuna_llm_sampler._records._redact import collect_secrets
from optuna_llm_sampler._records._redact import redact
from optuna_llm_sampler._records._text import truncate
from optuna_llm_sampler._round._parts import Call


if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from optuna_llm_sampler._round._parts import Round
    from optuna_llm_sampler._round._settings import RoundSettings


def ask_model(
    s: RoundSettings,
    study: Study,
    round_: Round,
    trials: Sequence[FrozenTrial],
    search_space: Mapping[str, BaseDistribution],
    number: int,
    *,
    choose_on: FrozenTrial | None = None,
    own: Sequence[Mapping[str, Any]] = (),
) -> Call:
    """Build the prompt and call the model: the reply or the error.

    ``choose_on`` is the trial of a round that chooses: the base sampler draws the
    candidates on it and the model picks among them; ``own``, the configurations the
    model wrote for the round, join them (``Choose(vet_writes=True)``). Without
    ``choose_on`` the model writes the configurations (a round that writes, or a
    prefetched round, which has no trial yet).
    """
    c = s.config
    started = time.perf_counter()
    deadline = None if s.timeout is None else time.monotonic() + s.timeout
    history = read_history(
        study,
        best=c.best_trials,
        recent=c.recent_trials,
        failures=c.failed_trials,
        trials=trials,
        base_name=s.base_name,
    )
    # A vetting call asks for one pick per configuration the model wrote, which may be
    # fewer than the round's slots.
    n = len(own) or len(round_.slots)
    asked = n * s.screen.factor if s.screen is not None else n
    evidence = s.evidence.render(study, trials, search_space) if s.evidence else ""
    candidates: list[dict[str, Any]] = []
    call_own: list[int] = []
    if s.choose is not None and choose_on is not None:
        candidates = draw_candidates(
            s.base,
            study,
            choose_on,
            search_space,
            n * s.choose.candidates - len(own),
            [*evaluated_params(trials), *own],
        )
        if len(candidates) + len(own) <= n:
            call = Call({}, dict(search_space), asked)
            call.error = (
                f"{s.base_name} drew {len(candidates)} new candidate(s) for {n} trial(s): nothing to choose from"
            )
            return call
        candidates, call_own = place_own(candidates, own)
        prompt = s.builder.build(
            search_space,
            history,
            n,
            evidence=evidence,
            candidates=render_candidates(candidates, s.base_name, len(own)),
            request=choice_request(n, len(candidates)),
        )
        # Candidates cut off by the prompt's budget cannot be chosen.
        candidates = candidates[: prompt.parts["candidates"].count("\n")]
        schema = choice_schema(n, len(candidates))
    else:
        prompt = s.builder.build(search_space, history, asked, evidence=evidence)
        schema = reply_schema(search_space, asked)
    sent, schema_note = fit_schema(schema, c.schema_chars)
    secrets = collect_secrets(s.llm)
    about: dict[str, Any] = {
        _attrs.ATTR_MODEL: redact(s.model_name, secrets),
        _attrs.ATTR_ROUND: round_.start,
        _attrs.ATTR_PROPOSED_BY: number,
        _attrs.ATTR_PROMPT_CHARS: len(prompt),
        _attrs.ATTR_SCHEMA_CHARS: len(json.dumps(sent, default=str)) if sent else 0,
    }
    if s.evidence is not None:
        about[_attrs.ATTR_EVIDENCE_CHARS] = len(prompt.parts["evidence"])
    call = Call(about, dict(search_space), asked, deadline=deadline)
    if schema_note:
        call.notes.append(Repair("schema", None, schema_note))
    try:
        reply, mode = s.output.invoke(s.llm, sent, prompt.messages(), s.timeout)
    except (ModelTimeoutError, ModelCallError) as e:
        call.error = redact(str(e), secrets)
        about.update(_keep(s, study, number, round_, prompt, None, secrets, vetting=bool(own)))
    else:
        about[_attrs.ATTR_OUTPUT_MODE] = mode.value
        text = reply.text
        if len(text) > c.reply_chars:
            call.notes.append(
                Repair(
                    "cut",
                    None,
                    f"the reply's {len(text)} characters were cut to reply_chars ({c.reply_chars}) before reading",
                )
            )
            text = text[: c.reply_chars]
        call.raw = redact(text, secrets)
        about.update(_keep(s, study, number, round_, prompt, call.raw, secrets, vetting=bool(own)))
        about[_attrs.ATTR_RAW_REPLY] = truncate(call.raw, c.raw_reply_chars)
        about[_attrs.ATTR_LATENCY] = round(reply.latency, 3)
    call.candidates = candidates
    call.own = call_own
    call.seconds = round(time.perf_counter() - started, 3)
    return call


def _keep(
    s: RoundSettings,
    study: Study,
    number: int,
    round_: Round,
    prompt: Any,
    reply: str | None,
    secrets: Any,
    *,
    vetting: bool,
) -> dict[str, Any]:
    if s.artifact_store is None:
        return {}
    text = redact(prompt_text(prompt.messages()), secrets)
    kept = keep_exchange(s.artifact_store, study, number, round_.label, text, reply, call="vet" if vetting else "round")
    return {_attrs.ATTR_ARTIFACTS: kept} if kept else {}
