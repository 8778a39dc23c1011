"""A-Tune's formats: what both the runner and the engine stand on.

* ``_errors``: the bridge's exceptions and :class:`Problem` (a fault found in a file);
* ``_yaml``: a tolerant YAML reader for hand-written files (each repair recorded);
* ``_knob``: one tunable parameter (:class:`Knob`) and the set of values A-Tune allows it;
* ``_spec``: server and client project files, and atuned's engine knobs, into typed specs;
* ``_space``: knobs into Optuna distributions; parameter dicts to and from ``name=value,...``;
* ``_relations``: A-Tune's ``less``/``greater``/``multiple`` relations: a configuration
  repaired to keep them, and ``multiple`` factors turned into the values set;
* ``_transfer``: warm start: an earlier study's best trials as seeds for a new one;
* ``_evaluate``: A-Tune's evaluations: metrics read from ``$out``, scored as A-Tune scores them;
* ``_importance``: the parameter importance evaluator both the runner's report and the
  engine's ``rank`` use.

Imports nothing of ``atune_bridge`` outside this folder; the runner (``_runner``), the engine
(``_engine``) and the modules on top import it, through the names below.
"""

from atune_bridge._format._errors import (
    AtuneBridgeError,
    AtuneFileError,
    DomainError,
    InvalidKnobError,
    ParamStringError,
    Problem,
)
from atune_bridge._format._evaluate import MetricError, Scoring, improve_rate_text, parse_metric
from atune_bridge._format._importance import importance_evaluator
from atune_bridge._format._knob import Knob, Relationship
from atune_bridge._format._relations import Repair, apply_multiples, relation_problems, repair_relations
from atune_bridge._format._space import (
    MAX_CHOICES,
    baseline_params,
    check_value,
    describe_domain,
    format_params,
    format_value,
    number_text,
    parse_params,
    search_space,
    to_distribution,
)
from atune_bridge._format._spec import (
    ClientSpec,
    Evaluation,
    ServerSpec,
    client_from_dict,
    is_variable_pattern,
    knob_from_engine,
    knobs_from_engine,
    load_client,
    load_project_file,
    load_server,
    server_from_dict,
)
from atune_bridge._format._transfer import (
    DEFAULT_BEST,
    WARM_START_FROM,
    Seed,
    WarmStartError,
    best_trials_of,
    load_source,
    parse_source,
    transfer_seeds,
)

__all__ = [
    "DEFAULT_BEST",
    "AtuneBridgeError",
    "AtuneFileError",
    "ClientSpec",
    "DomainError",
    "Evaluation",
    "InvalidKnobError",
    "Knob",
    "MAX_CHOICES",
    "MetricError",
    "ParamStringError",
    "Problem",
    "Relationship",
    "Repair",
    "Seed",
    "WARM_START_FROM",
    "WarmStartError",
    "Scoring",
    "ServerSpec",
    "apply_multiples",
    "baseline_params",
    "best_trials_of",
    "check_value",
    "client_from_dict",
    "describe_domain",
    "format_params",
    "format_value",
    "importance_evaluator",
    "improve_rate_text",
    "is_variable_pattern",
    "knob_from_engine",
    "knobs_from_engine",
    "load_client",
    "load_project_file",
    "load_server",
    "load_source",
    "number_text",
    "parse_metric",
    "parse_params",
    "parse_source",
    "relation_problems",
    "repair_relations",
    "search_space",
    "server_from_dict",
    "to_distribution",
    "transfer_seeds",
]
