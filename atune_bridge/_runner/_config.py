"""How a :class:`~atune_bridge.Runner` tunes: :class:`RunnerConfig` and its defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass

from atune_bridge._format import is_variable_pattern
from atune_bridge._runner._shell import MAX_OUTPUT_BYTES

DEFAULT_STORAGE = "sqlite:///atune-bridge.db"
"""Where studies go unless told otherwise: a SQLite file in the working directory."""

DEFAULT_LLM = "local"

SCHEDULES = ("adaptive", "alternating", "write")
"""The model roles ``--schedule`` takes: ``optuna_llm_sampler.PRESETS`` by name."""

DEFAULT_SCHEDULE = "adaptive"
"""The model asked unless told otherwise: the offline SmolLM2 model, which needs no key."""


@dataclass(frozen=True)
class RunnerConfig:
    """How a :class:`Runner` tunes: storage, budget, model, timeouts, what to leave applied.

    Args:
        storage: Optuna storage URL. Default a SQLite file in the working directory, so
            running the same command again resumes.
        study_name: Default the project name of the server file.
        llm: A model spec for :func:`optuna_llm_sampler.make_chat_model` (``"local"``,
            ``"tongyi:qwen-plus"``, ``"openai:MODEL@BASE_URL"``), or ``"none"`` for TPE alone.
        n_trials: Finished trials (complete + failed, baseline included, earlier runs
            included) to reach. Default the client file's ``iterations`` plus 1 (A-Tune's
            iterations come after its baseline).
        knowledge: A text file of tuning knowledge given to the model with what the runner
            knows (machine, project, parameter descriptions).
        multi_objective: Optimise each metric as its own objective (a Pareto front) instead
            of A-Tune's weighted improvement rate.
        seed: Seed of the samplers.
        schedule: The model's role, a preset of ``LLMSampler``: ``"adaptive"`` (default: the
            model writes one trial of TPE's start-up, then earns its share of trials by how
            they fare and picks among TPE's candidates unless what it wrote is ahead),
            ``"alternating"`` (two model trials, two of TPE's, repeating: the experiment this
            project grew from), ``"write"`` (the adaptive share, the model writing every round).
        llm_timeout: Seconds one model call may take before its trial goes to TPE. Default
            300: the offline model on two busy cores can need minutes for a round.
        command_timeout: Seconds each ``set``/``get``/restart/evaluation command may take.
        benchmark_timeout: Seconds the benchmark may take.
        apply_best: Leave the best configuration applied at the end instead of the original.
        workdir: Directory the commands run in. Default the current directory.
        output_limit: Characters of a failed step's stdout/stderr kept on the trial.
        confirm: Measurements of the best configuration and of the baseline, each, taken
            alternately at the end of a run to verify the gain (see
            :mod:`atune_bridge._runner._confirm`). 0 (the library's default, so that a
            program driving the runner pays for it only when asked) turns it off; the
            ``tune`` command's default is 3. 1 is refused: one value has no interval.
        rerank: Before the confirmation, measure the top this-many configurations again
            (``rerank_repeats`` times each) and confirm the one with the best mean instead of
            the best single measurement, which on a noisy benchmark is often a lucky draw
            (see :mod:`atune_bridge._runner._rerank`). 0 (the library's default, as for
            ``confirm``) turns it off; the ``tune`` command's default is 3 whenever it
            confirms. 1 is refused (one candidate has nothing to be ranked against), and so is
            any other value with ``confirm`` off, since the crowned configuration's gain is
            what the confirmation verifies.
        rerank_repeats: Re-measurements of each re-ranked configuration. Default 1: the
            cheapest that pays on the recorded nginx surface; two each crowned better
            configurations, but gained no more than one each over spending the same
            measurements on more trials (docs/benchmarks.md).
        target_gain: Stop once the best trial's gain over the baseline reaches this many
            percent (see :mod:`atune_bridge._runner._stop`). None: never.
        patience: Stop after this many finished trials since the best one without a better
            one. None: never.
        warm_start: Earlier studies to seed this one from, each ``STUDY`` or
            ``STUDY@STORAGE`` (the storage defaults to ``storage``); see
            :mod:`atune_bridge._runner._warm`.
        artifact_dir: Folder of an Optuna ``FileSystemArtifactStore`` keeping each model
            call's whole prompt and raw reply (``optuna-dashboard STORAGE --artifact-dir
            DIR`` shows them). Default: ``<db stem>.artifacts/`` next to a SQLite storage's
            file, none for other storages; ``"none"`` keeps none.
        pass_env: Environment variables the project's commands get besides the few every
            command gets and those the project's YAML names (``NAME``, or ``NAME*`` for every
            variable starting with ``NAME``; see :mod:`atune_bridge._runner._secrets`).
        max_output_bytes: The most of a command's output that is read (its last bytes): the
            benchmark's output the evaluations read, a failed step's output kept on the trial.
            Default 4 MiB (:data:`~atune_bridge._runner._shell.MAX_OUTPUT_BYTES`).
        search: The base search under the model (``optuna_llm_sampler._search.SEARCHES``:
            ``tpe``, ``sobol-tpe``, ``sobol-gp``, ``gp``, ``random``). None: ``tpe``.
    """

    storage: str = DEFAULT_STORAGE
    study_name: str | None = None
    llm: str = DEFAULT_LLM
    n_trials: int | None = None
    knowledge: str | None = None
    multi_objective: bool = False
    seed: int | None = None
    schedule: str = DEFAULT_SCHEDULE
    llm_timeout: float = 300.0
    command_timeout: float = 120.0
    benchmark_timeout: float = 1800.0
    apply_best: bool = False
    workdir: str | None = None
    output_limit: int = 4000
    confirm: int = 0
    rerank: int = 0
    rerank_repeats: int = 1
    target_gain: float | None = None
    patience: int | None = None
    warm_start: tuple[str, ...] = ()
    artifact_dir: str | None = None
    pass_env: tuple[str, ...] = ()
    max_output_bytes: int = MAX_OUTPUT_BYTES
    search: str | None = None

    def artifact_folder(self) -> str | None:
        """The artifact folder this configuration asks for (see ``artifact_dir``), or None."""
        if self.artifact_dir is not None:
            return None if self.artifact_dir.strip().lower() in ("", "none") else self.artifact_dir
        if self.storage.startswith("sqlite:///"):
            path = self.storage[len("sqlite:///") :].split("?", 1)[0]
            if path and path != ":memory:":
                stem, _ = os.path.splitext(path)
                return stem + ".artifacts"
        return None

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"RunnerConfig.schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        for name in ("command_timeout", "benchmark_timeout", "llm_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"RunnerConfig.{name} must be positive seconds, got {value!r}")
        if self.n_trials is not None and self.n_trials < 1:
            raise ValueError(f"RunnerConfig.n_trials must be at least 1, got {self.n_trials!r}")
        if self.confirm < 0 or self.confirm == 1:
            raise ValueError(
                f"RunnerConfig.confirm must be 0 (off) or at least 2 measurements per arm, got {self.confirm!r}"
            )
        if self.rerank < 0 or self.rerank == 1:
            raise ValueError(
                f"RunnerConfig.rerank must be 0 (off) or at least 2 configurations to compare, got {self.rerank!r}"
            )
        if self.rerank and self.confirm < 2:
            raise ValueError(
                f"RunnerConfig.rerank needs the confirmation, which verifies the crowned configuration: "
                f"set confirm to at least 2 (e.g. 3) or rerank to 0, got rerank={self.rerank!r} with "
                f"confirm={self.confirm!r}"
            )
        if self.rerank_repeats < 1:
            raise ValueError(
                f"RunnerConfig.rerank_repeats must be at least 1 re-measurement per configuration, "
                f"got {self.rerank_repeats!r}"
            )
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"RunnerConfig.patience must be at least 1 trial, got {self.patience!r}")
        if self.target_gain is not None and not self.target_gain > 0:
            raise ValueError(f"RunnerConfig.target_gain must be a positive percentage, got {self.target_gain!r}")
        if isinstance(self.warm_start, str):
            object.__setattr__(self, "warm_start", (self.warm_start,))
        if isinstance(self.pass_env, str):
            object.__setattr__(self, "pass_env", (self.pass_env,))
        bad = [name for name in self.pass_env if not is_variable_pattern(name)]
        if bad:
            raise ValueError(
                f"RunnerConfig.pass_env: {', '.join(map(repr, bad))} is not a variable name (NAME or NAME*)"
            )
        if self.max_output_bytes < 1024:
            raise ValueError(f"RunnerConfig.max_output_bytes must be at least 1024, got {self.max_output_bytes!r}")
