"""The standalone runner: A-Tune's tuning loop on an Optuna study, without atuned.

* ``_loop``: :class:`Runner` and :func:`run_project`: the tuning loop, one trial an A-Tune
  iteration, from the baseline to setting the original values back;
* ``_system``: the system it drives: the service's parameters read, set and restarted;
* ``_shell``: A-Tune's shell commands run safely (substitution rules, timeouts, kept output);
* ``_secrets``: keys out of commands, storage and logs (the environment a command gets,
  credentials redacted);
* ``_records``: the records it keeps: the study's attributes, :class:`TrialReport`,
  :class:`RunResult`;
* ``_sampler``: the sampler it asks (TPE, or ``LLMSampler`` over TPE) and what the model is told;
* ``_report``: the end of a run: the best configuration, the gain, the HTML report;
* ``_confirm`` (on ``_stats``): the verified improvement, the best and the baseline measured
  again alternately, stored as the study attribute ``atune_bridge:confirm``;
* ``_claim``: the run-level claim on a study: one run at a time drives its service;
* ``_restore``: the original values set back without tuning (``atune-bridge restore``);
* ``_stop``: the rules that end a run before its budget (``target_gain``, ``patience``);
* ``_warm``: earlier studies' best trials enqueued in a new one (``warm_start``);
* ``_relate``: a trial's configuration as set: A-Tune's relations applied, repairs recorded;
* ``_study_note``: the study's optuna-dashboard note (project, baseline, best, verified gain);
* ``_config``, ``_errors``: :class:`RunnerConfig`, and the errors a run stops with.

May import the A-Tune formats (``atune_bridge._format``), never the engine
(``atune_bridge._engine``) nor the modules on top (the CLI).
"""

from atune_bridge._runner._config import RunnerConfig
from atune_bridge._runner._confirm import STUDY_CONFIRM, confirm_text
from atune_bridge._runner._errors import (
    BaselineError,
    ProjectError,
    SamplerUnavailableError,
    StudyBusyError,
    StudyMismatchError,
    SystemFaultError,
)
from atune_bridge._runner._loop import Runner, default_output_dir, run_project
from atune_bridge._runner._records import RunResult, TrialReport
from atune_bridge._runner._restore import RestoreResult, restore_originals
from atune_bridge._runner._report import Summary, format_summary, summarize, write_report
from atune_bridge._runner._sampler import parameter_descriptions, project_knowledge
from atune_bridge._runner._shell import UnsafeValueError
from atune_bridge._runner._stop import STUDY_STOPPED, StopRules
from atune_bridge._runner._warm import STUDY_WARM_START

__all__ = [
    "STUDY_CONFIRM",
    "STUDY_STOPPED",
    "STUDY_WARM_START",
    "BaselineError",
    "ProjectError",
    "RestoreResult",
    "RunResult",
    "Runner",
    "RunnerConfig",
    "SamplerUnavailableError",
    "StopRules",
    "StudyBusyError",
    "StudyMismatchError",
    "Summary",
    "SystemFaultError",
    "TrialReport",
    "UnsafeValueError",
    "confirm_text",
    "default_output_dir",
    "format_summary",
    "parameter_descriptions",
    "project_knowledge",
    "restore_originals",
    "run_project",
    "summarize",
    "write_report",
]
