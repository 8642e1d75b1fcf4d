"""Exact binomial tests, Clopper–Pearson intervals and Benjamini–Hochberg q-values, vectorised.

The common-problems list (reports/common_problems.py) needs these for a few thousand
street × group pairs a night. SciPy (``scipy.stats.binomtest``, ``scipy.special.betainc``,
``scipy.stats.false_discovery_control``) is not a dependency of the project; until it is,
this module computes the regularised incomplete beta function by its continued fraction
(Numerical Recipes §6.4, modified Lentz), from which the binomial tails and the exact
intervals follow. ``tests/reports/test_significance.py`` checks it against exact sums.
"""
from __future__ import annotations

import math

import numpy as np

_EPS = 1e-14
_TINY = 1e-300
_MAX_ITER = 20_000
_lgamma = np.vectorize(math.lgamma, otypes=[float])


def _continued_fraction(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
    h = d.copy()
    # an element stops changing once it has converged, so its value never depends on the
    # other elements it was computed with
    done = np.zeros(x.shape, dtype=bool)
    for m in range(1, _MAX_ITER + 1):
        m2 = 2.0 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
            c = 1.0 + aa / c
            c = np.where(np.abs(c) < _TINY, _TINY, c)
            step = d * c
            h = np.where(done, h, h * step)
        done |= np.abs(step - 1.0) < _EPS
        if done.all():
            break
    return h


def betainc(a, b, x) -> np.ndarray:
    """The regularised incomplete beta function I_x(a, b) for a, b > 0, elementwise."""
    a, b, x = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(a, b, x))
    out = np.where(x <= 0.0, 0.0, 1.0)
    inner = (x > 0.0) & (x < 1.0)
    if not inner.any():
        return out
    a, b, x = a[inner], b[inner], x[inner]
    swap = x > (a + 1.0) / (a + b + 2.0)  # the fraction converges fast only below the mean
    aa, bb, xx = np.where(swap, b, a), np.where(swap, a, b), np.where(swap, 1.0 - x, x)
    log_front = (aa * np.log(xx) + bb * np.log1p(-xx)
                 - (_lgamma(aa) + _lgamma(bb) - _lgamma(aa + bb)))
    value = np.exp(log_front) / aa * _continued_fraction(aa, bb, xx)
    out[inner] = np.clip(np.where(swap, 1.0 - value, value), 0.0, 1.0)
    return out


def binomial_upper_tail(k, n, p) -> np.ndarray:
    """P(X >= k) for X ~ Binomial(n, p), elementwise (the one-sided exact test's p-value)."""
    k, n, p = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(k, n, p))
    out = np.ones_like(p)
    some = (k > 0) & (k <= n)
    out[k > n] = 0.0
    if some.any():
        out[some] = betainc(k[some], n[some] - k[some] + 1.0, p[some])
    return out


def _beta_quantile(q: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The x with I_x(a, b) = q: Newton steps on the beta density, kept inside a shrinking
    bracket (a step that leaves it bisects instead), to 1e-13."""
    lo, hi = np.zeros_like(a), np.ones_like(a)
    x = a / (a + b)
    log_beta = _lgamma(a) + _lgamma(b) - _lgamma(a + b)
    for _ in range(200):
        f = betainc(a, b, x) - q
        lo, hi = np.where(f < 0, x, lo), np.where(f < 0, hi, x)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            density = np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - log_beta)
            nxt = x - f / density
        nxt = np.where(np.isfinite(nxt) & (nxt > lo) & (nxt < hi), nxt, 0.5 * (lo + hi))
        done = np.abs(nxt - x) < 1e-13
        x = nxt
        if done.all():
            break
    return x


def clopper_pearson(k, n, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The exact two-sided interval for a binomial proportion k / n at ``confidence``."""
    k, n = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(k, n))
    alpha = 1.0 - confidence
    low, high = np.zeros_like(k), np.ones_like(k)
    has_low, has_high = (k > 0) & (n > 0), (k < n) & (n > 0)
    if has_low.any():
        low[has_low] = _beta_quantile(alpha / 2, k[has_low], n[has_low] - k[has_low] + 1.0)
    if has_high.any():
        high[has_high] = _beta_quantile(1 - alpha / 2, k[has_high] + 1.0, n[has_high] - k[has_high])
    return low, high


def bh_q_values(p) -> np.ndarray:
    """Benjamini–Hochberg q-values (adjusted p-values) of one family of tests."""
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    q = np.empty(m)
    q[order] = q_sorted
    return q
