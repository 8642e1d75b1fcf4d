"""The exact tests behind the common-problems list, against sums done with integers and a
Benjamini–Hochberg done by hand."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from reports.common_problems import common_problems, exact_interval, problem_family
from tests.reports import problem_city
from tests.reports.problem_city import Plant


def _exact_tail(k: int, n: int, p: Fraction) -> float:
    return float(sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(max(k, 0), n + 1)))


@pytest.fixture(scope="module")
def family():
    c = problem_city.city(3, (Plant("rising", "D1S2", "盗窃", 3.0), Plant("concentrated", "D3S4", "诈骗", 4.0)))
    return c, problem_family(c.now, c.before, c.compounds)


def test_p_values_are_the_exact_binomial_tails(family):
    _, tested = family
    assert set(tested["kind"]) == {"rising", "concentrated"}
    for kind in ("rising", "concentrated"):
        rows = tested.filter(pl.col("kind") == kind).sort("p_value")
        for r in rows.gather_every(max(rows.height // 25, 1)).iter_rows(named=True):  # across the whole range
            p0 = Fraction(1, 2) if kind == "rising" else Fraction(r["city_share"])
            assert r["p_value"] == pytest.approx(_exact_tail(r["n_now"], r["_total"], p0), rel=1e-9, abs=1e-15), r


def test_q_values_are_benjamini_hochberg_over_the_whole_family(family):
    _, tested = family
    p = tested["p_value"].to_numpy()
    m = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.empty(m)
    q[order] = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    np.testing.assert_allclose(tested["q_value"].to_numpy(), q, rtol=1e-12)


def test_exact_interval_known_values():
    # reference values of the exact interval (R binom.test); k = n: low = (α/2)^(1/n)
    low, high = exact_interval(np.array([0, 5, 10, 18.0]), np.array([10, 10, 10, 18.0]), 0.95)
    np.testing.assert_allclose(low, [0.0, 0.187086, 0.691503, 0.814698], atol=1e-6)
    np.testing.assert_allclose(high, [0.308497, 0.812914, 1.0, 1.0], atol=1e-6)


def test_listed_effect_intervals_have_the_stated_tails(family):
    """Back from each listed effect's bounds to the proportion: P(X ≥ k | low) and
    P(X ≤ k | high) are each (1 − confidence) / 2, by exact sums."""
    c, _ = family
    listed = common_problems(c.now, c.before, c.compounds, confidence=0.9)
    assert listed.height >= 2
    for r in listed.iter_rows(named=True):
        k = r["n_now"]
        if r["kind"] == "rising":
            n, low, high = k + r["n_before"], r["effect_low"] / (1 + r["effect_low"]), None
            if r["effect_high"] is not None:
                high = r["effect_high"] / (1 + r["effect_high"])
        else:
            n = round(k / r["share"])
            low, high = r["effect_low"] * r["city_share"], r["effect_high"] * r["city_share"]
        assert _exact_tail(k, n, Fraction(low)) == pytest.approx(0.05, rel=1e-6)
        if high is not None:
            assert 1 - _exact_tail(k + 1, n, Fraction(high)) == pytest.approx(0.05, rel=1e-6)
