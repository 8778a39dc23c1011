"""From runs to evidence: best-so-far curves, mean ± standard error, ranks, the table and the plot."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optbench.peers import peer_label
from optbench.protocol import RunRecord

CHECKPOINTS = (5, 10, 20, 30)

#: how an arm is shown wherever it appears: stand-ins are named as such
STAND_IN = {
    "llm:random": "llm:random (stand-in, not a model)",
    "llm:expert": "llm:expert (scripted advice, not a model)",
}


def label(arm: str) -> str:
    """How ``arm`` is shown: a stand-in says so after its options (``llm:random+adaptive (stand-in, ...)``),
    another library's optimiser names its version (``hebo (HEBO 0.3.6)``)."""
    base = arm.partition("+")[0]
    if base in STAND_IN:
        return arm + STAND_IN[base][len(base):]
    return peer_label(arm) or arm


def best_so_far(values: Sequence[float | None], maximize: bool) -> list[float | None]:
    out: list[float | None] = []
    best: float | None = None
    for v in values:
        if v is not None and (best is None or (v > best if maximize else v < best)):
            best = v
        out.append(best)
    return out


def incumbent_curve(run: RunRecord, maximize: bool) -> list[float | None]:
    """The true value of the configuration a user would pick after each trial.

    The incumbent is the best *observed* configuration so far; its value is the noise-free
    one where the problem has it (a surface's surrogate mean), so a lucky noise draw does not
    count as progress. Without noise-free values (the live nginx) it is the observed best.
    """
    if any(m is None for m, v in zip(run.means, run.values) if v is not None) or not run.means:
        return best_so_far(run.values, maximize)
    out: list[float | None] = []
    best: float | None = None
    truth: float | None = None
    for v, m in zip(run.values, run.means):
        if v is not None and (best is None or (v > best if maximize else v < best)):
            best, truth = v, m
        out.append(truth)
    return out


def mean_se(xs: Sequence[float]) -> tuple[float, float]:
    if not xs:
        return float("nan"), float("nan")
    if len(xs) == 1:
        return float(xs[0]), float("nan")
    return statistics.fmean(xs), statistics.stdev(xs) / math.sqrt(len(xs))


def reached(value: float | None, target: float, baseline: float, maximize: bool) -> bool:
    """Whether ``value`` reaches the 95% target (see :func:`target_of`)."""
    if value is None:
        return False
    return value >= target if maximize else value <= target


def target_of(best_known: float, baseline: float, maximize: bool, share: float = 0.95) -> float:
    """``share`` (95%) of the best known value: literally for positive maximised metrics
    (requests/s), else that share of the way from the baseline to the best known value."""
    if maximize and best_known > 0 and baseline >= 0:
        return share * best_known
    return baseline + share * (best_known - baseline)


def first_reaching(curve: Sequence[float | None], target: float, baseline: float,
                   maximize: bool) -> int | None:
    """How many trials (the baseline included) a run's incumbent curve took to reach ``target``."""
    return next((i + 1 for i, v in enumerate(curve) if reached(v, target, baseline, maximize)), None)


def censored(hits: Sequence[int | None], trials: int) -> list[int]:
    """:func:`first_reaching` counts with a run that never reached the target as ``trials + 1``."""
    return [h if h is not None else trials + 1 for h in hits]


@dataclass
class ArmSummary:
    arm: str
    runs: int
    at: dict[int, tuple[float, float]]
    gain_pct: tuple[float, float]
    rank: float
    to_target: tuple[float, float]
    reached: int
    objective_s: float
    sampler_s: float
    model_s: float
    model_calls: float
    model_failures: int
    curve: list[tuple[float, float]]


def summarize(runs: Sequence[RunRecord], maximize: bool, best_known: float, baseline: float, *,
              gap: bool = False) -> list[ArmSummary]:
    """One :class:`ArmSummary` per arm, in the order the arms first appear in ``runs``.

    ``gap``: report the gain as the percentage of the way from the baseline to the best known
    value (for problems whose values cross zero) instead of the percentage over the baseline.
    """
    arms = list(dict.fromkeys(r.arm for r in runs))
    by_arm = {a: sorted((r for r in runs if r.arm == a), key=lambda r: r.seed) for a in arms}
    trials = max(r.trials for r in runs)
    target = target_of(best_known, baseline, maximize)
    ranks = _ranks(by_arm, maximize)
    out = []
    for arm, rs in by_arm.items():
        curves = [incumbent_curve(r, maximize) for r in rs]
        at = {}
        for k in [c for c in CHECKPOINTS if c <= trials] + ([trials] if trials not in CHECKPOINTS else []):
            at[k] = mean_se([c[k - 1] for c in curves if c[k - 1] is not None])
        gains = []
        for r, c in zip(rs, curves):
            base, final = c[0], c[-1]
            if base is None or final is None:
                continue
            if gap and abs(best_known - base) > 1e-12:
                gains.append(100.0 * (final - base) / (best_known - base))
            elif not gap and abs(base) > 1e-12:
                gains.append(100.0 * (final - base) / abs(base) * (1 if maximize else -1))
        hits = [first_reaching(c, target, baseline, maximize) for c in curves]
        counted = censored(hits, trials)
        curve = []
        for i in range(trials):
            curve.append(mean_se([c[i] for c in curves if c[i] is not None]))
        out.append(ArmSummary(
            arm=arm, runs=len(rs), at=at, gain_pct=mean_se(gains), rank=ranks.get(arm, float("nan")),
            to_target=mean_se(counted), reached=sum(h is not None for h in hits),
            objective_s=statistics.fmean(r.objective_s for r in rs),
            sampler_s=statistics.fmean(r.sampler_s for r in rs),
            model_s=statistics.fmean(r.model_s for r in rs),
            model_calls=statistics.fmean(r.model_calls for r in rs),
            model_failures=sum(r.model_failures for r in rs),
            curve=curve,
        ))
    return out


def _ranks(by_arm: Mapping[str, Sequence[RunRecord]], maximize: bool) -> dict[str, float]:
    """Average rank of each arm's final best over the seeds every arm ran (1 is best, ties shared)."""
    seeds = set.intersection(*(set(r.seed for r in rs) for rs in by_arm.values())) if by_arm else set()
    totals = {a: 0.0 for a in by_arm}
    for seed in seeds:
        finals = {}
        for arm, rs in by_arm.items():
            run = next(r for r in rs if r.seed == seed)
            final = incumbent_curve(run, maximize)[-1]
            finals[arm] = final if final is not None else (-math.inf if maximize else math.inf)
        ordered = sorted(finals.values(), reverse=maximize)
        for arm, v in finals.items():
            positions = [i + 1 for i, w in enumerate(ordered) if w == v]
            totals[arm] += statistics.fmean(positions)
    return {a: totals[a] / len(seeds) for a in by_arm} if seeds else {}


def _num(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _pm(pair: tuple[float, float], digits: int = 4) -> str:
    m, se = pair
    return f"{_num(m, digits)} ± {_num(se, 2)}"


def _table_start(caption: str, head: Sequence[str]) -> list[str]:
    """A caption, a blank line and a Markdown table's header rows."""
    return [caption, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]


def markdown_table(problem: str, summaries: Sequence[ArmSummary], trials: int, best_known: float,
                   baseline: float, maximize: bool, *, gap: bool = False) -> str:
    checkpoints = list(summaries[0].at) if summaries else []
    head = ["arm", "seeds", *[f"best@{k}" for k in checkpoints], "% of gap closed" if gap else "gain vs baseline %", "avg rank",
            "trials to 95%", "objective s", "sampler s", "model s (calls)"]
    lines = _table_start(
        f"**{problem}**: {'maximise' if maximize else 'minimise'}; baseline {_num(baseline)}, best known "
        f"{_num(best_known)}, 95% target {_num(target_of(best_known, baseline, maximize))}; {trials} trials per run "
        "(trial 0 is the baseline); mean ± standard error over seeds.", head)
    for s in summaries:
        row = [label(s.arm), str(s.runs), *[_pm(s.at[k]) for k in checkpoints], _pm(s.gain_pct, 3),
               _num(s.rank, 3), f"{_pm(s.to_target, 3)} ({s.reached}/{s.runs})",
               f"{s.objective_s:.3f}", f"{s.sampler_s:.2f}",
               f"{s.model_s:.1f} ({s.model_calls:.0f})" + (f", {s.model_failures} failed" if s.model_failures else "")]
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "best@k: the value of the best configuration observed in the first k trials (its noise-free value "
        "where the problem has one, so lucky noise is not progress); "
        + ("% of gap closed: how far the final best got from the baseline towards the best known value; "
           if gap else "gain: of the final best over the run's own baseline measurement; ")
        + "best known: the best (noise-free where known) value of any configuration any run of any arm tried; avg rank: of the final best among the arms, over the seeds all "
        f"arms ran (1 is best); trials to 95%: first trial reaching the target, runs that never did counted as "
        f"{trials + 1}, with how many reached it; times are per run, the sampler's without the model's.",
    ]
    return "\n".join(lines)


Curves = dict[str, dict[int, list[float | None]]]
"""Best-so-far curves by arm, then by seed."""


def curves_by_arm(runs: Sequence[RunRecord], maximize: bool,
                  curve: Callable[[RunRecord, bool], list[float | None]] = incumbent_curve) -> Curves:
    """Each run's ``curve`` (:func:`incumbent_curve` unless told), by arm and seed."""
    curves: Curves = {}
    for r in runs:
        curves.setdefault(r.arm, {})[r.seed] = curve(r, maximize)
    return curves


def paired_differences(runs: Sequence[RunRecord], reference: str,
                       maximize: bool) -> dict[str, list[tuple[float, float]]]:
    """Per arm, per trial: the paired difference to ``reference`` (positive: better), mean ± SE.

    Over the seeds both arms ran: the same seed gives both arms the same problem noise and the
    same base-sampler seed. Entry ``k - 1`` is best@k's difference.
    """
    return paired_curves(curves_by_arm(runs, maximize), reference, maximize)


def paired_curves(curves: Mapping[str, Mapping[int, Sequence[float | None]]], reference: str,
                  maximize: bool) -> dict[str, list[tuple[float, float]]]:
    """:func:`paired_differences` of curves already drawn (:func:`curves_by_arm`)."""
    sign = 1.0 if maximize else -1.0
    ref = curves.get(reference, {})
    out: dict[str, list[tuple[float, float]]] = {}
    for arm, by_seed in curves.items():
        if arm == reference:
            continue
        length = min((len(c) for c in by_seed.values()), default=0)
        out[arm] = [
            mean_se([sign * (c[i] - ref[seed][i]) for seed, c in by_seed.items()
                     if seed in ref and i < len(ref[seed])
                     and c[i] is not None and ref[seed][i] is not None])
            for i in range(length)
        ]
    return out


def _at(by_seed: Mapping[int, Sequence[float | None]], k: int, seeds: set[int]) -> list[float]:
    """best@``k`` of the runs of ``seeds``."""
    return [c[k - 1] for seed, c in by_seed.items() if seed in seeds and k - 1 < len(c) and c[k - 1] is not None]


def _set_against(curves: Curves, arm: str, bar: str, k: int, sign: float) -> tuple[float, tuple[float, float], int]:
    """``arm`` against ``bar`` at best@``k`` on the seeds both ran (positive: better): the
    difference of the means in ``bar``'s standard errors, the paired difference (mean ± SE),
    and how many seeds it is over."""
    seeds = set(curves[arm]) & set(curves[bar])
    m, _ = mean_se(_at(curves[arm], k, seeds))
    bm, bse = mean_se(_at(curves[bar], k, seeds))
    units = sign * (m - bm) / bse + 0.0 if bse and bse > 0 else float("nan")  # + 0.0: no "-0.0"
    diffs = [sign * (curves[arm][seed][k - 1] - curves[bar][seed][k - 1]) for seed in sorted(seeds)
             if k - 1 < len(curves[arm][seed]) and k - 1 < len(curves[bar][seed])
             and curves[arm][seed][k - 1] is not None and curves[bar][seed][k - 1] is not None]
    return units, mean_se(diffs), len(diffs)


def against_reference(runs: Sequence[RunRecord], summaries: Sequence[ArmSummary], reference: str,
                      maximize: bool) -> str:
    """Each arm against ``reference`` at each checkpoint, positive meaning better, two ways.

    First in the reference's standard errors (the unit of the decision rule in
    ``docs/evidence.md``: ✗ marks worse by more than one), then as the paired difference over the seeds both arms ran, mean ± standard
    error (:func:`paired_differences`), the figure that says whether a gap is more than
    noise. Two arms drawing from one distribution fall more than one of the reference's
    standard errors apart at a checkpoint about one time in four.
    """
    by = {s.arm: s for s in summaries}
    if reference not in by:
        return ""
    sign = 1.0 if maximize else -1.0
    curves = curves_by_arm(runs, maximize)
    checkpoints = list(by[reference].at)
    head = ["arm", *[f"@{k}" for k in checkpoints]]
    lines = _table_start(
        f"Against `{reference}` at each checkpoint (positive: better): the difference of the means in "
        f"`{reference}`'s standard errors (✗: worse by more than one), then the paired difference over "
        "the seeds both ran, mean ± standard error.", head)
    for s in summaries:
        if s.arm == reference:
            continue
        cells = []
        for k in checkpoints:
            # An arm run on fewer seeds (--seeds-for) is set against the reference on those.
            units, (pm, pse), _ = _set_against(curves, s.arm, reference, k, sign)
            mark = " ✗" if units < -1 else ""
            cells.append(f"{units:+.1f}{mark} ({_num(pm, 3)} ± {_num(pse, 2)})")
        lines.append("| " + " | ".join([label(s.arm), *cells]) + " |")
    return "\n".join(lines)


def against_peers(runs: Sequence[RunRecord], summaries: Sequence[ArmSummary], peers: Sequence[str],
                  maximize: bool) -> str:
    """Every other arm against each of the field's optimisers at each checkpoint: the peer it is
    furthest behind.

    Each arm that is not a peer is set against every peer present on the seeds both ran (the
    difference of the means in that peer's standard errors); the cell names the peer with the
    lowest, then gives the paired difference to it, mean ± standard error. ✗ marks behind by more
    than one: the bar a default has to clear against every peer, not only against the one with
    the best mean (which, on fewer seeds than the others, is not always the hardest to be level
    with). Empty without a peer.
    """
    by = {s.arm: s for s in summaries}
    present = [p for p in peers if p in by]
    if not present:
        return ""
    sign = 1.0 if maximize else -1.0
    curves = curves_by_arm(runs, maximize)
    checkpoints = list(by[present[0]].at)
    head = ["arm", *[f"@{k}" for k in checkpoints]]
    lines = _table_start(
        "Against each of the field's optimisers at each checkpoint, the peer the arm is furthest behind "
        "(positive: better): the difference of the means in that peer's standard errors over the seeds "
        "both ran (✗: behind by more than one), then the paired difference, mean ± standard error.",
        head)
    for s in summaries:
        if s.arm in present:
            continue
        cells = []
        for k in checkpoints:
            against = {peer: _set_against(curves, s.arm, peer, k, sign) for peer in present}
            peer = min(present, key=lambda p: (math.inf if math.isnan(against[p][0]) else against[p][0]))
            units, (dm, dse), n = against[peer]
            mark = " ✗" if units < -1 else ""
            cells.append(f"{units:+.1f}{mark} `{peer}` ({_num(dm, 3)} ± {_num(dse, 2)}, {n} seeds)")
        lines.append("| " + " | ".join([label(s.arm), *cells]) + " |")
    return "\n".join(lines)


LEVELS = (0.7, 0.8, 0.9, 0.95)
"""Shares of the best known value :func:`trials_to_levels` reports (the decision rule's good-advice
criterion names 95%)."""


def trials_to_levels(runs: Sequence[RunRecord], trials: int, best_known: float, baseline: float,
                     maximize: bool, reference: str = "tpe",
                     levels: Sequence[float] = LEVELS) -> str:
    """Trials each arm took to reach several shares of the best known value, against ``reference``.

    The decision rule's good-advice criterion asks good advice to reach 95% of the best known
    value in at most half of TPE's trials. Where almost no run reaches 95%, that one share says nothing; the
    lower ones say how far ahead, and for how long, an arm's start keeps it. Per arm and
    share: the mean number of trials (the baseline included; a run that never reached it
    counts as ``trials + 1``, so a mean over runs that mostly did not is a lower bound),
    its standard error, the median, how many runs reached it, and the ratio of the mean to
    the reference's. Empty without the reference arm.
    """
    by_arm: dict[str, list[RunRecord]] = {}
    for r in runs:
        by_arm.setdefault(r.arm, []).append(r)
    if reference not in by_arm:
        return ""
    counts: dict[str, dict[float, list[int | None]]] = {}
    for arm, rs in by_arm.items():
        curves = [incumbent_curve(r, maximize) for r in rs]
        counts[arm] = {
            share: [first_reaching(c, target_of(best_known, baseline, maximize, share), baseline, maximize)
                    for c in curves]
            for share in levels
        }

    head = ["arm", *[f"{share:.0%} ({_num(target_of(best_known, baseline, maximize, share))})"
                     for share in levels]]
    lines = _table_start(
        f"Trials to reach a share of the best known value: mean ± standard error, median, runs that "
        f"reached it, and the mean as a multiple of `{reference}`'s (runs that never reached it count "
        f"as {trials + 1}: where few did, the mean is a lower bound).", head)
    ref_means = {share: mean_se(censored(counts[reference][share], trials))[0] for share in levels}
    for arm, by_share in counts.items():
        cells = []
        for share in levels:
            hits = by_share[share]
            xs = censored(hits, trials)
            mean, se = mean_se(xs)
            ref_mean = ref_means[share]
            ratio = "" if arm == reference else f", ×{mean / ref_mean:.2f}"
            cells.append(f"{_num(mean, 3)} ± {_num(se, 2)}, median {_num(statistics.median(xs), 3)}, "
                         f"{sum(h is not None for h in hits)}/{len(hits)}{ratio}")
        lines.append("| " + " | ".join([label(arm), *cells]) + " |")
    return "\n".join(lines)


STARTUP = 10
"""TPE's random start-up trials (``n_startup_trials``): trials 1-9 follow the baseline."""


def trial_values_by_source(runs: Sequence[RunRecord], *, split: int = STARTUP) -> list[tuple[str, str, str, list[float]]]:
    """Each arm's trials grouped by who proposed them and when: (arm, window, source, values).

    The windows are the start-up (trials 1 to ``split - 1``) and the rest; the baseline is
    left out. A value is the trial's noise-free value where the problem has one, else what
    was observed; failed trials (no value) are left out. The model's own trials are the
    source ``llm``; every other source is the arm's base sampler.
    """
    windows = (f"trials 1-{split - 1}", f"trials {split}+")
    groups: dict[tuple[str, str, str], list[float]] = {}
    for r in runs:
        for i, (source, value, mean) in enumerate(zip(r.sources, r.values, r.means)):
            if i == 0 or source == "baseline" or value is None:
                continue
            who = "model" if source == "llm" else "base sampler"
            groups.setdefault((r.arm, windows[i >= split], who), []).append(mean if mean is not None else value)
    return [(arm, window, who, xs) for (arm, window, who), xs in groups.items()]


def by_source_table(runs: Sequence[RunRecord], *, split: int = STARTUP) -> str:
    """Whose trials were worth what: per arm and window, the mean value of the model's trials and of
    the base sampler's, with how many there were. Empty when no arm has a model trial.

    The convergence tables say whether an arm ends ahead; this one says why: a model whose
    trials are worth less than the random draws they replace in the start-up costs best@10.
    """
    groups = trial_values_by_source(runs, split=split)
    with_model = {arm for arm, _, who, _ in groups if who == "model"}
    if not with_model:
        return ""
    cell = {(arm, window, who): xs for arm, window, who, xs in groups}
    windows = (f"trials 1-{split - 1}", f"trials {split}+")
    head = ["arm", *[f"{w}: {who}" for w in windows for who in ("model", "base sampler")]]
    lines = _table_start(
        "Whose trials were worth what: the mean value (noise-free where known) of each arm's trials by who "
        "proposed them, mean ± standard error (number of trials). In the start-up TPE's trials are random draws.",
        head)
    order = list(dict.fromkeys(r.arm for r in runs))
    for arm in order:
        if arm not in with_model and arm != "tpe":
            continue
        cells = []
        for w in windows:
            for who in ("model", "base sampler"):
                xs = cell.get((arm, w, who), [])
                cells.append(f"{_pm(mean_se(xs))} ({len(xs)})" if xs else "–")
        lines.append("| " + " | ".join([label(arm), *cells]) + " |")
    return "\n".join(lines)


def chosen_and_written(runs: Sequence[RunRecord], *, split: int = STARTUP) -> str:
    """Of each arm's model trials from trial ``split`` on, those it chose among the base sampler's
    candidates and those it wrote: how many, and their mean value ± standard error. Empty when no
    run recorded a chosen trial (runs recorded before :attr:`RunRecord.chosen` was kept)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for r in runs:
        for i, (source, value, mean) in enumerate(zip(r.sources, r.values, r.means)):
            if i >= split and source == "llm" and value is not None:
                how = "chose" if i in r.chosen else "wrote"
                groups.setdefault((r.arm, how), []).append(mean if mean is not None else value)
    if not any(how == "chose" for _, how in groups):
        return ""
    lines = []
    for arm in dict.fromkeys(arm for arm, _ in groups):
        parts = [f"{how} {len(xs)} worth {_pm(mean_se(xs))}"
                 for how in ("chose", "wrote") if (xs := groups.get((arm, how)))]
        lines.append(f"- {label(arm)}: " + "; ".join(parts))
    return (f"Of the model's trials from trial {split} on, those it chose among the base sampler's "
            "candidates and those it wrote (mean value ± standard error):\n\n" + "\n".join(lines))


def plot_against(path: Path, problem: str, runs: Sequence[RunRecord], reference: str,
                 maximize: bool) -> None:
    """Each arm's paired difference to ``reference`` per trial, mean ± one standard error.

    Curves of mean best-so-far lie on top of each other when arms differ by a fraction of a
    percent; this plot shows the gap itself, and whether zero lies inside its band.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    seeds = {r.arm: 0 for r in runs}
    for r in runs:
        seeds[r.arm] += 1
    for arm, points in paired_differences(runs, reference, maximize).items():
        _band(ax, arm, points, seeds[arm])
    ax.axhline(0.0, color="grey", linewidth=0.8, label=reference)
    ax.set_title(f"{problem}: paired difference to {reference}")
    _finish(fig, [ax], path, f"best so far minus {reference}'s (above 0: better)")


def _band(ax: Any, arm: str, points: Sequence[tuple[float, float]], n: int) -> None:
    """One arm's mean per trial with a band of ± one standard error; stand-ins dashed."""
    xs = [i for i, (m, _) in enumerate(points) if not math.isnan(m)]
    means = [points[i][0] for i in xs]
    ses = [0.0 if math.isnan(points[i][1]) else points[i][1] for i in xs]
    line, = ax.plot(xs, means, label=f"{label(arm)} (n={n})",
                    linestyle="--" if arm.partition("+")[0] in STAND_IN else "-")
    ax.fill_between(xs, [m - e for m, e in zip(means, ses)], [m + e for m, e in zip(means, ses)],
                    color=line.get_color(), alpha=0.18)


def _finish(fig: Any, axes: Sequence[Any], path: Path, ylabel: str | None = None) -> None:
    """Axis labels, grid and legend on each panel, then the figure saved to ``path`` and closed."""
    import matplotlib.pyplot as plt

    for ax in axes:
        ax.set_xlabel("trial (0 = baseline)")
        if ylabel is not None:
            ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot(path: Path, panels: Sequence[tuple[str, Sequence[ArmSummary], bool, float | None]]) -> None:
    """A convergence plot: mean best-so-far ± one standard error per arm, one panel a problem."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.6), squeeze=False)
    for ax, (problem, summaries, maximize, best_known) in zip(axes[0], panels):
        for s in summaries:
            _band(ax, s.arm, s.curve, s.runs)
        if best_known is not None:
            ax.axhline(best_known, color="grey", linewidth=0.8, linestyle=":", label="best known")
        ax.set_title(problem)
        ax.set_ylabel(f"best so far ({'higher' if maximize else 'lower'} is better)")
    _finish(fig, list(axes[0]), path)


def to_json(s: ArmSummary) -> dict[str, Any]:
    return {
        "label": label(s.arm), "runs": s.runs,
        "best_so_far_at": {str(k): {"mean": m, "se": e} for k, (m, e) in s.at.items()},
        "gain_pct": {"mean": s.gain_pct[0], "se": s.gain_pct[1]}, "avg_rank": s.rank,
        "trials_to_95pct": {"mean": s.to_target[0], "se": s.to_target[1], "reached": s.reached},
        "seconds_per_run": {"objective": s.objective_s, "sampler": s.sampler_s, "model": s.model_s},
        "model_calls_per_run": s.model_calls, "model_failures": s.model_failures,
    }
