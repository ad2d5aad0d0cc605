"""Is a difference between two sets of runs larger than their run-to-run noise?

The test is Welch's two-sample t confidence interval for the difference of
the means: it fits the few repetitions a benchmark sweep has (2 to 10 runs a
side), where a rank test cannot reach significance at all (Mann-Whitney with
3 runs a side has a smallest two-sided p of 0.1). The t quantile comes from
the regularised incomplete beta function, so no SciPy is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import fmean, stdev

CONFIDENCE = 0.95
METHOD = "Welch t, 95% confidence interval of the difference of the means"


@dataclass(frozen=True)
class Difference:
    """B minus A for one metric, and what the repetitions say about it."""

    mean_a: float | None
    mean_b: float | None
    n_a: int
    n_b: int
    difference: float | None
    relative: float | None  # (B - A) / |A|; None when A is 0 or missing
    low: float | None  # confidence interval of the difference, when both sides repeat
    high: float | None
    verdict: str  # "real", "noise", or why it cannot be said

    @property
    def significant(self) -> bool:
        return self.verdict == "real"


def difference(a: list[float], b: list[float], confidence: float = CONFIDENCE) -> Difference:
    """Compare the values of one metric over the runs of A and of B."""
    mean_a = fmean(a) if a else None
    mean_b = fmean(b) if b else None
    if mean_a is None or mean_b is None:
        missing = "A" if mean_a is None else "B"
        return Difference(mean_a, mean_b, len(a), len(b), None, None, None, None,
                          f"no value in {missing}")  # fmt: skip
    diff = mean_b - mean_a
    relative = diff / abs(mean_a) if mean_a else None
    if len(a) < 2 or len(b) < 2:
        side = "A" if len(a) < 2 else "B"
        return Difference(mean_a, mean_b, len(a), len(b), diff, relative, None, None,
                          f"noise unknown: one run of {side}")  # fmt: skip
    var_a, var_b = stdev(a) ** 2 / len(a), stdev(b) ** 2 / len(b)
    error = math.sqrt(var_a + var_b)
    if error == 0:  # every run of each side gave the same value
        verdict = "noise" if diff == 0 else "real"
        return Difference(mean_a, mean_b, len(a), len(b), diff, relative, diff, diff, verdict)
    df = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
    half = t_quantile(0.5 + confidence / 2, df) * error
    low, high = diff - half, diff + half
    verdict = "real" if low > 0 or high < 0 else "noise"
    return Difference(mean_a, mean_b, len(a), len(b), diff, relative, low, high, verdict)


def t_quantile(p: float, df: float) -> float:
    """The p quantile (p > 0.5) of Student's t with ``df`` degrees of freedom."""
    if not 0.5 < p < 1 or df <= 0:
        raise ValueError("t_quantile needs 0.5 < p < 1 and df > 0")
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2
    for _ in range(200):  # bisection: the CDF is monotonic, 200 halvings reach full precision
        middle = (low + high) / 2
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def t_cdf(t: float, df: float) -> float:
    tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t >= 0 else tail


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # the continued fraction converges fast on this side of the mean
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1 - front * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta, by the modified Lentz method."""
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return result
