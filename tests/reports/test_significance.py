"""The exact tests behind the common-problems list, against sums done with integers."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.significance import bh_q_values, binomial_upper_tail, clopper_pearson


def _exact_tail(k: int, n: int, p: Fraction) -> float:
    return float(sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(max(k, 0), n + 1)))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 120), data=st.data(), p=st.fractions(Fraction(1, 100), Fraction(99, 100)))
def test_binomial_tail_matches_the_exact_sum(n, data, p):
    k = data.draw(st.integers(-1, n + 1))
    got = binomial_upper_tail(k, n, float(p)).item()
    want = _exact_tail(k, n, p)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_clopper_pearson_known_values():
    # reference values of the exact interval (R binom.test); k = n: low = (α/2)^(1/n)
    low, high = clopper_pearson([0, 5, 10, 18], [10, 10, 10, 18], 0.95)
    np.testing.assert_allclose(low, [0.0, 0.187086, 0.691503, 0.814698], atol=1e-6)
    np.testing.assert_allclose(high, [0.308497, 0.812914, 1.0, 1.0], atol=1e-6)


def test_clopper_pearson_bounds_have_the_stated_tail():
    low, high = clopper_pearson([7], [40], 0.9)
    # P(X >= 7 | low) = 5% and P(X <= 7 | high) = 5%
    assert binomial_upper_tail(7, 40, low[0]).item() == pytest.approx(0.05, rel=1e-6)
    assert 1 - binomial_upper_tail(8, 40, high[0]).item() == pytest.approx(0.05, rel=1e-6)


def test_benjamini_hochberg_by_hand():
    # p = (.01, .04, .03, .5), m = 4; sorted p·m/rank = .04, .06, .0533, .5 →
    # running minimum from the top: .04, .0533, .0533, .5
    np.testing.assert_allclose(bh_q_values([0.01, 0.04, 0.03, 0.5]), [0.04, 0.0533333, 0.0533333, 0.5], atol=1e-6)
    assert bh_q_values([]).size == 0


def test_a_value_does_not_depend_on_its_neighbours():
    alone = binomial_upper_tail(18, 18, 0.5)
    together = binomial_upper_tail([18, 3000, 5], [18, 9000, 40], [0.5, 0.3, 0.01])[0]
    assert alone == together
