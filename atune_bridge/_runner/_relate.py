"""A trial's configuration as the runner sets it: A-Tune's ``less``/``greater``/``multiple``
relations applied (:mod:`atune_bridge._format._relations`), with what changed recorded.

What a trial keeps (user attributes): ``params_text`` (A-Tune's ``name=value,...`` line of the
configuration after repairs, ``multiple`` factors as proposed), ``relation_repairs`` (one
sentence per value moved), ``set_values`` (each ``multiple`` product set), and, when no value
keeps a relation, ``relation_broken`` and, if scored with thresholds, ``threshold_scored``.

Example:
    >>> from atune_bridge import Knob, Relationship
    >>> from atune_bridge._runner._relate import configure
    >>> knobs = [Knob("a", "discrete", "int", scope=(1, 8), set="echo $value"),
    ...          Knob("b", "discrete", "int", scope=(1, 8), set="echo $value",
    ...               relationships=(Relationship("less", "a"),))]
    >>> configure(knobs, {"a": 3, "b": 6}).texts
    {'a': '3', 'b': '3'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atune_bridge._format import apply_multiples, repair_relations
from atune_bridge._runner._shell import value_text
from atune_bridge._runner._system import _StepFailed

if TYPE_CHECKING:
    from atune_bridge._format import Evaluation, Knob

ATTR_THRESHOLD_SCORED = "threshold_scored"
"""Trial attribute, True when a broken relation had the trial scored with the thresholds, not measured."""


@dataclass(frozen=True)
class Configured:
    """The texts to set for a proposed configuration, what to keep on the trial, what broke."""

    texts: dict[str, str]
    attrs: dict[str, Any] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)


def configure(knobs: Sequence[Knob], params: Mapping[str, Any]) -> Configured:
    """``params`` repaired to keep the relations, ``multiple`` factors turned into products.

    Raises:
        DomainError, UnsafeValueError: a value fails the gate (see :func:`value_text`).
    """
    by_name = {k.name: k for k in knobs}
    fixed = repair_relations(knobs, params)
    attrs: dict[str, Any] = {}
    if fixed.changes:
        attrs["relation_repairs"] = [change.why for change in fixed.changes]
    texts = {k.name: value_text(k, fixed.values[k.name]) for k in knobs if k.name in fixed.values}
    attrs["params_text"] = ",".join(f"{n}={t}" for n, t in texts.items())
    if fixed.broken:
        attrs["relation_broken"] = list(fixed.broken)
    to_set = apply_multiples(knobs, texts)
    products = {n: v for n, v in to_set.items() if v != texts[n]}
    if products:
        attrs["set_values"] = products
    # A product may lie outside the factor's domain (it is not the factor): characters only.
    out = {n: value_text(by_name[n], v, check_domain=False) if n in products else v for n, v in to_set.items()}
    return Configured(out, attrs, list(fixed.broken))


def threshold_metrics(
    evaluations: Sequence[Evaluation], configured: Configured, attrs: dict[str, Any]
) -> dict[str, float]:
    """The metrics atuned gives a configuration that breaks a relation: each evaluation's
    ``threshold`` (``YamlPrjCli.Threshold``), nothing run.

    Raises:
        _StepFailed: an evaluation has no threshold: the trial fails, nothing run.
    """
    if any(e.threshold is None for e in evaluations):
        raise _StepFailed(
            "relations",
            "refused before any command ran: "
            + "; ".join(configured.broken)
            + " (A-Tune scores such a configuration with each evaluation's threshold; "
            "the client file gives none)",
        )
    attrs[ATTR_THRESHOLD_SCORED] = True
    return {e.name: float(e.threshold) for e in evaluations}  # type: ignore[arg-type]
