"""The end of a run: the best configuration, the gain over the baseline, and an HTML report.

:func:`summarize` reads a finished :class:`~atune_bridge.RunResult` into a :class:`Summary`;
:func:`format_summary` prints it for a terminal; :func:`write_report` writes, into one
folder, ``index.html`` (plots when plotly is installed, and a table of every trial with who
proposed it and why), ``best.txt`` (A-Tune's ``name=value,...`` line of the best
configuration) and ``summary.json``.

The best trial: the best objective value (ties go to the earlier trial); with several
objectives (``--multi-objective``), the Pareto-optimal trial with the best A-Tune weighted
objective.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

from atune_bridge._format import Scoring, importance_evaluator, improve_rate_text

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from atune_bridge._runner._records import RunResult

logger = logging.getLogger(__name__)

_RATIONALE_KEYS = ("llm_rationale", "rationale")
_SOURCE_KEY = "source"
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

    @property
    def dashboard_command(self) -> str:
        return f"optuna-dashboard {self.storage}"


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


def best_trial(study: Study, scoring: Scoring) -> FrozenTrial | None:
    """The best complete trial (see the module doc), or None before any completes."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values]
    if not complete:
        return None
    if scoring.mode == "pareto":
        front = _pareto_front(complete, scoring.directions)

        def key(t: FrozenTrial) -> tuple[float, int]:
            objective = _finite(t.user_attrs.get("atune_objective"))
            return (objective if objective is not None else math.inf, t.number)

        return min(front, key=key)
    sign = -1.0 if scoring.directions[0] == "maximize" else 1.0
    return min(complete, key=lambda t: (sign * t.values[0], t.number))


def _pareto_front(trials: Sequence[FrozenTrial], directions: Sequence[str]) -> list[FrozenTrial]:
    signs = [-1.0 if d == "maximize" else 1.0 for d in directions]
    keyed = [(t, [s * v for s, v in zip(signs, t.values)]) for t in trials]

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    return [t for t, k in keyed if not any(dominates(o, k) for _, o in keyed)]


def _row(trial: FrozenTrial) -> TrialRow:
    attrs = trial.user_attrs
    rationale = next((str(attrs[k]) for k in _RATIONALE_KEYS if attrs.get(k)), "")
    return TrialRow(
        number=trial.number,
        state=trial.state.name,
        source=str(attrs.get(_SOURCE_KEY, "?")),
        metrics={k: float(v) for k, v in (attrs.get("metrics") or {}).items()},
        values=tuple(trial.values) if trial.values is not None else None,
        atune_objective=_finite(attrs.get("atune_objective")),
        params_text=str(attrs.get("params_text") or ",".join(f"{k}={v}" for k, v in trial.params.items())),
        rationale=rationale,
        fail_reason=str(attrs.get("fail_reason") or ""),
        restarted=attrs.get("restarted"),
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
    return out, "; ".join(notes)


def summarize(result: RunResult) -> Summary:
    """The summary of a run: baseline, best, gain, importances and every trial."""
    study = result.study
    scoring = result.scoring
    trials = study.get_trials(deepcopy=False)
    rows = [_row(t) for t in trials]
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    baseline_trial = next(
        (t for t in complete if t.user_attrs.get(_SOURCE_KEY) == "baseline" and t.user_attrs.get("metrics")),
        None,
    )
    best = best_trial(study, scoring)
    baseline_row = _row(baseline_trial) if baseline_trial is not None else None
    best_row = _row(best) if best is not None else None

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

    importances, note = _importances(study, scoring, len(complete))
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
        importances=importances,
        importance_note=note,
        rows=rows,
        applied=result.applied,
        interrupted=result.interrupted,
    )


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
    out.append(f"Best: trial {best.number} ({best.source}): {_metrics_text(best.metrics)}")
    if base is not None:
        out.append(f"Baseline: trial {base.number}: {_metrics_text(base.metrics)}")
    out.append(f"Best configuration (A-Tune): {summary.best_line}")
    names = list(summary.best_params) or list(summary.baseline_params)
    rows = [[n, summary.baseline_params.get(n, "-"), summary.best_params.get(n, "-"),
             "" if summary.baseline_params.get(n) == summary.best_params.get(n) else "*"] for n in names]
    if rows:
        out.append(_table(rows, ["parameter", "baseline", "best", "changed"]))
    gains = [
        f"{name} {value:+.2f}% ({'higher' if summary.higher_is_better[name] else 'lower'} is better)"
        for name, value in summary.improvement.items() if value is not None
    ]
    if gains:
        out.append("Improvement over the baseline: " + ", ".join(gains))
    if summary.atune_improvement is not None:
        out.append(f"A-Tune's improvement rate: {summary.atune_improvement:.2f}%")
    if summary.importances:
        for name, imp in summary.importances.items():
            shown = ", ".join(f"{k} {v:.2f}" for k, v in sorted(imp.items(), key=lambda kv: -kv[1]))
            out.append(f"Parameter importances ({name}): {shown}")
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
        fig.add_trace(go.Scatter(
            x=[r.number for r in rows], y=[r.values[index] for r in rows],  # type: ignore[index]
            mode="markers", name=source, marker={"size": 10, "color": _colour(source, seen)},
            text=[r.params_text for r in rows], hovertemplate="trial %{x}: %{y}<br>%{text}<extra>" + source + "</extra>",
        ))
    best_x, best_y, current = [], [], None
    for r in done:
        value = r.values[index]  # type: ignore[index]
        if current is None or (value > current if maximize else value < current):
            current = value
        best_x.append(r.number)
        best_y.append(current)
    fig.add_trace(go.Scatter(x=best_x, y=best_y, mode="lines", name="best so far",
                             line={"shape": "hv", "color": "#555555"}))
    failed = [r for r in summary.rows if r.state == "FAIL"]
    if failed and done:
        low = min(r.values[index] for r in done)  # type: ignore[index]
        fig.add_trace(go.Scatter(
            x=[r.number for r in failed], y=[low] * len(failed), mode="markers", name="failed",
            marker={"symbol": "x", "size": 9, "color": "#999999"},
            text=[r.fail_reason for r in failed], hovertemplate="trial %{x} failed: %{text}<extra></extra>",
        ))
    name = summary.objective_names[index]
    fig.update_layout(
        title=f"Optimization history: {name} ({'higher' if maximize else 'lower'} is better)",
        xaxis_title="trial", yaxis_title=name, template="plotly_white",
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
                figures.append(optuna.visualization.plot_param_importances(
                    study, evaluator=importance_evaluator(study),
                    target=lambda t: t.values[0], target_name=summary.objective_names[0]))
            else:
                figures.append(optuna.visualization.plot_param_importances(
                    study, evaluator=importance_evaluator(study)))
        except (RuntimeError, ValueError, ZeroDivisionError) as exc:
            notes.append(f"no importance plot: {exc}")
    if summary.mode == "pareto" and summary.n_complete:
        try:
            figures.append(optuna.visualization.plot_pareto_front(study))
        except (RuntimeError, ValueError) as exc:
            notes.append(f"no Pareto front plot: {exc}")
    parts = [pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figures)]
    return parts, "; ".join(notes)


def _html(summary: Summary, plots: list[str], note: str) -> str:
    e = html.escape
    best, base = summary.best, summary.baseline
    head = [f"<h1>A-Tune project {e(summary.project)}: study {e(summary.study_name)}</h1>"]
    head.append(
        f"<p>{summary.n_complete} completed, {summary.n_failed} failed trials; objective "
        f"{e(', '.join(f'{n} ({d})' for n, d in zip(summary.objective_names, summary.directions)))}.</p>"
    )
    if best is not None:
        head.append(f"<p><b>Best:</b> trial {best.number} ({e(best.source)}): {e(_metrics_text(best.metrics))}</p>")
        head.append(f"<p><b>Best configuration (A-Tune):</b> <code>{e(summary.best_line)}</code></p>")
    if base is not None:
        head.append(f"<p><b>Baseline:</b> trial {base.number}: {e(_metrics_text(base.metrics))}</p>")
    gains = [f"{e(n)} {v:+.2f}%" for n, v in summary.improvement.items() if v is not None]
    if gains:
        head.append(f"<p><b>Improvement over the baseline:</b> {', '.join(gains)}</p>")
    if summary.atune_improvement is not None:
        head.append(f"<p><b>A-Tune's improvement rate:</b> {summary.atune_improvement:.2f}%</p>")
    if summary.applied:
        head.append(f"<p>Left applied at the end: {e(summary.applied)}.</p>")
    for name, imp in summary.importances.items():
        shown = ", ".join(f"{e(k)} {v:.2f}" for k, v in sorted(imp.items(), key=lambda kv: -kv[1]))
        head.append(f"<p><b>Parameter importances ({e(name)}):</b> {shown}</p>")
    if summary.importance_note:
        head.append(f"<p>Parameter importances: {e(summary.importance_note)}</p>")
    if note:
        head.append(f'<p class="note">{e(note)}</p>')
    head.append(f"<p>Open the same study: <code>{e(summary.dashboard_command)}</code></p>")

    metric_names = [n for n in summary.higher_is_better]
    header = ["trial", "state", "proposer", *metric_names, "objective", "A-Tune objective",
              "restarted", "parameters", "rationale", "failure"]
    rows = []
    for r in summary.rows:
        cells = [str(r.number), r.state, r.source]
        cells += [_num(r.metrics.get(n)) for n in metric_names]
        cells += [", ".join(_num(v) for v in r.values) if r.values else "-", _num(r.atune_objective),
                  "" if r.restarted is None else ("yes" if r.restarted else "no"),
                  r.params_text, r.rationale, r.fail_reason]
        rows.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    table = (
        '<table id="trials"><thead><tr>' + "".join(f"<th>{e(h)}</th>" for h in header)
        + "</tr></thead><tbody>" + "\n".join(rows) + "</tbody></table>"
    )
    style = (
        "body{font-family:sans-serif;margin:2em;} table{border-collapse:collapse;font-size:90%;}"
        "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;} th{background:#eee;}"
        ".note{color:#a60;}"
    )
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
        f"<title>atune-bridge: {e(summary.study_name)}</title><style>{style}</style></head><body>"
        + "\n".join(head) + "\n" + "\n".join(f"<div>{p}</div>" for p in plots)
        + "\n<h2>Trials</h2>\n" + table + "\n</body></html>\n"
    )


def write_report(summary: Summary, folder: str | Path, study: Study | None = None) -> ReportFiles:
    """Write ``index.html``, ``best.txt`` and ``summary.json`` into ``folder`` (created).

    Plots need ``study`` and plotly; without either the HTML has the tables only, and
    ``ReportFiles.note`` says why.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if study is None:
        plots, note = [], "no study given: no plots"
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
