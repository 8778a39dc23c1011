"""Recorded surfaces: measurements of a real service, a surrogate fitted on them, noise added.

A surface folder holds two files (``benchmarks/record_surface.py`` writes both):

* ``surface.json``: ``{"name", "metric", "direction": "maximize"|"minimize", "knobs": [...],
  "baseline": {knob: value}, "recorded": {...}}``, each knob ``{"name", "type": "int" |
  "float" | "categorical", "low", "high", "step", "log"}`` or ``{"name", "type":
  "categorical", "choices": [...]}``, optionally ``"desc"``; optionally ``"knowledge"``, a
  text file (relative to the folder or the repository) given to a model as background.
* ``measurements.csv``: a header with ``config``, every knob and the metric (``kind`` and
  other columns are kept but not needed); one row per measurement. Rows with the same
  ``config`` are repeated measurements of one configuration: they give the noise.

As YAHPO Gym and HPOBench do, a random forest fitted on the measurements stands in for the
service: a query returns the forest's prediction plus noise of the size the repeats measured.
The forest is compiled into flat arrays so that one query takes tens of microseconds rather
than scikit-learn's milliseconds of per-call overhead.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

ROOT = Path(__file__).resolve().parents[2]


class SurfaceError(ValueError):
    """A surface folder that cannot be used; the message names the file and the field."""


def knob_from_distribution(name: str, dist: BaseDistribution, desc: str | None = None) -> dict[str, Any]:
    """The metadata entry of one knob: ``{"name", "type", ...domain}``."""
    if isinstance(dist, CategoricalDistribution):
        entry: dict[str, Any] = {"name": name, "type": "categorical", "choices": list(dist.choices)}
    elif isinstance(dist, IntDistribution):
        entry = {"name": name, "type": "int", "low": dist.low, "high": dist.high, "step": dist.step, "log": dist.log}
    elif isinstance(dist, FloatDistribution):
        entry = {"name": name, "type": "float", "low": dist.low, "high": dist.high, "step": dist.step, "log": dist.log}
    else:
        raise TypeError(f"{name}: unsupported distribution {dist!r}")
    if desc:
        entry["desc"] = desc
    return entry


def distribution_from_knob(entry: Mapping[str, Any], where: str) -> BaseDistribution:
    kind = entry.get("type")
    try:
        if kind == "categorical":
            choices = entry["choices"]
            if not isinstance(choices, list) or not choices:
                raise SurfaceError(f"{where}: 'choices' must be a non-empty list")
            return CategoricalDistribution(choices)
        if kind == "int":
            return IntDistribution(int(entry["low"]), int(entry["high"]), step=int(entry.get("step") or 1),
                                   log=bool(entry.get("log", False)))
        if kind == "float":
            step = entry.get("step")
            return FloatDistribution(float(entry["low"]), float(entry["high"]),
                                     step=None if step is None else float(step), log=bool(entry.get("log", False)))
    except KeyError as e:
        raise SurfaceError(f"{where}: missing field {e.args[0]!r}") from None
    except (TypeError, ValueError) as e:
        if isinstance(e, SurfaceError):
            raise
        raise SurfaceError(f"{where}: {e}") from None
    raise SurfaceError(f"{where}: 'type' must be int, float or categorical, got {kind!r}")


def coerce(dist: BaseDistribution, text: str, where: str) -> Any:
    """A CSV cell as a value of ``dist``."""
    try:
        if isinstance(dist, CategoricalDistribution):
            for choice in dist.choices:
                if str(choice) == text:
                    return choice
            raise ValueError(f"{text!r} is not one of {list(dist.choices)}")
        if isinstance(dist, IntDistribution):
            value = int(float(text))
        else:
            value = float(text)
        if not dist.low <= value <= dist.high:
            raise ValueError(f"{value} is outside [{dist.low}, {dist.high}]")
        return value
    except ValueError as e:
        raise SurfaceError(f"{where}: {e}") from None


@dataclass
class Surface:
    """A recorded surface: its knobs, baseline and measurements (not yet a surrogate)."""

    name: str
    metric: str
    direction: str
    space: dict[str, BaseDistribution]
    baseline: dict[str, Any]
    configs: list[str]
    params: list[dict[str, Any]]
    values: np.ndarray
    recorded: dict[str, Any] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    knowledge: str = ""
    folder: Path | None = None

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    def repeats(self) -> dict[str, np.ndarray]:
        """Configurations measured more than once: config -> its values."""
        groups: dict[str, list[float]] = defaultdict(list)
        for config, value in zip(self.configs, self.values):
            groups[config].append(float(value))
        return {c: np.array(v) for c, v in groups.items() if len(v) > 1}


def load_surface(folder: str | Path) -> Surface:
    """Read ``surface.json`` and ``measurements.csv`` from ``folder``.

    Raises:
        SurfaceError: a file is missing or unreadable, or a field or row is invalid; the
            message names the file and the field or row.
    """
    folder = Path(folder)
    meta_path = folder / "surface.json"
    csv_path = folder / "measurements.csv"
    for path in (meta_path, csv_path):
        if not path.is_file():
            raise SurfaceError(f"{path}: no such file (a surface folder holds surface.json and measurements.csv)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SurfaceError(f"{meta_path}: not readable JSON: {e}") from None
    if not isinstance(meta, dict):
        raise SurfaceError(f"{meta_path}: expected an object at the top level")
    for key in ("metric", "direction", "knobs", "baseline"):
        if key not in meta:
            raise SurfaceError(f"{meta_path}: missing field {key!r}")
    if meta["direction"] not in ("maximize", "minimize"):
        raise SurfaceError(f"{meta_path}: 'direction' must be 'maximize' or 'minimize', got {meta['direction']!r}")
    if not isinstance(meta["knobs"], list) or not meta["knobs"]:
        raise SurfaceError(f"{meta_path}: 'knobs' must be a non-empty list")
    space: dict[str, BaseDistribution] = {}
    descriptions: dict[str, str] = {}
    for i, entry in enumerate(meta["knobs"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise SurfaceError(f"{meta_path}: knobs[{i}] needs a 'name'")
        space[entry["name"]] = distribution_from_knob(entry, f"{meta_path}: knobs[{i}] ({entry['name']})")
        if entry.get("desc"):
            descriptions[entry["name"]] = str(entry["desc"])
    baseline = {}
    for name, dist in space.items():
        if name not in meta["baseline"]:
            raise SurfaceError(f"{meta_path}: 'baseline' lacks knob {name!r}")
        baseline[name] = coerce(dist, str(meta["baseline"][name]), f"{meta_path}: baseline.{name}")
    metric = str(meta["metric"])
    configs: list[str] = []
    params: list[dict[str, Any]] = []
    values: list[float] = []
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("config", *space, metric) if c not in (reader.fieldnames or [])]
        if missing:
            raise SurfaceError(f"{csv_path}: missing column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            where = f"{csv_path}: line {line}"
            try:
                value = float(row[metric])
            except (TypeError, ValueError):
                raise SurfaceError(f"{where}: {metric} {row[metric]!r} is not a number") from None
            if not math.isfinite(value):
                raise SurfaceError(f"{where}: {metric} {row[metric]!r} is not finite")
            params.append({n: coerce(d, row[n], f"{where}, column {n}") for n, d in space.items()})
            configs.append(row["config"] or f"row{line}")
            values.append(value)
    if len(values) < 10:
        raise SurfaceError(f"{csv_path}: {len(values)} measurements; a surrogate needs at least 10")
    knowledge = ""
    if meta.get("knowledge"):
        for base in (folder, ROOT):
            path = base / str(meta["knowledge"])
            if path.is_file():
                knowledge = path.read_text(encoding="utf-8")
                break
        else:
            raise SurfaceError(f"{meta_path}: knowledge file {meta['knowledge']!r} not found")
    return Surface(
        name=str(meta.get("name") or folder.name), metric=metric, direction=meta["direction"], space=space,
        baseline=baseline, configs=configs, params=params, values=np.array(values),
        recorded=dict(meta.get("recorded") or {}), descriptions=descriptions, knowledge=knowledge, folder=folder,
    )


class Encoder:
    """Parameter dicts to feature rows: numbers as they are (log where the knob is log), choices one-hot."""

    def __init__(self, space: Mapping[str, BaseDistribution]) -> None:
        self.space = dict(space)
        self._slots: list[tuple[str, BaseDistribution, int, dict[Any, int] | None]] = []
        width = 0
        for name, dist in self.space.items():
            if isinstance(dist, CategoricalDistribution):
                index = {c: i for i, c in enumerate(dist.choices)}
                self._slots.append((name, dist, width, index))
                width += len(dist.choices)
            else:
                self._slots.append((name, dist, width, None))
                width += 1
        self.width = width

    def row(self, params: Mapping[str, Any]) -> np.ndarray:
        x = np.zeros(self.width)
        for name, dist, at, index in self._slots:
            value = params[name]
            if index is not None:
                x[at + index[value]] = 1.0
            else:
                x[at] = math.log(value) if getattr(dist, "log", False) else float(value)
        return x

    def rows(self, many: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return np.array([self.row(p) for p in many]).reshape(len(many), self.width)


class CompiledForest:
    """A fitted scikit-learn tree ensemble as flat arrays, traversed for all trees at once."""

    def __init__(self, estimators: Sequence[Any]) -> None:
        features, thresholds, lefts, rights, values, roots = [], [], [], [], [], []
        offset = 0
        depth = 0
        for est in estimators:
            tree = est.tree_
            n = tree.node_count
            leaf = tree.children_left < 0
            ids = np.arange(n)
            features.append(np.where(leaf, 0, tree.feature))
            thresholds.append(np.where(leaf, np.inf, tree.threshold))
            lefts.append(np.where(leaf, ids, tree.children_left) + offset)
            rights.append(np.where(leaf, ids, tree.children_right) + offset)
            values.append(tree.value.reshape(n, -1)[:, 0])
            roots.append(offset)
            offset += n
            depth = max(depth, int(tree.max_depth))
        self.feature = np.concatenate(features)
        self.threshold = np.concatenate(thresholds)
        self.left = np.concatenate(lefts)
        self.right = np.concatenate(rights)
        self.value = np.concatenate(values)
        self.roots = np.array(roots)
        self.depth = depth

    def predict_one(self, x: np.ndarray) -> float:
        node = self.roots
        for _ in range(self.depth):
            node = np.where(x[self.feature[node]] <= self.threshold[node], self.left[node], self.right[node])
        return float(self.value[node].mean())

    def predict(self, X: np.ndarray) -> np.ndarray:
        node = np.broadcast_to(self.roots, (len(X), len(self.roots)))
        rows = np.arange(len(X))[:, None]
        for _ in range(self.depth):
            node = np.where(X[rows, self.feature[node]] <= self.threshold[node], self.left[node], self.right[node])
        return self.value[node].mean(axis=1)


def make_forest(seed: int = 0) -> Any:
    """The surrogate's estimator: fixed settings, the same for every surface."""
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=100, min_samples_leaf=2, max_features=0.5, random_state=seed, n_jobs=1)


@dataclass(frozen=True)
class Quality:
    """Held-out quality of the surrogate: grouped k-fold cross-validation over configurations."""

    spearman: float
    r2: float
    r2_log: float
    folds: int
    rows: int
    configs: int


class SurfaceModel:
    """A recorded surface as a noisy objective: forest prediction times measured noise.

    The forest is fitted on the log of the metric when every value is positive (throughput
    and latency are, and their noise is multiplicative), else on the metric itself. The noise
    is the pooled standard deviation of the repeated configurations, on the same scale.

    Example:
        >>> model = SurfaceModel(load_surface("benchmarks/surfaces/nginx"))  # doctest: +SKIP
        >>> model.mean(model.surface.baseline)  # doctest: +SKIP
    """

    def __init__(self, surface: Surface, seed: int = 0) -> None:
        self.surface = surface
        self.encoder = Encoder(surface.space)
        self.log = bool(np.all(surface.values > 0))
        y = np.log(surface.values) if self.log else surface.values
        X = self.encoder.rows(surface.params)
        forest = make_forest(seed).fit(X, y)
        self._forest = forest
        self.compiled = CompiledForest(forest.estimators_)
        self.noise = self._pooled_noise()

    def _pooled_noise(self) -> float:
        groups = self.surface.repeats()
        if not groups:
            return 0.0
        variances = [np.var(np.log(v) if self.log else v, ddof=1) for v in groups.values()]
        return float(math.sqrt(sum(variances) / len(variances)))

    def noise_by_config(self) -> dict[str, tuple[int, float, float]]:
        """Repeated configuration -> (count, mean, relative standard deviation)."""
        return {c: (len(v), float(v.mean()), float(v.std(ddof=1) / abs(v.mean())) if v.mean() else float("nan"))
                for c, v in self.surface.repeats().items()}

    def mean(self, params: Mapping[str, Any]) -> float:
        """The noise-free prediction at ``params``."""
        z = self.compiled.predict_one(self.encoder.row(params))
        return math.exp(z) if self.log else z

    def sample(self, params: Mapping[str, Any], rng: np.random.Generator) -> float:
        """One noisy measurement at ``params``."""
        z = self.compiled.predict_one(self.encoder.row(params)) + self.noise * float(rng.standard_normal())
        return math.exp(z) if self.log else z

    def quality(self, folds: int = 5, seed: int = 0) -> Quality:
        """Spearman correlation and R² of held-out predictions (configurations never split)."""
        from scipy.stats import spearmanr
        from sklearn.model_selection import GroupKFold

        X = self.encoder.rows(self.surface.params)
        y = self.surface.values
        target = np.log(y) if self.log else y
        groups = np.array(self.surface.configs)
        predicted = np.zeros(len(y))
        for train, test in GroupKFold(n_splits=folds).split(X, target, groups):
            forest = make_forest(seed).fit(X[train], target[train])
            predicted[test] = forest.predict(X[test])
        on_scale = np.exp(predicted) if self.log else predicted

        def r2(truth: np.ndarray, guess: np.ndarray) -> float:
            return float(1 - np.sum((truth - guess) ** 2) / np.sum((truth - truth.mean()) ** 2))

        return Quality(
            spearman=float(spearmanr(y, on_scale).statistic), r2=r2(y, on_scale), r2_log=r2(target, predicted),
            folds=folds, rows=len(y), configs=len(set(self.surface.configs)),
        )
