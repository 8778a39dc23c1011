"""The sampler the runner tunes with: a base search (``--search``, by default TPE), wrapped in ``LLMSampler`` unless the model is ``"none"``, and what the model
is told (the machine, the project, each parameter).

Imports the A-Tune formats and the runner's ``_errors``.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna

from atune_bridge._format import ClientSpec, Knob, ServerSpec, describe_domain
from atune_bridge._runner._errors import SamplerUnavailableError

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler


# --------------------------------------------------------------------------- knowledge


def machine_summary() -> str:
    """One line on this machine: CPU cores, memory, kernel and OS, for the model."""
    parts = [f"{os.cpu_count() or '?'} CPU cores"]
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                parts.append(f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB memory")
                break
    parts.append(f"kernel {platform.system()} {platform.release()} ({platform.machine()})")
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                parts.append(line.split("=", 1)[1].strip().strip('"'))
                break
    return ", ".join(parts)


def project_knowledge(
    server: ServerSpec,
    client: ClientSpec,
    user_text: str | None = None,
    *,
    with_parameters: bool = True,
) -> str:
    """The knowledge the runner gives the model: the machine, the project, the user's text.

    The runner's own lines come first because they are short and the sampler caps the
    knowledge's length. With ``with_parameters`` each parameter's domain, restart need and
    ``desc`` are listed too; the runner leaves them out when it passes them to the sampler
    as ``descriptions`` (see :func:`parameter_descriptions`), which shows each next to its range.
    """
    lines = [f"Machine: {machine_summary()}."]
    goals = ", ".join(
        f"{e.name} ({'higher' if e.higher_is_better else 'lower'} is better, weight {e.weight:g})"
        for e in client.evaluations
    )
    lines.append(f"Project: {server.project}; benchmark `{client.benchmark}`; metrics: {goals}.")
    if with_parameters:
        lines.append("Parameters:")
        for knob in server.tunable:
            restart = ", needs a service restart" if knob.needrestart else ""
            desc = f": {knob.desc.strip()}" if knob.desc.strip() else ""
            lines.append(f"- {knob.name} in {describe_domain(knob)}{restart}{desc}")
    if user_text and user_text.strip():
        lines += ["", user_text.strip()]
    return "\n".join(lines)


def parameter_descriptions(knobs: Sequence[Knob]) -> dict[str, str]:
    """Each parameter's ``desc``, whether changing it restarts the service, and its A-Tune
    relations to others (``less``, ``greater``, ``multiple``)."""
    out = {}
    for knob in knobs:
        parts = [knob.desc.strip()] if knob.desc.strip() else []
        if knob.needrestart:
            parts.append("changing it restarts the service")
        for rel in knob.relationships:
            if rel.type == "less":
                parts.append(f"must be at most {rel.target} (a larger value is lowered to it)")
            elif rel.type == "greater":
                parts.append(f"must be at least {rel.target} (a smaller value is raised to it)")
            elif rel.type == "multiple":
                parts.append(f"a factor: the value set is {rel.target} times it")
        if parts:
            out[knob.name] = "; ".join(parts)
    return out


# --------------------------------------------------------------------------- sampler


def build_sampler(
    llm: str,
    *,
    space: Mapping[str, BaseDistribution],
    knowledge: str,
    descriptions: Mapping[str, str],
    baseline: Mapping[str, Any],
    seed: int | None,
    n_startup_trials: int,
    budget: int | None = None,
    schedule: str = "adaptive",
    llm_timeout: float = 300.0,
    artifact_dir: str | None = None,
    search: str | None = None,
) -> BaseSampler:
    """The base search ``search`` (:func:`optuna_llm_sampler._search.make_search`, default
    ``tpe``) with ``n_startup_trials`` start-up trials (and ``budget``, the study's trials, for a
    search that plans for it), wrapped in ``LLMSampler`` unless ``llm`` is ``"none"``.

    ``schedule`` names the model's role (a preset of ``LLMSampler``: ``adaptive``,
    ``alternating``, ``write``). With ``artifact_dir`` the model's prompts and raw replies are
    kept there as Optuna artifacts.

    Raises:
        SamplerUnavailableError: the sampler package, the search or the model cannot be loaded.
    """
    base = build_search(search, seed=seed, n_startup_trials=n_startup_trials, budget=budget)
    if llm.strip().lower() == "none":
        return base
    try:
        from optuna_llm_sampler import LLMSampler, make_chat_model
    except ImportError as exc:
        raise SamplerUnavailableError(
            f"--llm {llm}: optuna_llm_sampler cannot be imported ({exc}); use --llm none for TPE alone"
        ) from exc
    try:
        model = make_chat_model(llm)
        return LLMSampler(
            model,
            base_sampler=base,
            search_space=dict(space),
            knowledge=knowledge,
            descriptions=dict(descriptions),
            baseline=dict(baseline),
            seed=seed,
            schedule=schedule,
            timeout=llm_timeout,
            artifact_store=(
                optuna.artifacts.FileSystemArtifactStore(_make_dir(artifact_dir)) if artifact_dir else None
            ),
        )
    except (ValueError, ImportError, OSError, RuntimeError) as exc:
        raise SamplerUnavailableError(f"--llm {llm}: cannot build the LLM sampler: {exc}") from exc


def build_search(
    search: str | None, *, seed: int | None, n_startup_trials: int, budget: int | None = None
) -> BaseSampler:
    """The base search named ``search`` (default ``tpe``), at least one start-up trial, told the
    study's ``budget`` of trials where it plans for one.

    Raises:
        SamplerUnavailableError: the name is unknown, or the search needs what is not installed.
    """
    try:
        from optuna_llm_sampler._search import DEFAULT_SEARCH, SearchError, make_search
    except ImportError as exc:
        raise SamplerUnavailableError(f"--search: optuna_llm_sampler cannot be imported ({exc})") from exc
    try:
        return make_search(
            search or DEFAULT_SEARCH, seed=seed, n_startup_trials=max(1, n_startup_trials), budget=budget
        )
    except SearchError as exc:
        raise SamplerUnavailableError(f"--search {search}: {exc}") from exc


def _make_dir(path: str) -> str:
    Path(path).mkdir(parents=True, exist_ok=True)
    return path
