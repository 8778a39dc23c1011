"""The prompt: knowledge, search space, history and request, each within its budget.

The seed experiment kept the whole input under 10,000 characters (8,000 of log, 2,000 of
knowledge and question). :class:`PromptConfig` keeps that total and gives each part a cap; the
history gets whatever the other parts leave.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any
from typing import TYPE_CHECKING

from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution

from optuna_llm_sampler._errors import ConfigError
from optuna_llm_sampler._records._text import TRUNCATED
from optuna_llm_sampler._records._text import truncate


if TYPE_CHECKING:
    from collections.abc import Mapping

    from optuna.distributions import BaseDistribution

    from optuna_llm_sampler._proposal._history import HistoryView
    from optuna_llm_sampler._proposal._history import TrialView


SYSTEM_PROMPT = (
    "You are an expert in performance tuning of Linux systems and services. You read the "
    "results of previous tuning rounds and propose parameter values for the next round. "
    "You answer with JSON only."
)


@dataclasses.dataclass(frozen=True)
class PromptConfig:
    """Sizes and contents of the prompt.

    Example:

        .. code-block:: python

            from optuna_llm_sampler import PromptConfig

            config = PromptConfig(max_chars=6000, best_trials=3)

    Args:
        max_chars: Upper bound on the whole prompt (system and user message), in characters.
            Default 10,000, as in the seed experiment.
        knowledge_chars: Cap on the knowledge part.
        search_space_chars: Cap on the search-space part (descriptions are shortened first).
        request_chars: Cap on the request part.
        evidence_chars: Cap on the evidence part (shown only with ``LLMSampler(evidence=...)``).
        candidates_chars: Cap on the candidates part (shown only with ``LLMSampler(choose=...)``);
            candidates that do not fit are left out whole.
        best_trials: How many of the best trials the history shows.
        recent_trials: How many of the most recent trials it shows.
        failed_trials: How many failed trials it shows, with their reason.
        raw_reply_chars: How much of the model's reply is kept in the ``llm_raw_reply`` attribute.
        reply_chars: How much of a reply is read: a longer one is cut there before it is
            parsed (noted in ``llm_repairs``). Default 32,000, ten times a round of four
            14-knob configurations; reading stays linear in it.
        schema_chars: The largest JSON schema sent with the prompt. A larger one (huge
            categorical domains, thousands of knobs) is sent without its enumerations, or
            not at all, and noted; ``llm_schema_chars`` records what was sent. Default 20,000.
        rationale_chars: How much of each configuration's rationale is kept in
            ``llm_rationale``. Default 500.
        repairs_kept: The most entries ``llm_repairs`` keeps; a last entry counts the rest.
            Default 50.
    """

    max_chars: int = 10_000
    knowledge_chars: int = 2_000
    search_space_chars: int = 2_000
    request_chars: int = 1_200
    evidence_chars: int = 1_500
    candidates_chars: int = 3_000
    best_trials: int = 5
    recent_trials: int = 5
    failed_trials: int = 3
    raw_reply_chars: int = 2_000
    reply_chars: int = 32_000
    schema_chars: int = 20_000
    rationale_chars: int = 500
    repairs_kept: int = 50

    def __post_init__(self) -> None:
        minimum = len(SYSTEM_PROMPT) + 300
        if self.max_chars < minimum:
            raise ConfigError(f"max_chars must be at least {minimum}, got {self.max_chars}")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{field.name} must be a non-negative int, got {value!r}")


@dataclasses.dataclass(frozen=True)
class Prompt:
    """The messages sent to the model, and each part for inspection."""

    system: str
    user: str
    parts: dict[str, str]

    def messages(self) -> list[tuple[str, str]]:
        """``(role, content)`` pairs, which every LangChain chat model accepts."""
        return [("system", self.system), ("human", self.user)]

    def __len__(self) -> int:
        return len(self.system) + len(self.user)


def load_knowledge(knowledge: str | os.PathLike[str] | None) -> str:
    """Return the knowledge text: a string as is, a path's file content."""
    if knowledge is None:
        return ""
    if isinstance(knowledge, os.PathLike):
        with open(knowledge, encoding="utf-8") as f:
            return f.read()
    if isinstance(knowledge, str):
        return knowledge
    raise TypeError(f"knowledge must be a str or a path, got {type(knowledge).__name__}")


class PromptBuilder:
    """Builds the four-part prompt for one round."""

    def __init__(
        self,
        config: PromptConfig,
        knowledge: str = "",
        descriptions: Mapping[str, str] | None = None,
    ) -> None:
        self._config = config
        self._knowledge = knowledge.strip()
        self._descriptions = dict(descriptions or {})

    def build(
        self,
        search_space: Mapping[str, BaseDistribution],
        history: HistoryView,
        n: int,
        evidence: str = "",
        candidates: str = "",
        request: str | None = None,
    ) -> Prompt:
        """Return the prompt asking for ``n`` configurations, with ``evidence`` if given.

        With ``candidates`` (numbered configurations to choose from) and a ``request`` asking
        for a choice, the prompt asks the model to choose rather than write.
        """
        c = self._config
        if request is None:
            request = _request_part(search_space, n)
        request = truncate(request, c.request_chars)
        knowledge = truncate(self._knowledge, c.knowledge_chars)
        space = self._search_space_part(search_space, history, c.search_space_chars)
        sections = {
            "knowledge": knowledge,
            "search_space": space,
            "evidence": _cut_lines(evidence.strip(), c.evidence_chars),
            "candidates": _cut_lines(candidates.strip(), c.candidates_chars),
            "request": request,
        }
        headers = {
            "knowledge": "## Background\n",
            "search_space": "## Parameters\n",
            "evidence": "## What the trials so far show\n",
            "history": "## History\n",
            "candidates": "## Candidates\n",
            "request": "## Request\n",
        }
        fixed = (
            len(SYSTEM_PROMPT)
            + sum(len(headers[k]) + len(v) + 2 for k, v in sections.items() if v)
            + len(headers["history"])
            + 2
        )
        room = c.max_chars - fixed
        if room < 0:
            # The caps add up to more than the total: shrink knowledge, the evidence, then the
            # search space.
            for key in ("knowledge", "evidence", "search_space"):
                cut = min(len(sections[key]), -room)
                if cut:
                    sections[key] = truncate(sections[key], len(sections[key]) - cut)
                    room += cut
                if room >= 0:
                    break
        sections["history"] = _history_part(history, max(room, 0), c)
        order = ("knowledge", "search_space", "evidence", "history", "candidates", "request")
        user = "\n\n".join(headers[k] + sections[k] for k in order if sections[k])
        overflow = len(SYSTEM_PROMPT) + len(user) - c.max_chars
        if overflow > 0:  # Only when the request alone exceeds the budget.
            user = truncate(user, len(user) - overflow)
        return Prompt(SYSTEM_PROMPT, user, {k: sections[k] for k in order})

    def _search_space_part(
        self,
        search_space: Mapping[str, BaseDistribution],
        history: HistoryView,
        cap: int,
    ) -> str:
        directions = ", ".join(history.directions)
        names = history.metric_names
        goal = f"Objective: {directions}" + (f" {', '.join(names)}" if names else "") + "."
        lines = [f"- {name}: {describe_distribution(d)}" for name, d in search_space.items()]
        descs = [self._descriptions.get(name, "").strip() for name in search_space]
        base = len(goal) + sum(len(line) + 1 for line in lines)
        n_desc = sum(bool(d) for d in descs)
        full = base + sum(len(d) + 3 for d in descs if d)
        if full <= cap or n_desc == 0:
            per = max((len(d) for d in descs), default=0)
        else:
            per = max((cap - base) // n_desc - 3, 0)
        out = [goal]
        for line, desc in zip(lines, descs):
            if desc and per > len(TRUNCATED) + 10:
                line += " — " + truncate(desc, per)
            out.append(line)
        text = "\n".join(out)
        if len(text) > cap:
            kept = [goal]
            for line in out[1:]:
                if sum(len(k) + 1 for k in kept) + len(line) + 40 > cap:
                    kept.append(f"... and {len(out) - len(kept)} more parameters")
                    break
                kept.append(line)
            text = truncate("\n".join(kept), cap)
        return text


def describe_distribution(dist: BaseDistribution) -> str:
    """One line: type, range, step or scale, choices."""
    if isinstance(dist, IntDistribution):
        text = f"int in [{dist.low}, {dist.high}]"
        if dist.log:
            return text + ", log scale"
        return text + (f", step {dist.step}" if dist.step != 1 else "")
    if isinstance(dist, FloatDistribution):
        text = f"float in [{_num(dist.low)}, {_num(dist.high)}]"
        if dist.log:
            return text + ", log scale"
        return text + (f", step {_num(dist.step)}" if dist.step is not None else "")
    if isinstance(dist, CategoricalDistribution):
        return "one of " + _json(list(dist.choices))
    return repr(dist)


def _request_part(search_space: Mapping[str, BaseDistribution], n: int) -> str:
    example = {name: _placeholder(d) for name, d in list(search_space.items())[:8]}
    example_text = _json(example)
    if len(search_space) > 8:
        example_text = example_text[:-1] + ", ...}"
    plural = "configuration" if n == 1 else "configurations"
    return (
        f"Propose {n} new {plural} that you expect to beat the best result so far. "
        "Give every parameter. Keep each value inside its range and step; choose categorical "
        "values from the listed choices. Do not repeat a configuration from the history.\n"
        "Reply with one JSON object and nothing else, in this form:\n"
        f'{{"configurations": [{{"params": {example_text}, '
        '"rationale": "<one short sentence>"}]}'
    )


def _placeholder(dist: BaseDistribution) -> Any:
    if isinstance(dist, IntDistribution):
        return "<int>"
    if isinstance(dist, FloatDistribution):
        return "<number>"
    if isinstance(dist, CategoricalDistribution):
        return "<choice>"
    return "<value>"


def _history_part(history: HistoryView, room: int, config: PromptConfig) -> str:
    counts = [config.best_trials, config.recent_trials, config.failed_trials]
    while True:
        text = _render_history(history, *counts)
        if len(text) <= room:
            return text
        if not any(counts):
            return truncate(text, room)
        # Drop the recent list first (it overlaps the best), then the failures, then the best.
        for i in (1, 2, 0):
            if counts[i] > 0 and counts[i] >= max(counts) // 2:
                counts[i] -= 1
                break
        else:
            i = max(range(3), key=lambda j: counts[j])
            counts[i] -= 1


def _render_history(history: HistoryView, n_best: int, n_recent: int, n_failed: int) -> str:
    lines = [
        f"{history.n_trials} trials so far: {history.n_complete} complete, "
        f"{history.n_failed} failed, {history.n_pruned} pruned. "
        f"Direction: {', '.join(history.directions)}. "
        "Each trial shows who proposed it (llm, baseline, or the optimiser's name)."
    ]
    # Each trial is shown once, in the first section it belongs to: a small model copies
    # whatever it sees repeated.
    shown: set[int] = set()
    if history.baseline is not None:
        lines.append("Baseline: " + _render_trial(history.baseline))
        shown.add(history.baseline.number)
    else:
        lines.append("Baseline: none recorded.")
    best = history.best[:n_best]
    recent = history.recent[-n_recent:] if n_recent else []
    failures = history.failures[-n_failed:] if n_failed else []
    for title, trials in (
        ("Best trials (best first):", best),
        ("Most recent trials (newest last):", recent),
        ("Failed trials:", failures),
    ):
        rows = [_render_trial(t) for t in trials if t.number not in shown]
        shown.update(t.number for t in trials)
        if rows:
            lines.append(title)
            lines.extend(rows)
    if history.n_trials == 0 or (not best and not recent and not failures):
        lines.append("No finished trials yet: propose from the background knowledge.")
    return "\n".join(lines)


def _render_trial(trial: TrialView) -> str:
    if trial.state == "COMPLETE" and trial.values is not None:
        outcome = "value=" + ",".join(_num(v) for v in trial.values)
    elif trial.state == "FAIL":
        outcome = f"FAILED ({truncate(trial.fail_reason or 'no reason recorded', 200)})"
    elif trial.state == "PRUNED":
        outcome = "PRUNED" + (" at value=" + ",".join(_num(v) for v in trial.values) if trial.values else "")
    else:
        outcome = trial.state
    params = ", ".join(f"{k}={_value(v)}" for k, v in trial.params.items())
    origin = f" (configuration from another study: {truncate(trial.origin, 120)})" if trial.origin else ""
    return f"#{trial.number} [{trial.source}]{origin} {outcome}: {params}"


def _value(value: Any) -> str:
    # Parameters read "name=value", not JSON, so the reply cannot be a copy-paste of a line.
    if isinstance(value, float):
        return _num(value)
    return _json(value)


def _num(value: float) -> str:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def _cut_lines(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a line end (its lines come most important first)."""
    if len(text) <= limit:
        return text
    kept = text[:limit].rsplit("\n", 1)[0] if "\n" in text[:limit] else ""
    return kept or truncate(text, limit)
