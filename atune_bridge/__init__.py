"""Bridge between openEuler A-Tune's project files and Optuna.

* :func:`load_server`, :func:`load_client`, :func:`load_project_file`: A-Tune YAML into
  typed specs, tolerant of the faults real files have (see :mod:`atune_bridge._format._spec`).
* :func:`to_distribution`, :func:`search_space`: knobs into Optuna distributions.
* :func:`format_params`, :func:`parse_params`, :func:`baseline_params`: parameter dicts to
  and from A-Tune's ``name=value,...`` strings.
* :func:`example_path`, :func:`example_files`, :func:`example_names`: A-Tune project files
  installed with the package, to try the above on (``atune-bridge space --example nginx``).

Example:
    >>> from atune_bridge import Knob, search_space, format_params
    >>> knobs = [Knob("net.core.somaxconn", "discrete", "int", scope=(128, 65536), step=128)]
    >>> search_space(knobs)
    {'net.core.somaxconn': IntDistribution(high=65536, log=False, low=128, step=128)}
    >>> format_params({"net.core.somaxconn": 1024}, knobs)
    'net.core.somaxconn=1024'
"""

from optuna_llm_sampler._version import __version__

from atune_bridge._engine import (
    EngineConfig,
    EngineRequestError,
    OptimizerEngine,
    OutOfOrderError,
    UnknownTaskError,
    UnsupportedEngineError,
    create_engine_app,
    engine_names,
)
from atune_bridge._examples import UnknownExampleError, example_files, example_names, example_path
from atune_bridge._format import (
    MAX_CHOICES,
    AtuneBridgeError,
    AtuneFileError,
    ClientSpec,
    DomainError,
    Evaluation,
    InvalidKnobError,
    Knob,
    MetricError,
    ParamStringError,
    Problem,
    Relationship,
    ServerSpec,
    WarmStartError,
    baseline_params,
    check_value,
    client_from_dict,
    describe_domain,
    format_params,
    format_value,
    knob_from_engine,
    knobs_from_engine,
    load_client,
    load_project_file,
    load_server,
    parse_params,
    search_space,
    server_from_dict,
    to_distribution,
)
from atune_bridge._runner import (
    BaselineError,
    ProjectError,
    RestoreResult,
    Runner,
    RunnerConfig,
    RunResult,
    SamplerUnavailableError,
    StudyBusyError,
    StudyMismatchError,
    Summary,
    SystemFaultError,
    TrialReport,
    UnsafeValueError,
    format_summary,
    restore_originals,
    run_project,
    summarize,
    write_report,
)

__all__ = [
    "AtuneBridgeError",
    "AtuneFileError",
    "BaselineError",
    "ClientSpec",
    "DomainError",
    "EngineConfig",
    "EngineRequestError",
    "Evaluation",
    "InvalidKnobError",
    "Knob",
    "MAX_CHOICES",
    "MetricError",
    "OptimizerEngine",
    "OutOfOrderError",
    "ParamStringError",
    "Problem",
    "ProjectError",
    "Relationship",
    "RestoreResult",
    "RunResult",
    "Runner",
    "RunnerConfig",
    "SamplerUnavailableError",
    "ServerSpec",
    "StudyBusyError",
    "StudyMismatchError",
    "Summary",
    "SystemFaultError",
    "TrialReport",
    "UnknownExampleError",
    "UnknownTaskError",
    "UnsafeValueError",
    "UnsupportedEngineError",
    "WarmStartError",
    "baseline_params",
    "check_value",
    "client_from_dict",
    "create_engine_app",
    "describe_domain",
    "engine_names",
    "example_files",
    "example_names",
    "example_path",
    "format_params",
    "format_summary",
    "format_value",
    "knob_from_engine",
    "knobs_from_engine",
    "load_client",
    "load_project_file",
    "load_server",
    "parse_params",
    "restore_originals",
    "run_project",
    "search_space",
    "server_from_dict",
    "summarize",
    "to_distribution",
    "write_report",
    "__version__",
]
