"""The noise test of `compare`: Welch's interval, on numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from collector.results import stats

# Student t 0.975 quantiles from published tables.
T_TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 5: 2.571, 10: 2.228, 30: 2.042, 120: 1.980}


@pytest.mark.parametrize(("df", "expected"), sorted(T_TABLE.items()))
def test_t_quantile_matches_the_tables(df, expected):
    assert stats.t_quantile(0.975, df) == pytest.approx(expected, abs=5e-4)


def test_t_quantile_of_many_degrees_of_freedom_is_the_normal_one():
    assert stats.t_quantile(0.975, 1e7) == pytest.approx(1.95996, abs=1e-4)
    assert stats.t_quantile(0.95, 1e7) == pytest.approx(1.64485, abs=1e-4)


def test_t_cdf_is_symmetric_and_one_degree_is_cauchy():
    for t in (0.1, 1.0, 3.0, 20.0):
        assert stats.t_cdf(t, 7) + stats.t_cdf(-t, 7) == pytest.approx(1.0)
        assert stats.t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi)


def test_t_quantile_rejects_a_lower_quantile():
    with pytest.raises(ValueError):
        stats.t_quantile(0.3, 4)


def test_welch_interval_worked_by_hand():
    # A: mean 11, sd 1; B: mean 14, sd 1; n = 3 each: error sqrt(2/3), df 4
    d = stats.difference([10.0, 11.0, 12.0], [13.0, 14.0, 15.0])
    half = 2.776445 * math.sqrt(2 / 3)
    assert d.difference == pytest.approx(3.0)
    assert (d.low, d.high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    assert d.relative == pytest.approx(3 / 11)
    assert d.verdict == "real" and d.significant


def test_a_change_inside_the_noise_is_called_noise():
    d = stats.difference([10.0, 12.0, 11.0], [10.5, 11.5, 12.0])
    assert d.low < 0 < d.high
    assert d.verdict == "noise" and not d.significant


def test_unequal_variances_use_welch_degrees_of_freedom():
    a, b = [1.0, 2.0, 3.0, 4.0, 5.0], [10.0, 30.0]
    d = stats.difference(a, b)
    va, vb = 2.5 / 5, 200.0 / 2
    df = (va + vb) ** 2 / (va**2 / 4 + vb**2 / 1)
    half = stats.t_quantile(0.975, df) * math.sqrt(va + vb)
    assert d.high - d.difference == pytest.approx(half)
    assert d.verdict == "noise"  # 17 apart, but B alone spans 20


def test_one_run_a_side_says_the_noise_is_unknown():
    d = stats.difference([10.0], [20.0, 21.0])
    assert d.verdict == "noise unknown: one run of A"
    assert d.low is None and d.difference == pytest.approx(10.5)


def test_runs_without_spread():
    assert stats.difference([5.0, 5.0], [7.0, 7.0]).verdict == "real"
    assert stats.difference([5.0, 5.0], [5.0, 5.0]).verdict == "noise"


def test_a_missing_side_and_a_zero_reference():
    assert stats.difference([], [1.0, 2.0]).verdict == "no value in A"
    d = stats.difference([0.0, 0.0], [1.0, 1.02])
    assert d.relative is None and d.verdict == "real"
