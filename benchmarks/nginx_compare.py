"""Compare optimisers on the nginx study: LLM sampler + TPE, TPE, random, and A-Tune's GBRT.

Every arm tunes the same private nginx (``studies/nginx``) through the same runner for the
same number of trials, over several seeds, all in one run; arms take turns within each seed
so a drift of the machine's load hits them alike. Each run measures its own baseline as
trial 0. The table gives, per arm over the seeds: the best requests/s, the gain over that
run's baseline, and the trials needed to reach 95% of the best requests/s any run found.

Usage (from the repository root; nginx and wrk from Debian's packages)::

    .venv/bin/python benchmarks/nginx_compare.py                      # 3 seeds x 10 trials x 2 s
    .venv/bin/python benchmarks/nginx_compare.py --seeds 5 --trials 30 --duration 5
    .venv/bin/python benchmarks/nginx_compare.py --arms tpe,random,gbrt   # no model

Results go to ``--output`` (default ``out/nginx_compare``): ``results.json`` and the SQLite
studies (``studies.db``; running the same command again resumes unfinished runs, delete the
folder to start over). The A-Tune engine arm is scikit-optimize's ``Optimizer`` with
``base_estimator="GBRT"``, as A-Tune's ``gbrt`` engine builds it, wrapped as an Optuna sampler
so it runs through the same runner.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "nginx"
SCRIPTS = STUDY / "scripts"
ARMS = ("llm", "tpe", "random", "gbrt")
ARM_LABELS = {
    "llm": "LLMSampler+TPE",
    "tpe": "TPE",
    "random": "random",
    "gbrt": "GBRT (A-Tune)",
}


# --------------------------------------------------------------------------- A-Tune's GBRT


def _gbrt_estimator(seed: int) -> Any:
    """skopt's GBRT quantile regressor, patched for current scikit-learn and NumPy.

    scikit-optimize 0.10 predates scikit-learn's estimator tags (its regressor is not
    recognised as one) and NumPy 2's removal of ``np.in1d``; the subclass fixes both
    without touching the installed package.
    """
    from sklearn.ensemble import GradientBoostingRegressor
    from skopt.learning import GradientBoostingQuantileRegressor

    class _GBRT(GradientBoostingQuantileRegressor):
        def __sklearn_tags__(self) -> Any:
            tags = super().__sklearn_tags__()
            tags.estimator_type = "regressor"
            return tags

        def predict(self, X: Any, return_std: bool = False, return_quantiles: bool = False) -> Any:
            if return_std and not return_quantiles:
                by_q = {q: r for q, r in zip(self.quantiles, self.regressors_)}
                low, mid, high = (by_q[q].predict(X) for q in (0.16, 0.5, 0.84))
                return mid, (high - low) / 2.0
            return super().predict(X, return_std=return_std, return_quantiles=return_quantiles)

    # skopt's own default for base_estimator="GBRT" (cook_estimator): 30 trees, quantile loss.
    return _GBRT(
        base_estimator=GradientBoostingRegressor(n_estimators=30, loss="quantile"),
        random_state=seed,
    )


class GBRTSampler(BaseSampler):
    """A-Tune's ``gbrt`` engine as an Optuna sampler: ``skopt.Optimizer`` with a GBRT model.

    Each finished trial (the baseline included) is told to the optimiser; each new trial is
    its ``ask()``. The first ``n_initial_points`` points are random, as A-Tune's
    ``random_starts``.
    """

    def __init__(self, seed: int, n_initial_points: int) -> None:
        self._seed = seed
        self._n_initial = n_initial_points
        self._space: dict[str, Any] | None = None
        self._optimizer: Any = None
        self._told: set[int] = set()
        self._fallback = RandomSampler(seed=seed)
        self._intersection = IntersectionSearchSpace()

    def reseed_rng(self) -> None:
        self._fallback.reseed_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
        return self._intersection.calculate(study)

    def _dimension(self, dist: Any) -> Any:
        from skopt.space import Categorical, Integer, Real

        if isinstance(dist, CategoricalDistribution):
            return Categorical(list(dist.choices), transform="onehot")
        if isinstance(dist, IntDistribution):
            if dist.log:
                return Integer(dist.low, dist.high, prior="log-uniform")
            return Integer(0, (dist.high - dist.low) // dist.step)  # index of the step grid
        if isinstance(dist, FloatDistribution):
            if dist.step is not None:
                return Integer(0, int(round((dist.high - dist.low) / dist.step)))
            return Real(dist.low, dist.high, prior="log-uniform" if dist.log else "uniform")
        raise TypeError(f"unsupported distribution {dist!r}")

    @staticmethod
    def _to_point(dist: Any, value: Any) -> Any:
        if isinstance(dist, IntDistribution) and not dist.log:
            return (int(value) - dist.low) // dist.step
        if isinstance(dist, FloatDistribution) and dist.step is not None:
            return int(round((float(value) - dist.low) / dist.step))
        return value

    @staticmethod
    def _from_point(dist: Any, point: Any) -> Any:
        if isinstance(dist, IntDistribution):
            return int(point) if dist.log else dist.low + int(point) * dist.step
        if isinstance(dist, FloatDistribution):
            return dist.low + int(point) * dist.step if dist.step is not None else float(point)
        return point

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, Any]) -> dict[str, Any]:
        if not search_space:
            return {}
        from skopt import Optimizer

        if self._optimizer is None or self._space != search_space:
            self._space = dict(search_space)
            self._optimizer = Optimizer(
                [self._dimension(d) for d in search_space.values()],
                base_estimator=_gbrt_estimator(self._seed),
                n_initial_points=self._n_initial,
                acq_optimizer="sampling",
                random_state=self._seed,
            )
            self._told = set()
        sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
        xs, ys = [], []
        for past in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if past.number in self._told or not all(n in past.params for n in search_space):
                continue
            xs.append([self._to_point(d, past.params[n]) for n, d in search_space.items()])
            ys.append(sign * float(past.value))  # skopt minimises
            self._told.add(past.number)
        if xs:
            self._optimizer.tell(xs, ys)
        point = self._optimizer.ask()
        return {n: self._from_point(d, p) for (n, d), p in zip(search_space.items(), point)}

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: Any) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)


# --------------------------------------------------------------------------- one run


@dataclasses.dataclass
class RunOutcome:
    arm: str
    seed: int
    study: str
    values: list[float | None]  # rps per trial in trial order; None = failed
    baseline: float | None
    best: float | None
    best_trial: int | None
    best_params: dict[str, Any]
    failed: int
    seconds: float

    def best_so_far(self) -> list[float | None]:
        out: list[float | None] = []
        best: float | None = None
        for v in self.values:
            if v is not None and (best is None or v > best):
                best = v
            out.append(best)
        return out

    def trials_to(self, target: float) -> int | None:
        """Trials run (baseline included) until one reached ``target``; None if none did."""
        for i, v in enumerate(self.values):
            if v is not None and v >= target:
                return i + 1
        return None


def _script(name: str, *args: str) -> None:
    subprocess.run(["bash", str(SCRIPTS / name), *args], check=True, cwd=ROOT)


def _runner_api() -> tuple[Any, Any, Callable[..., Any], Callable[..., Any]]:
    try:
        from atune_bridge import Runner, RunnerConfig, load_client, load_server
    except ImportError:  # the runner may not be re-exported yet
        from atune_bridge import load_client, load_server
        from atune_bridge._runner import Runner, RunnerConfig
    return Runner, RunnerConfig, load_server, load_client


_MODELS: dict[str, Any] = {}


def _llm_sampler(server: Any, client: Any, args: argparse.Namespace, seed: int) -> BaseSampler:
    """LLMSampler over TPE with the model timeout of ``--llm-timeout``, wired as the runner does.

    Only used when ``--llm-timeout`` is given (the runner's own wiring has no timeout
    setting); the model is loaded once and shared by the seeds.
    """
    from optuna.samplers import TPESampler
    from optuna_llm_sampler import LLMSampler, make_chat_model

    text = (STUDY / "knowledge.md").read_text(encoding="utf-8")
    try:
        from atune_bridge._runner import project_knowledge
    except ImportError:
        knowledge = text
    else:
        knowledge = project_knowledge(server, client, text)
    baseline = {}
    for knob in server.tunable:
        out = subprocess.run(["/bin/sh", "-c", knob.get], cwd=ROOT, capture_output=True, text=True, check=True)
        baseline[knob.name] = knob.coerce(out.stdout.strip())
    if args.llm not in _MODELS:
        _MODELS[args.llm] = make_chat_model(args.llm)
    return LLMSampler(
        _MODELS[args.llm],
        base_sampler=TPESampler(seed=seed, n_startup_trials=max(1, client.random_starts)),
        search_space=server.search_space(),
        knowledge=knowledge,
        descriptions={k.name: k.desc for k in server.tunable if k.desc},
        baseline=baseline,
        seed=seed,
        timeout=args.llm_timeout,
    )


def run_arm(arm: str, seed: int, args: argparse.Namespace, storage: str) -> RunOutcome:
    Runner, RunnerConfig, load_server, load_client = _runner_api()
    server = load_server(STUDY / "nginx_server.yaml")
    client = dataclasses.replace(load_client(STUDY / "nginx_client.yaml"), random_starts=args.startup)
    study_name = f"nginx-compare-{arm}-seed{seed}-t{args.trials}"
    _script("param.sh", "reset")  # every run starts from the study's baseline settings
    sampler: BaseSampler | None = None
    if arm == "llm" and args.llm_timeout is not None:
        study_name += f"-timeout{args.llm_timeout:g}"
        sampler = _llm_sampler(server, client, args, seed)
    elif arm == "random":
        sampler = RandomSampler(seed=seed)
    elif arm == "gbrt":
        sampler = GBRTSampler(seed=seed, n_initial_points=args.startup)
    config = RunnerConfig(
        storage=storage,
        study_name=study_name,
        llm=args.llm if arm == "llm" else "none",
        n_trials=args.trials,
        knowledge=str(STUDY / "knowledge.md"),
        seed=seed,
        benchmark_timeout=args.duration + 60,
        command_timeout=60,
        workdir=str(ROOT),
    )

    def progress(report: Any) -> None:
        rps = report.metrics.get("rps")
        shown = f"{rps:9.0f} rps" if rps is not None else f"FAILED ({(report.reason or '')[:60]})"
        best = report.best_metrics.get("rps")
        print(
            f"  {ARM_LABELS[arm]:<15} seed {seed} trial {report.number:>2}/{report.budget - 1}"
            f"  {report.source:<14} {shown}   best {best or 0:9.0f}",
            flush=True,
        )

    _script("start.sh")
    start = time.monotonic()
    try:
        result = Runner(server, client, config, sampler=sampler, on_trial=progress).run()
    finally:
        _script("stop.sh")
    seconds = time.monotonic() - start
    if result.interrupted:
        raise KeyboardInterrupt(result.interrupted)

    values: list[float | None] = []
    baseline = None
    for t in sorted(result.study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.state == TrialState.COMPLETE:
            v = float(t.user_attrs.get("metrics", {}).get("rps", t.value))
            values.append(v)
            if t.number == 0:
                baseline = v
        elif t.state == TrialState.FAIL:
            values.append(None)
    done = [(v, i) for i, v in enumerate(values) if v is not None]
    best, best_i = max(done) if done else (None, None)
    best_params = result.study.trials[best_i].params if best_i is not None else {}
    return RunOutcome(arm, seed, study_name, values, baseline, best, best_i, dict(best_params),
                      sum(v is None for v in values), seconds)


# --------------------------------------------------------------------------- table


def _fmt(x: float | None, spec: str = ".0f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def summarize(outcomes: Sequence[RunOutcome], arms: Sequence[str]) -> tuple[list[dict[str, Any]], float | None]:
    bests = [o.best for o in outcomes if o.best is not None]
    overall = max(bests) if bests else None
    rows = []
    for arm in arms:
        runs = [o for o in outcomes if o.arm == arm]
        if not runs:
            continue
        best = [o.best for o in runs if o.best is not None]
        gains = [100.0 * (o.best / o.baseline - 1) for o in runs if o.best and o.baseline]
        reach = [o.trials_to(0.95 * overall) for o in runs] if overall else []
        reached = [r for r in reach if r is not None]
        rows.append({
            "arm": arm,
            "label": ARM_LABELS[arm],
            "runs": len(runs),
            "best_rps_mean": statistics.fmean(best) if best else None,
            "best_rps_sd": statistics.stdev(best) if len(best) > 1 else 0.0 if best else None,
            "best_rps_max": max(best) if best else None,
            "gain_pct_mean": statistics.fmean(gains) if gains else None,
            "trials_to_95pct_median": statistics.median(reached) if reached else None,
            "reached_95pct": len(reached),
            "trials_to_95pct": reach,
            "failed_trials": sum(o.failed for o in runs),
            "minutes": sum(o.seconds for o in runs) / 60,
        })
    return rows, overall


def print_table(rows: Sequence[dict[str, Any]], overall: float | None, trials: int) -> None:
    print()
    print(f"best requests/s over all runs: {_fmt(overall)}; 95% of it: {_fmt(overall and 0.95 * overall)}")
    head = (f"{'optimiser':<16}{'runs':>5}{'best rps (mean ± sd)':>24}{'max':>9}{'gain vs base':>14}"
            f"{'trials to 95%':>15}{'failed':>8}{'min':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        best = f"{_fmt(r['best_rps_mean'])} ± {_fmt(r['best_rps_sd'])}"
        gain = f"{_fmt(r['gain_pct_mean'], '+.0f')}%"
        reach = f"{_fmt(r['trials_to_95pct_median'], '.0f')} ({r['reached_95pct']}/{r['runs']})"
        print(f"{r['label']:<16}{r['runs']:>5}{best:>24}{_fmt(r['best_rps_max']):>9}{gain:>14}"
              f"{reach:>15}{r['failed_trials']:>8}{r['minutes']:>7.1f}")
    print(f"(trials include the baseline, {trials} per run; 'trials to 95%' is the median over the runs "
          "that got there, with how many did)")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, of {', '.join(ARMS)} (default all)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per arm (default 3)")
    p.add_argument("--trials", type=int, default=10, help="trials per run, baseline included (default 10)")
    p.add_argument("--duration", type=int, default=2, help="seconds of wrk per trial (default 2)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    p.add_argument("--startup", type=int, default=5,
                   help="random start trials of TPE and GBRT, A-Tune's random_starts (default 5)")
    p.add_argument("--llm", default="local", help="model spec of the LLM arm (default local)")
    p.add_argument("--llm-timeout", type=float, default=None,
                   help="seconds the model may take per round (default: the sampler's own, 120 s); "
                        "a small local model on a busy 2-core machine needs more")
    p.add_argument("--port", type=int, default=18081, help="loopback port of the private nginx (default 18081)")
    p.add_argument("--output", type=Path, default=ROOT / "out" / "nginx_compare", help="results folder")
    p.add_argument("--json", type=Path, default=None, help="results JSON (default OUTPUT/results.json)")
    args = p.parse_args(argv)
    args.arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = sorted(set(args.arms) - set(ARMS))
    if unknown:
        p.error(f"unknown arm(s) {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    if args.seeds < 1 or args.trials < 2 or args.duration < 1:
        p.error("need --seeds >= 1, --trials >= 2, --duration >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("nginx", "wrk"):
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
            print(f"nginx_compare: {tool} not found: apt-get install -y nginx wrk", file=sys.stderr)
            return 2
    args.output.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "NGINX_STUDY_DIR": str(args.output / "nginx-work"),
        "NGINX_STUDY_PORT": str(args.port),
        "NGINX_STUDY_DURATION": str(args.duration),
        "NGINX_STUDY_CONNECTIONS": str(args.connections),
    })
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{(args.output / 'studies.db').resolve()}"
    print(f"nginx_compare: arms {', '.join(ARM_LABELS[a] for a in args.arms)}; seeds 0..{args.seeds - 1}; "
          f"{args.trials} trials x {args.duration} s of wrk; storage {storage}", flush=True)

    outcomes: list[RunOutcome] = []
    started = time.monotonic()
    try:
        for seed in range(args.seeds):
            for arm in args.arms:
                outcome = run_arm(arm, seed, args, storage)
                outcomes.append(outcome)
                print(f"  -> {ARM_LABELS[arm]} seed {seed}: baseline {_fmt(outcome.baseline)} rps, "
                      f"best {_fmt(outcome.best)} rps (trial {outcome.best_trial}), {outcome.seconds:.0f} s",
                      flush=True)
    except KeyboardInterrupt:
        print("nginx_compare: interrupted; the table covers the finished runs", file=sys.stderr)
    rows, overall = summarize(outcomes, args.arms)
    print_table(rows, overall, args.trials)
    path = args.json or args.output / "results.json"
    path.write_text(json.dumps({
        "benchmark": "nginx_compare",
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "minutes": (time.monotonic() - started) / 60,
        "overall_best_rps": overall,
        "summary": rows,
        "runs": [dict(dataclasses.asdict(o), best_so_far=o.best_so_far()) for o in outcomes],
    }, indent=2, default=str))
    print(f"results: {path}")
    return 0 if len(outcomes) == args.seeds * len(args.arms) else 1


if __name__ == "__main__":
    sys.exit(main())
