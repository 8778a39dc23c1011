"""The end-of-run summary and the report folder: index.html, best.txt, summary.json."""

from __future__ import annotations

import json
import re
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
    assert "Parameter importances (rps, 5 complete trials):" in text


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


# --------------------------------------------------------------------------- reading the page

def _row_of(page: str, number: int) -> str:
    start = page.index(f"<tr><td>{number}</td>")
    return page[start:page.index("</tr>", start)]


def test_the_parameters_column_wraps_one_parameter_a_line(finished: tuple[Toy, object], tmp_path: Path) -> None:
    _, result = finished
    page = write_report(summarize(result), tmp_path, result.study).html.read_text()  # type: ignore[arg-type, attr-defined]
    assert '<td class="params">workers=6<br>cache=512<br>mode=very fast<br>ratio=0.3</td>' in _row_of(page, 1)
    assert "overflow-wrap:anywhere" in page and "td.params{min-width:12em;max-width:22em" in page


def test_each_number_appears_once_in_a_row(finished: tuple[Toy, object], tmp_path: Path) -> None:
    _, result = finished
    page = write_report(summarize(result), tmp_path, result.study).html.read_text()  # type: ignore[arg-type, attr-defined]
    # One evaluation: the objective is the metric and A-Tune's objective its signed copy.
    assert _row_of(page, 1).count("1060.00") == 1
    assert "<th>objective</th>" not in page and "<th>A-Tune objective</th>" not in page
    assert "the objective is the metric itself" in page


def test_importances_say_how_many_trials_they_come_from_and_warn_below_20(
    finished: tuple[Toy, object], tmp_path: Path,
) -> None:
    _, result = finished
    summary = summarize(result)  # type: ignore[arg-type]
    assert summary.importance_trials == 5
    page = write_report(summary, tmp_path, result.study).html.read_text()  # type: ignore[attr-defined]
    assert "<b>Parameter importances (rps, from 5 complete trials):</b>" in page
    assert ('<p class="caveat">Parameter importances: computed from only 5 complete trials (fewer than 20)'
            in page)
    assert "Parameter importances (rps, 5 complete trials):" in format_summary(summary)


def test_no_caveat_from_20_complete_trials() -> None:
    from atune_bridge._runner._report import importance_caveat

    assert "fewer than 20" in importance_caveat(19) and importance_caveat(20) == ""


def test_the_verified_gain_leads_the_page(finished: tuple[Toy, object], tmp_path: Path) -> None:
    import dataclasses

    _, result = finished
    summary = summarize(result)  # type: ignore[arg-type]
    page = write_report(summary, tmp_path / "a", result.study).html.read_text()  # type: ignore[attr-defined]
    first = page.index('id="verified-gain"')
    assert first < page.index("<b>Best:</b>") < page.index("Plotly.newPlot")
    assert "<b>Verified gain:</b> not verified: the best and the baseline were each measured once" in page
    confirmed = dataclasses.replace(summary, confirm={  # the shape _confirm stores
        "n": 5, "gain_pct": 9.87, "gain_interval_pct": [-1.5, 21.0], "verdict": "within noise",
        "warning": "the gain is within the noise"})
    page = write_report(confirmed, tmp_path / "b").html.read_text()
    assert ('<p class="verified" id="verified-gain"><b>Verified gain:</b> +9.87% (95% interval -1.50% to '
            "+21.00%); within noise; from 5 re-measurements of each; warning: the gain is within the "
            "noise</p>") in page
    assert "Verified gain: +9.87%" in format_summary(confirmed)


def test_each_trial_shows_the_model_its_latency_its_error_and_why_it_fell_back(tmp_path: Path) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from optuna.samplers import TPESampler

    from atune_bridge import Runner, load_client, load_server
    from optuna_llm_sampler import AlternatingSchedule
    from optuna_llm_sampler import Choose
    from optuna_llm_sampler import LLMSampler

    best = {"workers": 6, "cache": 512, "mode": "very fast", "ratio": 0.3}
    repeated = json.dumps({"configurations": [{"params": best, "rationale": "six workers"}] * 2})
    model = FakeListChatModel(responses=[repeated, "no idea, sorry"])
    toy = copy_toy(tmp_path)
    sampler = LLMSampler(model, base_sampler=TPESampler(seed=0), model_name="fake-qwen",
                         schedule=AlternatingSchedule(),  # rounds 1-2 and 5-6
                         choose=Choose(vet_writes=False))  # unvetted: a call a round
    result = Runner(load_server(toy.server_path), load_client(toy.client_path()),
                    toy.config(n_trials=7), sampler=sampler).run()
    summary = summarize(result)
    assert [r.source for r in summary.rows] == ["baseline", "llm", *["TPESampler"] * 5]
    page = write_report(summary, tmp_path / "out", result.study).html.read_text()
    assert "<th>model</th>" in page
    assert re.search(r'<td class="llm">fake-qwen, \d+\.\d\d s, 1 repair\(s\)</td>', _row_of(page, 1))
    assert ("<b>fell back:</b> round 1-2 is asked by trial 1; the model&#x27;s reply gave 1 usable "
            "configuration(s) for 2 LLM slot(s), so none was left for this trial") in _row_of(page, 2)
    assert ("<b>model error:</b> the reply has no usable configuration: no JSON object or list found"
            in _row_of(page, 5))
    assert "<b>fell back:</b> round 5-6 is asked by trial 5, whose model call gave no proposal" in _row_of(page, 6)
    assert '<td class="llm"></td>' in _row_of(page, 3)  # a base-sampler slot: nothing to tell


def test_a_trial_the_model_chose_says_which_candidate_it_picked(tmp_path: Path) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from optuna.samplers import TPESampler

    from atune_bridge import Runner, load_client, load_server
    from optuna_llm_sampler import Choose, FirstNSchedule, LLMSampler

    model = FakeListChatModel(responses=[json.dumps({"choices": [{"candidate": 3}, {"candidate": 1}]})])
    toy = copy_toy(tmp_path)
    sampler = LLMSampler(model, base_sampler=TPESampler(seed=0), model_name="fake-qwen",
                         schedule=FirstNSchedule(2, round_size=2), choose=Choose(from_trial=0, write_when_ahead=False, vet_writes=False))
    result = Runner(load_server(toy.server_path), load_client(toy.client_path()),
                    toy.config(n_trials=4), sampler=sampler).run()
    summary = summarize(result)
    assert [r.source for r in summary.rows][:3] == ["baseline", "llm", "llm"]
    page = write_report(summary, tmp_path / "out", result.study).html.read_text()
    assert "<b>chose</b> candidate 3 of 8 drawn by TPESampler, wrote no values" in _row_of(page, 1)
    assert "<b>chose</b> candidate 1 of 8 drawn by TPESampler, wrote no values" in _row_of(page, 2)


def test_with_weighted_evaluations_only_the_weighted_gain_is_added(finished: tuple[Toy, object], tmp_path: Path) -> None:
    import dataclasses

    _, result = finished
    weighted = dataclasses.replace(summarize(result), mode="weighted")  # type: ignore[arg-type]
    page = write_report(weighted, tmp_path).html.read_text()
    assert "<th>objective</th>" in page and "<th>A-Tune objective</th>" not in page
    assert "weighted improvement over the baseline in %" in page
    pareto = dataclasses.replace(weighted, mode="pareto")
    page = write_report(pareto, tmp_path).html.read_text()
    assert "<th>objective</th>" not in page and "<th>A-Tune objective</th>" in page
