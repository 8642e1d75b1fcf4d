"""Common problems (共性问题): the list a region's 通报整治 (notice and clean-up) starts from.

Every street × category group and district × group pair with a count is one exact test;
the whole night's tests are one family, and a pair is *listed* only when its
Benjamini–Hochberg q-value is at most the configured false-discovery level
(``common_problems.false_discovery_rate`` in config/rules.yaml) and the problem is spread
over at least ``min_compounds`` compounds. So, on a night with nothing real, the list is
empty at least 1 − FDR of the time (measured: bench/common_problems_bench.py).

- ``rising``: more incidents of a group in a region this period than in the period before
  (equal lengths). Given the pair's total ``n = n_now + n_before``, ``n_now`` is
  Binomial(n, ½) when the rate did not change: the one-sided exact (conditional binomial)
  test. Effect: the rate ratio ``n_now / n_before`` with its exact interval (Clopper–Pearson
  on ``n_now / n``, transformed); null when ``n_before`` is 0 (only the lower bound is finite).
- ``concentrated``: a street where a group takes a larger share of the street's incidents
  than of the whole city's (the street included, so the baseline is never 0). The street's
  count is Binomial(street total, city share) when it is not concentrated: the one-sided
  exact binomial test. Effect: the share ratio ``share / city_share`` with its exact
  interval. A concentration claims no change: its ``n_before`` and ``change`` are null.

The frame passed as ``stats_*`` may hold categories instead of groups in its
``category_group`` column; the analysis is the same.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from pandera.typing.polars import DataFrame

from reports.significance import bh_q_values, binomial_upper_tail, clopper_pearson
from schemas.events import AttributedEvent as E
from schemas.public import CompoundPublicStats as S
from schemas.registry import Compound

COLUMNS = [
    "rank", "kind", "level", "district", "region", "group", "n_now", "n_before", "change",
    "compounds", "compounds_affected", "compounds_rising", "share", "city_share",
    "effect", "effect_low", "effect_high", "p_value", "q_value", "tested",
]
_SCHEMA = {
    "rank": pl.UInt32, "kind": pl.String, "level": pl.String, "district": pl.String,
    "region": pl.String, "group": pl.String, "n_now": pl.Int64, "n_before": pl.Int64,
    "change": pl.Int64, "compounds": pl.UInt32, "compounds_affected": pl.UInt32,
    "compounds_rising": pl.UInt32, "share": pl.Float64, "city_share": pl.Float64,
    "effect": pl.Float64, "effect_low": pl.Float64, "effect_high": pl.Float64,
    "p_value": pl.Float64, "q_value": pl.Float64, "tested": pl.UInt32,
}
_LEVELS = {"street": ["district", "street"], "district": ["district"]}


def common_problems(
    stats_current: DataFrame[S],
    stats_previous: DataFrame[S] | None,
    compounds: DataFrame[Compound],
    *,
    false_discovery_rate: float = 0.10,
    confidence: float = 0.95,
    min_compounds: int = 3,
) -> pl.DataFrame:
    """The listed common problems (``COLUMNS``): q-value within ``false_discovery_rate`` and
    spread over ``min_compounds`` compounds, most certain first. Empty when none passes."""
    tested = problem_family(stats_current, stats_previous, compounds, min_compounds=min_compounds)
    listed = tested.filter(pl.col("_eligible") & (pl.col("q_value") <= false_discovery_rate))
    listed = _with_effects(listed, confidence)
    listed = listed.sort(["q_value", "p_value", pl.col("level") != "street", "region", "group", "kind"],
                         descending=[False, False, False, False, False, False])
    listed = listed.with_row_index("rank", offset=1).with_columns(pl.lit(tested.height).alias("tested"))
    return listed.select(pl.col(c).cast(t) for c, t in _SCHEMA.items())


def problem_family(
    stats_current: DataFrame[S],
    stats_previous: DataFrame[S] | None,
    compounds: DataFrame[Compound],
    *,
    min_compounds: int = 3,
) -> pl.DataFrame:
    """Every test of the night's family, listed or not: the counts, ``p_value``, ``q_value``
    (over the whole family) and ``_eligible`` (the direction of a finding and its spread)."""
    per = _per_compound(stats_current, stats_previous, compounds)
    found = [_rising(per, compounds, lvl, min_compounds) for lvl in _LEVELS]
    found.append(_concentrated(per, compounds, min_compounds))
    empty = {c: t for c, t in _SCHEMA.items() if c not in ("rank", "tested", "effect", "effect_low",
                                                          "effect_high", "q_value")}
    found.append(pl.DataFrame(schema=empty | {"_total": pl.Int64, "_eligible": pl.Boolean}))
    tested = pl.concat(found, how="diagonal_relaxed")
    return tested.with_columns(pl.Series("q_value", bh_q_values(tested["p_value"].to_numpy()), pl.Float64))


def _with_effects(found: pl.DataFrame, confidence: float) -> pl.DataFrame:
    """Effect sizes and their exact intervals (computed for the listed rows only)."""
    rising = (found["kind"] == "rising").to_numpy()
    now = found["n_now"].to_numpy().astype(float)
    # rising: k = n_now of n = n_now + n_before; concentrated: k = n_now of the street's total
    total = np.where(rising, now + found["n_before"].fill_null(0).to_numpy(),
                     found["_total"].to_numpy().astype(float))
    low, high = clopper_pearson(now, total, confidence)
    base = found["city_share"].to_numpy().astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = lambda p: p / (1.0 - p)  # noqa: E731 - proportion of now → rate ratio now/before
        point = np.where(rising, ratio(now / total), (now / total) / base)
        lo = np.where(rising, ratio(low), low / base)
        hi = np.where(rising, ratio(high), high / base)
    finite = lambda v: pl.Series(np.where(np.isfinite(v), v, np.nan)).fill_nan(None)  # noqa: E731
    return found.with_columns(effect=finite(point), effect_low=finite(lo), effect_high=finite(hi))


def _per_compound(cur, prev, compounds) -> pl.DataFrame:
    """compound × group with counts now and before, and the compound's street/district."""
    def counts(stats, name):
        return stats.group_by(S.compound_id, S.category_group).agg(
            pl.col(S.n).cast(pl.Int64).sum().alias(name))

    now = counts(cur, "n_now")
    if prev is not None and prev.height:
        before = counts(prev, "n_before")
        both = now.join(before, on=[S.compound_id, S.category_group], how="full", coalesce=True)
    else:
        both = now.with_columns(pl.lit(None, pl.Int64).alias("n_before"))
    has_before = prev is not None and prev.height > 0  # an empty period is no baseline
    both = both.with_columns(
        pl.col("n_now").fill_null(0),
        pl.col("n_before").fill_null(0) if has_before else pl.col("n_before"),
    )
    where = compounds.select(
        pl.col(Compound.compound_id).cast(pl.String), Compound.district, Compound.street)
    return both.join(where, on="compound_id", how="inner").rename({S.category_group: "group"})


def _region_sizes(compounds, keys) -> pl.DataFrame:
    return compounds.group_by(keys).agg(pl.len().cast(pl.UInt32).alias("compounds"))


def _counts(per: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return per.group_by([*keys, "group"]).agg(
        pl.col("n_now").sum(),
        pl.col("n_before").sum(),
        (pl.col("n_now") > 0).sum().cast(pl.UInt32).alias("compounds_affected"),
        (pl.col("n_now") > pl.col("n_before")).sum().cast(pl.UInt32).alias("compounds_rising"),
    )


def _no_tests() -> pl.DataFrame:
    return pl.DataFrame(schema={"p_value": pl.Float64, "_eligible": pl.Boolean})


def _rising(per: pl.DataFrame, compounds, level: str, min_compounds: int) -> pl.DataFrame:
    keys = _LEVELS[level]
    if per["n_before"].null_count() == per.height:
        return _no_tests()
    region_total = per.group_by(keys).agg(pl.col("n_now").sum().alias("_region_n"))
    group_city = per.group_by("group").agg(pl.col("n_now").sum().alias("_city_n"))
    city_n = max(int(per["n_now"].sum()), 1)
    agg = _counts(per, keys).filter((pl.col("n_now") + pl.col("n_before")) > 0)
    agg = (
        agg.join(region_total, on=keys).join(group_city, on="group")
        .join(_region_sizes(compounds, keys), on=keys, how="left")
        .with_columns(
            pl.lit("rising").alias("kind"),
            pl.lit(level).alias("level"),
            pl.col(keys[-1]).alias("region"),
            (pl.col("n_now") - pl.col("n_before")).alias("change"),
            (pl.col("n_now") / pl.col("_region_n")).alias("share"),
            (pl.col("_city_n") / city_n).alias("city_share"),
            (pl.col("n_now") + pl.col("n_before")).alias("_total"),
        )
        .with_columns(((pl.col("change") > 0) & (pl.col("compounds_rising") >= min_compounds))
                      .alias("_eligible"))
        .drop("_region_n", "_city_n", "street", strict=False)
    )
    p = binomial_upper_tail(agg["n_now"].to_numpy(), agg["_total"].to_numpy(), 0.5)
    return agg.with_columns(pl.Series("p_value", p, pl.Float64))


def _concentrated(per: pl.DataFrame, compounds, min_compounds: int) -> pl.DataFrame:
    keys = _LEVELS["street"]
    city_n = int(per["n_now"].sum())
    if city_n == 0:
        return _no_tests()
    group_city = per.group_by("group").agg((pl.col("n_now").sum() / city_n).alias("city_share"))
    street_n = per.group_by(keys).agg(pl.col("n_now").sum().alias("_total"))
    agg = (
        _counts(per, keys).filter(pl.col("n_now") > 0)
        .join(street_n, on=keys).join(group_city, on="group")
        .join(_region_sizes(compounds, keys), on=keys, how="left")
        .with_columns(
            pl.lit("concentrated").alias("kind"),
            pl.lit("street").alias("level"),
            pl.col("street").alias("region"),
            pl.lit(None, pl.Int64).alias("n_before"),
            pl.lit(None, pl.Int64).alias("change"),
            (pl.col("n_now") / pl.col("_total")).alias("share"),
        )
        .with_columns(((pl.col("share") > pl.col("city_share"))
                       & (pl.col("city_share") < 1)
                       & (pl.col("compounds_affected") >= min_compounds)).alias("_eligible"))
        .drop("street")
    )
    p = binomial_upper_tail(agg["n_now"].to_numpy(), agg["_total"].to_numpy(),
                            agg["city_share"].to_numpy())
    return agg.with_columns(pl.Series("p_value", p, pl.Float64))


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
