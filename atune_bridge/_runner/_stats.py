"""The statistics the runner's confirmation rests on: a sample's mean with its Student-t
interval, and the gain of one sample over another with its interval.

Pure functions on lists of floats; no SciPy (it is not a dependency of the bridge): the
Student-t quantile is found by bisection on its CDF, the regularised incomplete beta function
computed by Lentz's continued fraction.

The gain's interval is built on the log scale: ``log(mean_b / mean_a)`` has, by the delta
method, the standard error ``sqrt(s_b^2 / (n_b m_b^2) + s_a^2 / (n_a m_a^2))``, with
Welch-Satterthwaite's degrees of freedom; the interval ``exp(log r +- t * se)`` is turned into
percent. It stays positive and asymmetric, as a ratio of two noisy means is. When a mean is
not positive (a metric that can be negative or zero), the same standard error is applied to
the ratio itself (the plain delta method), and the method is named in the result.

Example:
    >>> from atune_bridge._runner._stats import mean_interval, ratio_interval
    >>> round(mean_interval([10.0, 12.0, 11.0]).half_width, 3)
    2.484
    >>> gain = ratio_interval([100.0, 101.0, 99.0], [120.0, 121.0, 119.0])
    >>> round(gain.ratio, 2), gain.low > 1.15
    (1.2, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95


def _betacf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for num in (
            m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` (any positive real) degrees of freedom."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile (0.5 < p < 1) of Student's t with ``df`` degrees of freedom."""
    if not 0.5 < p < 1.0 or not df > 0:
        raise ValueError(f"t_quantile needs 0.5 < p < 1 and df > 0, got p={p!r}, df={df!r}")
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


@dataclass(frozen=True)
class MeanInterval:
    """A sample's mean and the half-width of its Student-t interval (None below 2 values)."""

    n: int
    mean: float
    sd: float
    half_width: float | None

    @property
    def low(self) -> float | None:
        return None if self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> float | None:
        return None if self.half_width is None else self.mean + self.half_width


def mean_interval(sample: Sequence[float], confidence: float = CONFIDENCE) -> MeanInterval:
    """The mean of ``sample`` with its two-sided Student-t interval at ``confidence``.

    Raises:
        ValueError: the sample is empty.
    """
    n = len(sample)
    if n == 0:
        raise ValueError("mean_interval needs at least one value")
    mean = math.fsum(sample) / n
    if n < 2:
        return MeanInterval(n, mean, 0.0, None)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in sample) / (n - 1))
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)
    return MeanInterval(n, mean, sd, half)


@dataclass(frozen=True)
class RatioInterval:
    """``mean(b) / mean(a)`` and its interval; ``method`` names how it was built."""

    ratio: float
    low: float | None
    high: float | None
    method: str


def ratio_interval(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> RatioInterval | None:
    """The ratio of the mean of ``b`` to the mean of ``a`` with its interval (see the module
    doc); None when the mean of ``a`` is 0. The interval is None below 2 values in either."""
    ma, mb = mean_interval(a), mean_interval(b)
    if ma.mean == 0:
        return None
    ratio = mb.mean / ma.mean
    if ma.n < 2 or mb.n < 2:
        return RatioInterval(ratio, None, None, "none (fewer than 2 values)")
    positive = ma.mean > 0 and mb.mean > 0
    method = "log-ratio delta method, Welch df" if positive else "ratio delta method, Welch df"
    va = ma.sd**2 / (ma.n * ma.mean**2)
    vb = mb.sd**2 / (mb.n * mb.mean**2)
    se = math.sqrt(va + vb)
    if se == 0:
        return RatioInterval(ratio, ratio, ratio, method)
    df = (va + vb) ** 2 / ((va**2 / (ma.n - 1) if va else 0.0) + (vb**2 / (mb.n - 1) if vb else 0.0))
    t = t_quantile(0.5 + confidence / 2.0, df)
    if positive:
        return RatioInterval(ratio, ratio * math.exp(-t * se), ratio * math.exp(t * se), method)
    spread = t * se * abs(ratio)
    return RatioInterval(ratio, ratio - spread, ratio + spread, method)
