"""Common problems (共性问题): the list a region's 通报整治 (notice and clean-up) starts from.

Every street × category group and district × group pair with a count is one one-sided exact
binomial test; the night's tests are one family, and a pair is *listed* only when its
Benjamini–Hochberg q-value is within ``common_problems.false_discovery_rate``
(config/rules.yaml) and the problem is spread over at least ``min_compounds`` compounds. So
a night with nothing real lists nothing at least 1 − FDR of the time (measured:
bench/common_problems_bench.py).

- ``rising``: given a pair's ``n = n_now + n_before`` (equal periods), ``n_now`` is
  Binomial(n, ½) when the rate did not change. Effect: the rate ratio ``n_now / n_before``
  with its exact (Clopper–Pearson) interval; null when ``n_before`` is 0.
- ``concentrated``: a street's count of a group is Binomial(street total, city share) when
  the group is not concentrated there. Effect: the share ratio ``share / city_share`` with
  its exact interval. It claims no change: ``n_before`` and ``change`` are null.

The ``stats_*`` frames may hold categories instead of groups in ``category_group``.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from pandera.typing.polars import DataFrame
from scipy.stats import beta, binom, false_discovery_control

from schemas.events import AttributedEvent as E
from schemas.public import CompoundPublicStats as S
from schemas.registry import Compound

_SCHEMA = {
    "rank": pl.UInt32, "kind": pl.String, "level": pl.String, "district": pl.String,
    "region": pl.String, "group": pl.String, "n_now": pl.Int64, "n_before": pl.Int64,
    "change": pl.Int64, "compounds": pl.UInt32, "compounds_affected": pl.UInt32,
    "compounds_rising": pl.UInt32, "share": pl.Float64, "city_share": pl.Float64,
    "effect": pl.Float64, "effect_low": pl.Float64, "effect_high": pl.Float64,
    "p_value": pl.Float64, "q_value": pl.Float64, "tested": pl.UInt32,
}
COLUMNS = list(_SCHEMA)
_LEVELS = {"street": ["district", "street"], "district": ["district"]}
# the columns of a family with no test at all
_FAMILY = {c: t for c, t in _SCHEMA.items() if c not in ("rank", "tested", "effect", "effect_low", "effect_high",
                                                         "p_value", "q_value")}
_FAMILY |= {"_total": pl.Int64, "_null": pl.Float64, "_eligible": pl.Boolean}


def common_problems(
    stats_current: DataFrame[S],
    stats_previous: DataFrame[S] | None,
    compounds: DataFrame[Compound],
    *,
    false_discovery_rate: float = 0.10,
    confidence: float = 0.95,
    min_compounds: int = 3,
) -> pl.DataFrame:
    """The listed common problems (``COLUMNS``), most certain first; empty when none passes."""
    tested = problem_family(stats_current, stats_previous, compounds, min_compounds=min_compounds)
    listed = tested.filter(pl.col("_eligible") & (pl.col("q_value") <= false_discovery_rate))
    return (
        _with_effects(listed, confidence)
        .sort("q_value", "p_value", pl.col("level") != "street", "region", "group", "kind")
        .with_row_index("rank", offset=1).with_columns(tested=pl.lit(tested.height))
        .select(pl.col(c).cast(t) for c, t in _SCHEMA.items())
    )


def problem_family(
    stats_current: DataFrame[S],
    stats_previous: DataFrame[S] | None,
    compounds: DataFrame[Compound],
    *,
    min_compounds: int = 3,
) -> pl.DataFrame:
    """Every test of the night, listed or not: the counts, ``p_value``, ``q_value`` (over the
    whole family) and ``_eligible`` (the direction of a finding and its spread)."""
    per = _per_compound(stats_current, stats_previous, compounds)
    tested = pl.concat([pl.DataFrame(schema=_FAMILY)]
                       + [_rising(per, compounds, level, min_compounds) for level in _LEVELS]
                       + [_concentrated(per, compounds, min_compounds)], how="diagonal_relaxed")
    p = binom.sf(tested["n_now"].to_numpy() - 1, tested["_total"].to_numpy(), tested["_null"].to_numpy())
    return tested.with_columns(p_value=pl.Series(p, dtype=pl.Float64),
                               q_value=pl.Series(false_discovery_control(p, method="bh"), dtype=pl.Float64))


def exact_interval(k: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The Clopper–Pearson interval of each proportion ``k / n`` at ``confidence``."""
    tail = (1.0 - confidence) / 2
    low = np.where(k > 0, beta.ppf(tail, k, n - k + 1), 0.0)
    high = np.where(k < n, beta.ppf(1 - tail, k + 1, n - k), 1.0)
    return low, high


def _with_effects(found: pl.DataFrame, confidence: float) -> pl.DataFrame:
    """Effect sizes and their exact intervals, from the proportion ``n_now / _total``: a rate
    ratio ``p / (1 - p)`` for a rise, a share ratio ``p / city_share`` for a concentration."""
    k, n = found["n_now"].to_numpy().astype(float), found["_total"].to_numpy().astype(float)
    rising, base = (found["kind"] == "rising").to_numpy(), found["city_share"].to_numpy()
    low, high = exact_interval(k, n, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = [np.where(rising, p / (1.0 - p), p / base) for p in (k / n, low, high)]
    return found.with_columns(pl.Series(name, np.where(np.isfinite(v), v, np.nan)).fill_nan(None)
                              for name, v in zip(("effect", "effect_low", "effect_high"), ratios))


def _per_compound(cur, prev, compounds) -> pl.DataFrame:
    """compound × group with counts now and before (null: no earlier period), and the
    compound's street and district."""
    def counts(stats, name):
        return stats.group_by(S.compound_id, S.category_group).agg(pl.col(S.n).cast(pl.Int64).sum().alias(name))

    per = counts(cur, "n_now")
    if prev is not None and prev.height:  # an empty period is no baseline
        per = (per.join(counts(prev, "n_before"), on=[S.compound_id, S.category_group], how="full", coalesce=True)
               .with_columns(pl.col("n_now", "n_before").fill_null(0)))
    else:
        per = per.with_columns(n_before=pl.lit(None, pl.Int64))
    where = compounds.select(pl.col(Compound.compound_id).cast(pl.String), Compound.district, Compound.street)
    return per.join(where, on="compound_id").rename({S.category_group: "group"})


def _pairs(per: pl.DataFrame, compounds, level: str) -> pl.DataFrame:
    """Region × group counts at ``level``, with the region's share and the city's share of the group."""
    keys = _LEVELS[level]
    city_n = max(int(per["n_now"].sum()), 1)
    sizes = compounds.group_by(keys).agg(pl.len().cast(pl.UInt32).alias("compounds"))
    return (
        per.group_by([*keys, "group"]).agg(
            pl.col("n_now", "n_before").sum(),
            (pl.col("n_now") > 0).sum().cast(pl.UInt32).alias("compounds_affected"),
            (pl.col("n_now") > pl.col("n_before")).sum().cast(pl.UInt32).alias("compounds_rising"))
        .join(sizes, on=keys, how="left")
        .with_columns(pl.col("n_now").sum().over(keys).alias("_region_n"),
                      (pl.col("n_now").sum().over("group") / city_n).alias("city_share"),
                      level=pl.lit(level), region=pl.col(keys[-1]))
        .with_columns(share=pl.col("n_now") / pl.col("_region_n"))
    )


def _rising(per: pl.DataFrame, compounds, level: str, min_compounds: int) -> pl.DataFrame:
    if per["n_before"].null_count() == per.height:  # no earlier period
        return pl.DataFrame(schema=_FAMILY)
    total = pl.col("n_now") + pl.col("n_before")
    return (_pairs(per, compounds, level).filter(total > 0)
            .with_columns(kind=pl.lit("rising"), change=pl.col("n_now") - pl.col("n_before"), _total=total,
                          _null=pl.lit(0.5))
            .with_columns(_eligible=(pl.col("change") > 0) & (pl.col("compounds_rising") >= min_compounds)))


def _concentrated(per: pl.DataFrame, compounds, min_compounds: int) -> pl.DataFrame:
    return (_pairs(per, compounds, "street").filter(pl.col("n_now") > 0)
            .with_columns(kind=pl.lit("concentrated"), n_before=pl.lit(None, pl.Int64), change=pl.lit(None, pl.Int64),
                          _total=pl.col("_region_n"), _null=pl.col("city_share"),
                          _eligible=(pl.col("share") > pl.col("city_share")) & (pl.col("city_share") < 1)
                          & (pl.col("compounds_affected") >= min_compounds)))


def leading_group(stats_current: DataFrame[S]) -> pl.DataFrame:
    """Each compound's most counted group (ties broken by name), for the map layer."""
    return (
        stats_current.filter(pl.col(S.n) > 0)
        .group_by(S.compound_id, S.category_group).agg(pl.col(S.n).sum())
        .sort([S.compound_id, S.n, S.category_group], descending=[False, True, False])
        .unique(S.compound_id, keep="first", maintain_order=True)
        .select(S.compound_id, pl.col(S.category_group).alias("leading_group"))
    )


def period_stats(events: DataFrame[E], end: date, months: int = 3, *,
                 by: str = E.category_group) -> pl.DataFrame:
    """Counts per compound and group (or ``by="category_code"``) for the ``months`` up to
    ``end``, shaped like ``CompoundPublicStats`` (``as_of`` = ``end``).

    The public stats cover overlapping 12-month windows, in which a rise this quarter is
    diluted; two calls here give non-overlapping periods to compare, e.g.
    ``period_stats(ev, as_of)`` against ``period_stats(ev, as_of - 3 months)``.
    """
    start = pl.lit(end).dt.offset_by(f"-{months}mo")
    day = pl.col(E.occurred_at).cast(pl.Date)
    return (
        events.filter(pl.col(E.compound_id).is_not_null() & (pl.col(E.method) != "excluded")
                      & (day > start) & (day <= pl.lit(end)))
        .group_by(E.compound_id, by).agg(pl.len().cast(pl.Int32).alias(S.n))
        .select(E.compound_id, pl.lit(end).alias(S.as_of), pl.col(by).alias(S.category_group), S.n)
        .sort(S.compound_id, S.category_group)
    )
