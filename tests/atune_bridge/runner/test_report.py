"""The end-of-run summary and the report folder: index.html, best.txt, summary.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from atune_bridge import format_summary, summarize, write_report
from atune_bridge._runner._report import history_figure

from toy_project import BASELINE_RPS, Toy, copy_toy, rps

BEST = {"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.3}
OTHER = {"workers": 4, "cache": 256, "mode": "fast", "ratio": 0.5}
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Toy, object]:
    """A run of 6 trials: baseline, the optimum (with a rationale holding HTML), a crash, TPE."""
    toy = copy_toy(tmp_path_factory.mktemp("report"))
    toy.runner(n_trials=1).run()
    toy.enqueue(BEST, user_attrs={"llm_rationale": SCRIPT, "source": "llm"})
    toy.enqueue({**OTHER, "workers": 1}, OTHER)
    result = toy.runner(n_trials=6).run()
    return toy, result


def test_the_summary_names_the_best_configuration_and_the_gain(finished: tuple[Toy, object]) -> None:
    _, result = finished
    summary = summarize(result)  # type: ignore[arg-type]
    assert summary.best is not None and summary.best.number == 1 and summary.best.source == "llm"
    assert summary.best_line == "workers=6,cache=512,mode=very fast,ratio=0.3"
    assert summary.baseline_params == {"workers": "2", "cache": "128", "mode": "safe", "ratio": "0.5"}
    gain = (rps(**BEST) - BASELINE_RPS) / BASELINE_RPS * 100
    assert summary.improvement["rps"] == pytest.approx(gain)
    assert summary.atune_improvement == pytest.approx(gain, abs=0.01)  # A-Tune's own formula
    assert (summary.n_complete, summary.n_failed) == (5, 1)
    assert set(summary.importances["rps"]) == {"workers", "cache", "mode", "ratio"}
    assert summary.dashboard_command == f"optuna-dashboard {result.storage}"  # type: ignore[attr-defined]


def test_the_terminal_summary_shows_the_line_the_table_and_the_gain(finished: tuple[Toy, object]) -> None:
    _, result = finished
    text = format_summary(summarize(result))  # type: ignore[arg-type]
    assert "Best: trial 1 (llm): rps=1060.00" in text
    assert "Best configuration (A-Tune): workers=6,cache=512,mode=very fast,ratio=0.3" in text
    assert "  workers    2         6          *" in text
    assert "Improvement over the baseline: rps +61.59% (higher is better)" in text
    assert "Parameter importances (rps):" in text


def test_the_report_folder_holds_html_best_and_summary(finished: tuple[Toy, object], tmp_path: Path) -> None:
    _, result = finished
    summary = summarize(result)  # type: ignore[arg-type]
    files = write_report(summary, tmp_path / "out", result.study)  # type: ignore[attr-defined]
    assert files.plots and files.note == ""
    assert files.best.read_text() == "workers=6,cache=512,mode=very fast,ratio=0.3\n"
    data = json.loads(files.summary.read_text())
    assert data["best"]["number"] == 1 and data["best_line"] == summary.best_line
    assert data["dashboard_command"].startswith("optuna-dashboard sqlite:///")
    page = files.html.read_text()
    assert "plotly" in page.lower() and "Optimization history" in page
    assert page.count("<tr><td>") == 6  # one row per trial
    assert "<td>llm</td>" in page and "<td>TPESampler</td>" in page and "<td>baseline</td>" in page
    assert SCRIPT not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "toy: service crashed with one worker" in page  # the failed trial's reason


def test_without_plotly_the_report_has_tables_and_says_why(
    finished: tuple[Toy, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, result = finished
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.io", None)
    files = write_report(summarize(result), tmp_path, result.study)  # type: ignore[arg-type, attr-defined]
    assert not files.plots and "plotly is not installed" in files.note
    page = files.html.read_text()
    assert "plotly is not installed" in page and page.count("<tr><td>") == 6
    assert "Plotly.newPlot" not in page


def test_without_scikit_learn_importances_come_from_ped_anova(
    finished: tuple[Toy, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    _, result = finished
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real_find_spec(name, *a))
    monkeypatch.setitem(sys.modules, "sklearn", None)  # fANOVA would fail to import it
    summary = summarize(result)  # type: ignore[arg-type]
    assert summary.importances and set(next(iter(summary.importances.values()))) <= {"workers", "cache", "mode", "ratio"}
    files = write_report(summary, tmp_path, result.study)  # type: ignore[attr-defined]
    assert files.plots and "no importance plot" not in files.note
    assert files.html.read_text().count("Plotly.newPlot") >= 2


def test_the_history_figure_tells_proposers_apart_and_tracks_the_best(finished: tuple[Toy, object]) -> None:
    _, result = finished
    fig = history_figure(summarize(result))  # type: ignore[arg-type]
    names = [trace.name for trace in fig.data]
    assert names[:4] == ["baseline", "llm", "enqueued", "TPESampler"] and "best so far" in names
    colours = {trace.name: trace.marker.color for trace in fig.data if trace.mode == "markers"}
    assert len({colours[n] for n in names[:4]}) == 4
    best = next(trace for trace in fig.data if trace.name == "best so far")
    assert list(best.y)[0] == BASELINE_RPS and max(best.y) == rps(**BEST)
    assert list(best.y) == sorted(best.y)  # maximised: never goes down


def test_importances_are_skipped_for_a_small_study(tmp_path: Path) -> None:
    toy = copy_toy(tmp_path)
    result = toy.runner(n_trials=2).run()
    summary = summarize(result)
    assert summary.importances == {}
    assert summary.importance_note == "parameter importances need at least 3 completed trials; this study has 2"
    files = write_report(summary, tmp_path / "out", result.study)
    assert files.plots and "at least 3 completed trials" in files.html.read_text()
