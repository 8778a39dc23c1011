"""The end of a run: the best configuration, the gain over the baseline, and an HTML report.

:func:`summarize` reads a finished :class:`~atune_bridge.RunResult` into a :class:`Summary`;
:func:`format_summary` prints it for a terminal; :func:`write_report` writes, into one
folder, ``index.html`` (plots when plotly is installed, and a table of every trial with who
proposed it and why), ``best.txt`` (A-Tune's ``name=value,...`` line of the best
configuration) and ``summary.json``.

The report leads with the gain as re-measured (``--confirm``, the study's
``atune_bridge:confirm`` user attribute) or says it was not verified. A re-measurement of
another trial than the best is not shown, nor its re-ranking's crown: an earlier run's, when
a later one found a new best and did not confirm it (stopped first, or ``confirm`` off).
Proposals the sampler discarded without running them (``llm_discarded``) are left out of
every count and table. Importances come with the number of complete trials they were
computed from, and a caveat below :data:`MIN_IMPORTANCE_TRIALS`.

The best trial: the best objective value (ties go to the earlier trial); with several
objectives (``--multi-objective``), the Pareto-optimal trial with the best A-Tune weighted
objective. When the run re-ranked its top trials (``--rerank``, :mod:`._rerank`) and crowned
another, the report's best is the crowned trial (:func:`crowned_trial`), and the report says
so: "trial 17 crowned after re-measuring the top 3 (trial 12 had the best single measurement:
a lucky draw)".
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

from atune_bridge._format import Scoring, importance_evaluator, improve_rate_text
from atune_bridge._runner._records import SOURCE_BASELINE, STUDY_CONFIRM, _source_key, is_discarded
from atune_bridge._runner._rerank import crown_sentence, current_crown

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from atune_bridge._runner._records import RunResult

logger = logging.getLogger(__name__)

_RATIONALE_KEYS = ("llm_rationale", "rationale")
ATTR_ARTIFACTS = "llm_artifacts"
"""``optuna_llm_sampler.ATTR_ARTIFACTS``: the trial's model exchange was kept as artifacts, so the
dashboard command names the artifact folder."""
ATTR_VET = "llm_vet"
"""``optuna_llm_sampler.ATTR_VET``: how the model vetted what it wrote (``kept``: ``written`` or
``draw``), shown in the report's vetting column."""
MIN_IMPORTANCE_TRIALS = 20
"""Below this many complete trials the importances are shown with a caveat: from a few noisy
measurements they change from one evaluator or seed to the next (optuna-dashboard's may
disagree)."""
_COLOURS = {
    "baseline": "#222222",
    "llm": "#d62728",
    "TPESampler": "#1f77b4",
    "enqueued": "#9467bd",
}
_OTHER_COLOURS = ["#2ca02c", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


@dataclass(frozen=True)
class TrialRow:
    """One trial as the report shows it."""

    number: int
    state: str
    source: str
    metrics: dict[str, float]
    values: tuple[float, ...] | None
    atune_objective: float | None
    params_text: str
    rationale: str = ""
    fail_reason: str = ""
    restarted: bool | None = None
    llm: dict[str, Any] = field(default_factory=dict)
    """The model's part in this trial: ``model``, ``latency_s``, ``repairs`` (a count),
    ``choice`` (the candidate it picked), ``vet`` (how it vetted what it wrote: see
    :func:`vet_text`), ``error`` (its round's failure), ``fallback`` (why an LLM slot went to
    the base sampler)."""


@dataclass(frozen=True)
class Summary:
    """What a run found, ready to print or to write as JSON."""

    project: str
    study_name: str
    storage: str
    mode: str
    objective_names: list[str]
    directions: list[str]
    higher_is_better: dict[str, bool]
    n_complete: int
    n_failed: int
    baseline: TrialRow | None
    best: TrialRow | None
    best_line: str
    best_params: dict[str, str]
    baseline_params: dict[str, str]
    improvement: dict[str, float | None]
    atune_improvement: float | None
    importances: dict[str, dict[str, float]]
    importance_note: str
    rows: list[TrialRow] = field(default_factory=list)
    applied: str = ""
    interrupted: str | None = None
    confirm: dict[str, Any] | None = None
    """The study's ``atune_bridge:confirm`` attribute (the re-measurement), when present and of
    :attr:`best`."""
    n_discarded: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    """Trials per proposer, discarded proposals left out."""
    importance_trials: int = 0
    artifact_dir: str | None = None
    """The folder of the model's prompts and replies (Optuna artifacts), when the study's trials
    kept any there; the dashboard command names it."""
    model_share: str | None = None
    """How many trials the model proposed and what decided that, in one line
    (``optuna_llm_sampler.attrs.share_summary``); None when the sampler never gave it a slot."""

    @property
    def verified_gain(self) -> str:
        """The re-measured gain as one line, or why there is none."""
        return verified_gain_line(self.confirm)

    @property
    def crowned_over(self) -> int | None:
        """The trial with the best single measurement when the re-ranking (``--rerank``) crowned
        :attr:`best` in its place; None when it did not."""
        rerank = (self.confirm or {}).get("rerank")
        if (
            not isinstance(rerank, Mapping)
            or self.best is None
            or not rerank.get("changed")
            or rerank.get("crowned") != self.best.number
        ):
            return None
        single = rerank.get("best_single")
        return single if isinstance(single, int) else None

    @property
    def best_label(self) -> str:
        """How the best trial is named: ``trial 17 (TPESampler)``, with ``, crowned over trial
        12 by re-measuring`` when the re-ranking put it in the place of the best single one."""
        if self.best is None:
            return ""
        over = self.crowned_over
        crowned = f", crowned over trial {over} by re-measuring" if over is not None else ""
        return f"trial {self.best.number} ({self.best.source}){crowned}"

    @property
    def dashboard_command(self) -> str:
        """The command that opens the study in optuna-dashboard, with ``--artifact-dir`` when
        the model's prompts and replies were kept (its artifacts panel shows them)."""
        command = f"optuna-dashboard {shlex.quote(self.storage)}"
        if self.artifact_dir:
            command += f" --artifact-dir {shlex.quote(self.artifact_dir)}"
        return command


@dataclass(frozen=True)
class ReportFiles:
    """Where :func:`write_report` wrote, and whether the HTML has plots."""

    folder: Path
    html: Path
    best: Path
    summary: Path
    plots: bool
    note: str = ""


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def ranked_trials(study: Study, scoring: Scoring) -> list[FrozenTrial]:
    """The complete trials, best first (see the module doc); the first is :func:`best_trial`.

    With several objectives the Pareto-optimal trials come first, each group by A-Tune's
    weighted objective.
    """
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values]
    if scoring.mode == "pareto":
        front = {t.number for t in _pareto_front(complete, scoring.directions)}

        def key(t: FrozenTrial) -> tuple[bool, float, int]:
            objective = _finite(t.user_attrs.get("atune_objective"))
            return (t.number not in front, objective if objective is not None else math.inf, t.number)

        return sorted(complete, key=key)
    sign = -1.0 if scoring.directions[0] == "maximize" else 1.0
    return sorted(complete, key=lambda t: (sign * t.values[0], t.number))


def best_trial(study: Study, scoring: Scoring) -> FrozenTrial | None:
    """The best complete trial (see the module doc), or None before any completes."""
    ranked = ranked_trials(study, scoring)
    return ranked[0] if ranked else None


def crowned_trial(study: Study, scoring: Scoring) -> FrozenTrial | None:
    """The trial a run ends with: :func:`best_trial`, or the trial the study's re-ranking
    (``--rerank``, :mod:`._rerank`) crowned in its place while that re-ranking is current (made
    when the same trial was best, and not interrupted)."""
    best = best_trial(study, scoring)
    return None if best is None else crowned_by(study, stored_rerank(study), best)


def stored_rerank(study: Study) -> Any:
    """The study's stored re-ranking record (the ``rerank`` key of ``atune_bridge:confirm``), or None."""
    return (_confirm_attr(study) or {}).get("rerank")


def crowned_by(study: Study, rerank: Any, best: FrozenTrial) -> FrozenTrial:
    """The trial the re-ranking record ``rerank`` crowned in the place of ``best`` (the trial
    with the best single measurement) while the record is current for it
    (:func:`~._rerank.current_crown`); else ``best``. The one place a crown becomes a trial:
    the runner's confirmation and ``apply_best`` and the report all ask it."""
    crowned = current_crown(rerank, best.number)
    if crowned is None or crowned == best.number:
        return best
    trial = next(
        (t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.number == crowned), None
    )
    return trial if trial is not None else best


def _pareto_front(trials: Sequence[FrozenTrial], directions: Sequence[str]) -> list[FrozenTrial]:
    signs = [-1.0 if d == "maximize" else 1.0 for d in directions]
    keyed = [(t, [s * v for s, v in zip(signs, t.values)]) for t in trials]

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    return [t for t, k in keyed if not any(dominates(o, k) for _, o in keyed)]


def _llm_details(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if attrs.get("llm_model"):
        out["model"] = str(attrs["llm_model"])
    latency = _finite(attrs.get("llm_latency_s"))
    if latency is not None:
        out["latency_s"] = latency
    if attrs.get("llm_repairs"):
        out["repairs"] = len(attrs["llm_repairs"])
    choice = attrs.get("llm_choice")
    if isinstance(choice, Mapping):
        out["choice"] = f"candidate {choice.get('picked')} of {choice.get('of')} drawn by {choice.get('drawn_by')}"
    vet = attrs.get(ATTR_VET)
    if isinstance(vet, Mapping):
        out["vet"] = vet_text(vet)
    if attrs.get("llm_error"):
        out["error"] = str(attrs["llm_error"])
    if attrs.get("llm_note"):
        out["fallback"] = str(attrs["llm_note"])
    return out


def vet_text(vet: Mapping[str, Any]) -> str:
    """The vetting of a written configuration (the trial attribute ``llm_vet``) in a few words:
    ``kept its own (picked 2 of 4)``, ``took a draw (picked 3 of 4; its own was 1)``, or
    ``not vetted: ...`` when the vetting call failed and the written configuration ran."""
    if vet.get("error"):
        return f"not vetted: {vet['error']}"
    picked, of = vet.get("picked"), vet.get("of")
    own = ", ".join(str(p) for p in vet.get("own") or [] if p is not None)
    if vet.get("kept") == "draw":
        return f"took a draw (picked {picked} of {of}" + (f"; its own was {own})" if own else ")")
    return "kept its own" + (f" (picked {picked} of {of})" if picked is not None else "")


def _row(trial: FrozenTrial, source_key: str) -> TrialRow:
    attrs = trial.user_attrs
    rationale = next((str(attrs[k]) for k in _RATIONALE_KEYS if attrs.get(k)), "")
    return TrialRow(
        number=trial.number,
        state=trial.state.name,
        source=str(attrs.get(source_key, "?")),
        metrics={k: float(v) for k, v in (attrs.get("metrics") or {}).items()},
        values=tuple(trial.values) if trial.values is not None else None,
        atune_objective=_finite(attrs.get("atune_objective")),
        params_text=str(attrs.get("params_text") or ",".join(f"{k}={v}" for k, v in trial.params.items())),
        rationale=rationale,
        fail_reason=str(attrs.get("fail_reason") or ""),
        restarted=attrs.get("restarted"),
        llm=_llm_details(attrs),
    )


def _split_line(line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for chunk in line.split(","):
        name, sep, value = chunk.partition("=")
        if sep:
            out[name] = value
    return out


def _importances(study: Study, scoring: Scoring, n_complete: int) -> tuple[dict[str, dict[str, float]], str]:
    if n_complete < 3:
        return {}, f"parameter importances need at least 3 completed trials; this study has {n_complete}"
    caveat = importance_caveat(n_complete)
    import optuna

    out: dict[str, dict[str, float]] = {}
    notes = []
    targets = list(enumerate(scoring.objective_names))
    for index, name in targets:
        try:
            evaluator = importance_evaluator(study)
            target = (lambda t, i=index: t.values[i]) if len(targets) > 1 else None
            out[name] = dict(optuna.importance.get_param_importances(study, evaluator=evaluator, target=target))
        except (RuntimeError, ValueError, ZeroDivisionError, IndexError) as exc:
            notes.append(f"{name}: {exc}")
    if out and caveat:
        notes.insert(0, caveat)
    return out, "; ".join(notes)


def importance_caveat(n_complete: int) -> str:
    """A warning for importances from fewer than :data:`MIN_IMPORTANCE_TRIALS` trials, or ``""``."""
    if n_complete >= MIN_IMPORTANCE_TRIALS:
        return ""
    return (
        f"computed from only {n_complete} complete trials (fewer than {MIN_IMPORTANCE_TRIALS}): "
        "rough estimates that change with the evaluator and its seed, so optuna-dashboard's may "
        "differ; do not read small differences"
    )


def summarize(result: RunResult, *, importances: bool = True, artifact_dir: str | None = None) -> Summary:
    """The summary of a run: baseline, best, gain, importances (unless ``importances`` is
    False) and every trial.

    ``artifact_dir`` is the run's artifact folder (``RunnerConfig.artifact_folder()``); the
    summary keeps it when a trial kept its model exchange there (``llm_artifacts``).
    """
    study = result.study
    scoring = result.scoring
    every = study.get_trials(deepcopy=False)
    trials = [t for t in every if not is_discarded(t)]
    source_key = _source_key()
    rows = [_row(t, source_key) for t in trials]
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    baseline_trial = next(
        (t for t in complete if t.user_attrs.get(source_key) == SOURCE_BASELINE and t.user_attrs.get("metrics")),
        None,
    )
    best = crowned_trial(study, scoring)
    baseline_row = _row(baseline_trial, source_key) if baseline_trial is not None else None
    best_row = _row(best, source_key) if best is not None else None

    confirm = _confirm_attr(study)
    if confirm is not None and best is not None and confirm.get("best_trial", best.number) != best.number:
        confirm = None  # an earlier run's, of another trial: this best is not confirmed
    improvement: dict[str, float | None] = {}
    atune_improvement = None
    if baseline_row is not None and best_row is not None:
        for evaluation in scoring.evaluations:
            base = baseline_row.metrics.get(evaluation.name)
            now = best_row.metrics.get(evaluation.name)
            if base is None or now is None or base == 0:
                improvement[evaluation.name] = None
                continue
            change = (now - base) / abs(base) * 100
            improvement[evaluation.name] = change if evaluation.higher_is_better else -change
        objective = best_row.atune_objective
        if objective is not None:
            base_signed = scoring.signed(baseline_row.metrics)
            atune_improvement = _finite(improve_rate_text(objective, base_signed))

    importances_by_name, note = _importances(study, scoring, len(complete)) if importances else ({}, "")
    best_line = best_row.params_text if best_row is not None else ""
    baseline_line = baseline_row.params_text if baseline_row is not None else ""
    return Summary(
        project=result.server.project,
        study_name=result.study_name,
        storage=result.storage,
        mode=scoring.mode,
        objective_names=scoring.objective_names,
        directions=scoring.directions,
        higher_is_better={e.name: e.higher_is_better for e in scoring.evaluations},
        n_complete=len(complete),
        n_failed=sum(t.state is TrialState.FAIL for t in trials),
        baseline=baseline_row,
        best=best_row,
        best_line=best_line,
        best_params=_split_line(best_line),
        baseline_params=_split_line(baseline_line),
        improvement=improvement,
        atune_improvement=atune_improvement,
        importances=importances_by_name,
        importance_note=note,
        rows=rows,
        applied=result.applied,
        interrupted=result.interrupted,
        confirm=confirm,
        n_discarded=len(every) - len(trials),
        sources=_count_sources(rows),
        importance_trials=len(complete) if importances_by_name else 0,
        artifact_dir=artifact_dir if artifact_dir and any(ATTR_ARTIFACTS in t.user_attrs for t in every) else None,
        model_share=_model_share(study),
    )


def _model_share(study: Study) -> str | None:
    """The sampler package's one line on the model's share; None without that package."""
    try:
        from optuna_llm_sampler.attrs import share_summary
    except ImportError:
        return None
    try:
        return share_summary(study)
    except Exception as exc:  # A line of the report, never a reason to lose the report.
        logger.warning("could not say how many trials the model proposed: %s: %s", type(exc).__name__, exc)
        return None


def _count_sources(rows: Sequence[TrialRow]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.source] = counts.get(row.source, 0) + 1
    return counts


def _confirm_attr(study: Study) -> dict[str, Any] | None:
    value = study.user_attrs.get(STUDY_CONFIRM)
    return dict(value) if isinstance(value, Mapping) else None


def verified_gain_line(confirm: Mapping[str, Any] | None) -> str:
    """The verified gain of an ``atune_bridge:confirm`` record (:mod:`._confirm`) as one line;
    ``"not verified"`` (with why) when there is none."""
    if not confirm:
        return "not verified: the best and the baseline were each measured once"
    gain = _finite(confirm.get("gain_pct"))
    if gain is None:
        return f"not verified: {confirm.get('warning') or 'no gain could be computed'}"
    part = f"{gain:+.2f}%"
    interval = confirm.get("gain_interval_pct")
    if isinstance(interval, Sequence) and not isinstance(interval, str) and len(interval) == 2:
        low, high = (_finite(v) for v in interval)
        if low is not None and high is not None:
            part += f" (95% interval {low:+.2f}% to {high:+.2f}%)"
    parts = [part]
    if isinstance(confirm.get("verdict"), str):
        parts.append(confirm["verdict"])
    if isinstance(confirm.get("n"), int):
        parts.append(f"from {confirm['n']} re-measurements of each")
    rerank = confirm.get("rerank")
    if isinstance(rerank, Mapping):
        parts.append(crown_sentence(rerank))
    warning = confirm.get("warning")
    if isinstance(warning, str) and warning:
        parts.append(f"warning: {warning}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- text


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}"


def _metrics_text(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:.2f}" for k, v in metrics.items())


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join("  " + line for line in lines)


def format_summary(summary: Summary) -> str:
    """The summary as terminal text: best line, parameter table, gain, importances."""
    out = [f"Study {summary.study_name!r}: {summary.n_complete} completed, {summary.n_failed} failed trials."]
    best, base = summary.best, summary.baseline
    if best is None:
        out.append("No trial completed: there is no best configuration.")
        return "\n".join(out)
    out.append(f"Best: {summary.best_label}: {_metrics_text(best.metrics)}")
    if base is not None:
        out.append(f"Baseline: trial {base.number}: {_metrics_text(base.metrics)}")
    if summary.model_share:
        out.append(summary.model_share)
    out.append(f"Best configuration (A-Tune): {summary.best_line}")
    names = list(summary.best_params) or list(summary.baseline_params)
    rows = [
        [
            n,
            summary.baseline_params.get(n, "-"),
            summary.best_params.get(n, "-"),
            "" if summary.baseline_params.get(n) == summary.best_params.get(n) else "*",
        ]
        for n in names
    ]
    if rows:
        out.append(_table(rows, ["parameter", "baseline", "best", "changed"]))
    gains = [
        f"{name} {value:+.2f}% ({'higher' if summary.higher_is_better[name] else 'lower'} is better)"
        for name, value in summary.improvement.items()
        if value is not None
    ]
    if gains:
        out.append("Improvement over the baseline: " + ", ".join(gains))
    if summary.atune_improvement is not None:
        out.append(f"A-Tune's improvement rate: {summary.atune_improvement:.2f}%")
    out.append(f"Verified gain: {summary.verified_gain}")
    if summary.importances:
        for name, imp in summary.importances.items():
            shown = ", ".join(f"{k} {v:.2f}" for k, v in sorted(imp.items(), key=lambda kv: -kv[1]))
            out.append(f"Parameter importances ({name}, {summary.importance_trials} complete trials): {shown}")
    if summary.importance_note:
        out.append(f"Parameter importances: {summary.importance_note}")
    return "\n".join(out)


# --------------------------------------------------------------------------- files


def _colour(source: str, seen: dict[str, str]) -> str:
    if source not in seen:
        seen[source] = _COLOURS.get(source) or _OTHER_COLOURS[len(seen) % len(_OTHER_COLOURS)]
    return seen[source]


def history_figure(summary: Summary, index: int = 0) -> Any:
    """Objective per trial, one marker colour per proposer, with the best-so-far line."""
    import plotly.graph_objects as go

    maximize = summary.directions[index] == "maximize"
    done = [r for r in summary.rows if r.state == "COMPLETE" and r.values is not None]
    fig = go.Figure()
    seen: dict[str, str] = {}
    for source in dict.fromkeys(r.source for r in done):
        rows = [r for r in done if r.source == source]
        fig.add_trace(
            go.Scatter(
                x=[r.number for r in rows],
                y=[r.values[index] for r in rows],  # type: ignore[index]
                mode="markers",
                name=source,
                marker={"size": 10, "color": _colour(source, seen)},
                text=[r.params_text for r in rows],
                hovertemplate="trial %{x}: %{y}<br>%{text}<extra>" + source + "</extra>",
            )
        )
    best_x, best_y, current = [], [], None
    for r in done:
        value = r.values[index]  # type: ignore[index]
        if current is None or (value > current if maximize else value < current):
            current = value
        best_x.append(r.number)
        best_y.append(current)
    fig.add_trace(
        go.Scatter(x=best_x, y=best_y, mode="lines", name="best so far", line={"shape": "hv", "color": "#555555"})
    )
    failed = [r for r in summary.rows if r.state == "FAIL"]
    if failed and done:
        low = min(r.values[index] for r in done)  # type: ignore[index]
        fig.add_trace(
            go.Scatter(
                x=[r.number for r in failed],
                y=[low] * len(failed),
                mode="markers",
                name="failed",
                marker={"symbol": "x", "size": 9, "color": "#999999"},
                text=[r.fail_reason for r in failed],
                hovertemplate="trial %{x} failed: %{text}<extra></extra>",
            )
        )
    name = summary.objective_names[index]
    fig.update_layout(
        title=f"Optimization history: {name} ({'higher' if maximize else 'lower'} is better)",
        xaxis_title="trial",
        yaxis_title=name,
        template="plotly_white",
    )
    return fig


def _plots(summary: Summary, study: Study) -> tuple[list[str], str]:
    try:
        import plotly.io as pio
    except ImportError:
        return [], "plotly is not installed, so this report has no plots (pip install 'optuna-llm-sampler[report]')"
    import optuna

    figures = [history_figure(summary, i) for i in range(len(summary.objective_names))]
    notes = []
    if summary.importances:
        try:
            if len(summary.objective_names) > 1:
                figures.append(
                    optuna.visualization.plot_param_importances(
                        study,
                        evaluator=importance_evaluator(study),
                        target=lambda t: t.values[0],
                        target_name=summary.objective_names[0],
                    )
                )
            else:
                figures.append(
                    optuna.visualization.plot_param_importances(study, evaluator=importance_evaluator(study))
                )
        except (RuntimeError, ValueError, ZeroDivisionError) as exc:
            notes.append(f"no importance plot: {exc}")
    if summary.mode == "pareto" and summary.n_complete:
        try:
            figures.append(optuna.visualization.plot_pareto_front(study))
        except (RuntimeError, ValueError) as exc:
            notes.append(f"no Pareto front plot: {exc}")
    parts = [pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figures)]
    return parts, "; ".join(notes)


def _cell(text: str, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f"<td{cls}>{html.escape(text)}</td>"


def _text_cell(inner_html: str) -> str:
    """A cell of running text: it wraps between words within a capped width (a word longer
    than the cap breaks, nothing shorter does), so one long text does not widen its column
    across the page."""
    return f'<td class="text"><div>{inner_html}</div></td>' if inner_html else '<td class="text"></td>'


def _params_cell(params_text: str) -> str:
    # One parameter per line, so the column wraps instead of pushing the others off-screen.
    lines = [html.escape(p) for p in params_text.split(",") if p] if params_text else []
    return '<td class="params">' + "<br>".join(lines) + "</td>"


def _model_html(row: TrialRow) -> str:
    """The model column's text, one line each: the call (model, latency, repairs), how it vetted
    what it wrote, a pick among the base sampler's candidates, a fallback or a model error, and
    the rationale. One column rather than one each, so that a study where the model ran a few
    trials does not spend half the table's width on columns empty in every other row."""
    e = html.escape
    llm = row.llm
    parts = []
    call = [e(str(llm["model"]))] if "model" in llm else []
    if "latency_s" in llm:
        call.append(f"{llm['latency_s']:.2f} s")
    if llm.get("repairs"):
        call.append(f"{llm['repairs']} repair(s)")
    if call:
        parts.append(", ".join(call))
    if llm.get("vet"):
        parts.append(f'<span class="vet"><b>vetting:</b> {e(str(llm["vet"]))}</span>')
    elif llm.get("choice"):  # vetted trials carry the pick too: the vetting line says it
        parts.append(f"<b>chose</b> {e(str(llm['choice']))}, wrote no values")
    if llm.get("fallback"):
        parts.append(f"<b>fell back:</b> {e(str(llm['fallback']))}")
    if llm.get("error"):
        parts.append(f"<b>model error:</b> {e(str(llm['error']))}")
    if row.rationale:
        parts.append(f"<b>rationale:</b> {e(row.rationale)}")
    return "<br>".join(parts)


def _optional_columns(rows: Sequence[TrialRow]) -> list[str]:
    """The columns after the parameters that some trial has something for, in their order:
    ``restarted``, ``model`` (see :func:`_model_html`), ``failure``."""
    has = {
        "restarted": any(r.restarted is not None for r in rows),
        "model": any(_model_html(r) for r in rows),
        "failure": any(r.fail_reason for r in rows),
    }
    return [name for name, present in has.items() if present]


def _optional_cell(row: TrialRow, column: str) -> str:
    if column == "restarted":
        return _cell("" if row.restarted is None else ("yes" if row.restarted else "no"))
    if column == "model":
        return _text_cell(_model_html(row))
    return _text_cell(html.escape(row.fail_reason))


def _columns(summary: Summary) -> tuple[bool, bool, str]:
    """Which value columns add something to the metric columns, and a line saying so.

    With one evaluation the trial's value is the metric and A-Tune's objective is its signed
    copy; with several weighted ones the value is the weighted gain and A-Tune's objective its
    negation; with ``--multi-objective`` the values are the metrics and A-Tune's objective is
    the only new number. Each number is shown once.
    """
    if summary.mode == "weighted":
        return (
            True,
            False,
            ("objective: the weighted improvement over the baseline in % (A-Tune's objective is its negation)"),
        )
    if summary.mode == "pareto":
        return (
            False,
            True,
            ("the objectives are the metrics; A-Tune objective: the weighted improvement rate A-Tune would minimise"),
        )
    return False, False, "the objective is the metric itself (A-Tune minimises its signed value)"


def _html(summary: Summary, plots: list[str], note: str) -> str:
    e = html.escape
    best, base = summary.best, summary.baseline
    head = [f"<h1>A-Tune project {e(summary.project)}: study {e(summary.study_name)}</h1>"]
    css = "verified" if summary.confirm else "unverified"
    head.append(f'<p class="{css}" id="verified-gain"><b>Verified gain:</b> {e(summary.verified_gain)}</p>')
    counted = ", ".join(f"{n} {e(source)}" for source, n in summary.sources.items())
    discarded = (
        f"; {summary.n_discarded} proposal(s) discarded without running, left out" if summary.n_discarded else ""
    )
    head.append(
        f"<p>{summary.n_complete} completed, {summary.n_failed} failed trials ({counted}){discarded}; "
        f"objective {e(', '.join(f'{n} ({d})' for n, d in zip(summary.objective_names, summary.directions)))}.</p>"
    )
    if summary.model_share:
        head.append(f'<p id="model-share">{e(summary.model_share)}</p>')
    if best is not None:
        head.append(f"<p><b>Best:</b> {e(summary.best_label)}: {e(_metrics_text(best.metrics))}</p>")
        head.append(f"<p><b>Best configuration (A-Tune):</b> <code>{e(summary.best_line)}</code></p>")
    if base is not None:
        head.append(f"<p><b>Baseline:</b> trial {base.number}: {e(_metrics_text(base.metrics))}</p>")
    gains = [f"{e(n)} {v:+.2f}%" for n, v in summary.improvement.items() if v is not None]
    if gains:
        head.append(f"<p><b>Improvement over the baseline (single measurements):</b> {', '.join(gains)}</p>")
    if summary.atune_improvement is not None:
        head.append(f"<p><b>A-Tune's improvement rate:</b> {summary.atune_improvement:.2f}%</p>")
    if summary.applied:
        head.append(f"<p>Left applied at the end: {e(summary.applied)}.</p>")
    for name, imp in summary.importances.items():
        shown = ", ".join(f"{e(k)} {v:.2f}" for k, v in sorted(imp.items(), key=lambda kv: -kv[1]))
        head.append(
            f'<p id="importances"><b>Parameter importances ({e(name)}, from '
            f"{summary.importance_trials} complete trials):</b> {shown}</p>"
        )
    if summary.importance_note:
        head.append(f'<p class="caveat">Parameter importances: {e(summary.importance_note)}</p>')
    if note:
        head.append(f'<p class="note">{e(note)}</p>')
    head.append(f"<p>Open the same study: <code>{e(summary.dashboard_command)}</code></p>")

    metric_names = [n for n in summary.higher_is_better]
    show_objective, show_atune, explained = _columns(summary)
    optional = _optional_columns(summary.rows)
    header = ["trial", "state", "proposer", *metric_names]
    header += ["objective"] * show_objective + ["A-Tune objective"] * show_atune
    header += ["parameters", *optional]
    best_number = best.number if best is not None else None
    rows = []
    for r in summary.rows:
        is_best = r.number == best_number
        number = f'{r.number} <span class="badge">best</span>' if is_best else str(r.number)
        cells = [f"<td>{number}</td>", _cell(r.state), _cell(r.source)]
        cells += [_cell(_num(r.metrics.get(n)), "num") for n in metric_names]
        if show_objective:
            cells.append(_cell(", ".join(_num(v) for v in r.values) if r.values else "-", "num"))
        if show_atune:
            cells.append(_cell(_num(r.atune_objective), "num"))
        cells.append(_params_cell(r.params_text))
        cells += [_optional_cell(r, column) for column in optional]
        rows.append(('<tr class="best">' if is_best else "<tr>") + "".join(cells) + "</tr>")
    legend = f"Columns: {e(explained)}."
    if best_number is not None:
        legend += f" The highlighted row is the best trial, {e(summary.best_label)}."
    table = (
        '<table id="trials"><thead><tr>'
        + "".join(f"<th>{e(h)}</th>" for h in header)
        + "</tr></thead><tbody>"
        + "\n".join(rows)
        + "</tbody></table>"
        + f'<p class="legend">{legend}</p>'
    )
    # Words never break inside the short cells (state, proposer, numbers) and break inside the
    # running text only when one is longer than its capped width; the table is as wide as its
    # content needs, up to the page.
    style = (
        "body{font-family:sans-serif;margin:2em;} table{border-collapse:collapse;font-size:90%;}"
        "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left;"
        "white-space:nowrap;} th{background:#eee;} td.num{text-align:right;}"
        "td.params{font-family:monospace;font-size:90%;}"
        "td.text{white-space:normal;} td.text div{max-width:26em;overflow-wrap:break-word;}"
        "tr.best td{background:#fff3c4;} tr.best td:first-child{box-shadow:inset 4px 0 #d4a000;}"
        ".badge{font-size:80%;font-weight:bold;color:#7a5c00;}"
        ".note,.caveat,.unverified{color:#a60;} .verified{color:#060;}"
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>atune-bridge: {e(summary.study_name)}</title><style>{style}</style></head><body>"
        + "\n".join(head)
        + "\n"
        + "\n".join(f'<div class="plot">{p}</div>' for p in plots)
        + "\n<h2>Trials</h2>\n"
        + table
        + "\n</body></html>\n"
    )


def write_report(summary: Summary, folder: str | Path, study: Study | None = None) -> ReportFiles:
    """Write ``index.html``, ``best.txt`` and ``summary.json`` into ``folder`` (created).

    Plots need ``study`` and plotly; without either the HTML has the tables only, and
    ``ReportFiles.note`` says why.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if study is None:
        plots: list[str] = []
        note = "no study given: no plots"
    else:
        plots, note = _plots(summary, study)
    html_path = folder / "index.html"
    html_path.write_text(_html(summary, plots, note), encoding="utf-8")
    best_path = folder / "best.txt"
    best_path.write_text(summary.best_line + "\n" if summary.best_line else "", encoding="utf-8")
    summary_path = folder / "summary.json"
    data = dataclasses.asdict(summary)
    data["dashboard_command"] = summary.dashboard_command
    summary_path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    if note:
        logger.warning("report: %s", note)
    return ReportFiles(folder, html_path, best_path, summary_path, bool(plots), note)
