"""Common problems (共性问题): the list a region's 通报整治 (notice and clean-up) starts from.

Two kinds of finding, on the same scale so one ranked list can hold both:

- ``rising``: a category group counted more this period than last across many compounds
  of a street or district. Its score is the z statistic of the two Poisson counts,
  ``(n_now - n_before) / sqrt(n_now + n_before)``, so a rise from 40 to 80 outranks one
  from 1 to 4; it must also show in at least ``min_compounds`` compounds (a spread, not
  one compound's bad month).
- ``concentrated``: a street where one group takes a larger share of the street's
  incidents than of the city's. Its score is the binomial z statistic of the street's count
  against the city share, ``(n - N·p) / sqrt(N·p·(1-p))``, and the group must occur in at
  least ``min_compounds`` of the street's compounds.

Only findings with a score of at least ``min_score`` (default 2, roughly the 95% level) are
kept. Hundreds of street × group pairs are tested each night, so a few pass by chance: each
finding carries ``q_value``, its Benjamini–Hochberg false-discovery rate over every pair
tested (one-sided normal p-values), and ``max_q`` can filter on it. The frame passed as ``stats_*`` may hold categories instead of groups in its
``category_group`` column; the analysis is the same.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import AttributedEvent as E
from schemas.public import CompoundPublicStats as S
from schemas.registry import Compound

COLUMNS = [
    "rank", "kind", "level", "district", "region", "group", "n_now", "n_before", "change",
    "compounds", "compounds_affected", "compounds_rising", "share", "city_share", "score", "q_value",
]
_SCHEMA = {
    "rank": pl.UInt32, "kind": pl.String, "level": pl.String, "district": pl.String,
    "region": pl.String, "group": pl.String, "n_now": pl.Int64, "n_before": pl.Int64,
    "change": pl.Int64, "compounds": pl.UInt32, "compounds_affected": pl.UInt32,
    "compounds_rising": pl.UInt32, "share": pl.Float64, "city_share": pl.Float64,
    "score": pl.Float64, "q_value": pl.Float64,
}
_LEVELS = {"street": ["district", "street"], "district": ["district"]}


def common_problems(
    stats_current: DataFrame[S],
    stats_previous: DataFrame[S] | None,
    compounds: DataFrame[Compound],
    *,
    min_compounds: int = 3,
    min_score: float = 2.0,
    max_q: float | None = None,
) -> pl.DataFrame:
    """Rising and concentrated problem groups by street and district, best-supported first."""
    per = _per_compound(stats_current, stats_previous, compounds)
    found = [_rising(per, compounds, lvl, min_compounds) for lvl in _LEVELS]
    found.append(_concentrated(per, compounds, min_compounds))
    found.append(pl.DataFrame(schema={c: t for c, t in _SCHEMA.items() if c not in ("rank", "q_value")}
                              | {"_eligible": pl.Boolean}))
    tested = pl.concat(found, how="diagonal_relaxed")
    tested = tested.with_columns(pl.Series("q_value", _bh_q_values(tested["score"].to_numpy())))
    out = tested.filter(pl.col("_eligible") & (pl.col("score") >= min_score))
    if max_q is not None:
        out = out.filter(pl.col("q_value") <= max_q)
    if stats_previous is None:  # no previous period: nothing to compare against
        out = out.with_columns(pl.lit(None).alias(c) for c in ("n_before", "change", "compounds_rising"))
    # on equal scores the street comes first: it is the more specific place to act
    out = out.sort([pl.col("score"), pl.col("level") != "street", "region", "group", "kind"],
                   descending=[True, False, False, False, False])
    out = out.with_row_index("rank", offset=1)
    return out.select(pl.col(c).cast(t) for c, t in _SCHEMA.items())


def _upper_tail(z: np.ndarray) -> np.ndarray:
    """P(Z > z) for a standard normal, via Abramowitz–Stegun 7.1.26 (error < 1.5e-7)."""
    x = np.abs(z) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    half_erfc = 0.5 * poly * np.exp(-x * x)
    return np.where(z >= 0, half_erfc, 1.0 - half_erfc)


def _bh_q_values(scores: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values of one-sided z scores; a missing score counts as a test
    that found nothing (p = 1)."""
    z = np.asarray(scores, dtype=float)
    p = np.where(np.isfinite(z), _upper_tail(np.nan_to_num(z, nan=0.0, posinf=40.0, neginf=-40.0)), 1.0)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    q = np.empty(m)
    q[order] = q_sorted
    return q


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
    has_before = prev is not None
    both = both.with_columns(
        pl.col("n_now").fill_null(0),
        pl.col("n_before").fill_null(0) if has_before else pl.col("n_before"),
    )
    where = compounds.select(
        pl.col(Compound.compound_id).cast(pl.String), Compound.district, Compound.street)
    return both.join(where, on="compound_id", how="inner").rename({S.category_group: "group"})


def _region_sizes(compounds, keys) -> pl.DataFrame:
    return compounds.group_by(keys).agg(pl.len().cast(pl.UInt32).alias("compounds"))


def _rising(per: pl.DataFrame, compounds, level: str, min_compounds: int) -> pl.DataFrame:
    keys = _LEVELS[level]
    if per["n_before"].null_count() == per.height:
        return pl.DataFrame(schema={"score": pl.Float64, "_eligible": pl.Boolean})
    region_total = per.group_by(keys).agg(pl.col("n_now").sum().alias("_region_n"))
    group_city = per.group_by("group").agg(pl.col("n_now").sum().alias("_city_n"))
    city_n = max(int(per["n_now"].sum()), 1)
    agg = per.group_by([*keys, "group"]).agg(
        pl.col("n_now").sum(),
        pl.col("n_before").sum(),
        (pl.col("n_now") > 0).sum().cast(pl.UInt32).alias("compounds_affected"),
        (pl.col("n_now") > pl.col("n_before")).sum().cast(pl.UInt32).alias("compounds_rising"),
    )
    return (
        agg.join(region_total, on=keys).join(group_city, on="group")
        .join(_region_sizes(compounds, keys), on=keys, how="left")
        .with_columns(
            pl.lit("rising").alias("kind"),
            pl.lit(level).alias("level"),
            pl.col(keys[-1]).alias("region"),
            (pl.col("n_now") - pl.col("n_before")).alias("change"),
            (pl.col("n_now") / pl.col("_region_n")).alias("share"),
            (pl.col("_city_n") / city_n).alias("city_share"),
            ((pl.col("n_now") - pl.col("n_before"))
             / (pl.col("n_now") + pl.col("n_before")).sqrt()).alias("score"),
        )
        .with_columns(((pl.col("change") > 0) & (pl.col("compounds_rising") >= min_compounds))
                      .alias("_eligible"))
        .drop("_region_n", "_city_n", "street", strict=False)
    )


def _concentrated(per: pl.DataFrame, compounds, min_compounds: int) -> pl.DataFrame:
    keys = _LEVELS["street"]
    city_n = int(per["n_now"].sum())
    if city_n == 0:
        return pl.DataFrame(schema={"score": pl.Float64, "_eligible": pl.Boolean})
    group_city = per.group_by("group").agg((pl.col("n_now").sum() / city_n).alias("city_share"))
    street_n = per.group_by(keys).agg(pl.col("n_now").sum().alias("_street_n"))
    agg = per.group_by([*keys, "group"]).agg(
        pl.col("n_now").sum(),
        pl.col("n_before").sum(),
        (pl.col("n_now") > 0).sum().cast(pl.UInt32).alias("compounds_affected"),
        (pl.col("n_now") > pl.col("n_before")).sum().cast(pl.UInt32).alias("compounds_rising"),
    )
    expected = pl.col("_street_n") * pl.col("city_share")
    return (
        agg.join(street_n, on=keys).join(group_city, on="group")
        .join(_region_sizes(compounds, keys), on=keys, how="left")
        .with_columns(
            pl.lit("concentrated").alias("kind"),
            pl.lit("street").alias("level"),
            pl.col("street").alias("region"),
            (pl.col("n_now") - pl.col("n_before")).alias("change"),
            (pl.col("n_now") / pl.col("_street_n")).alias("share"),
            ((pl.col("n_now") - expected)
             / (expected * (1 - pl.col("city_share"))).sqrt()).alias("score"),
        )
        .with_columns(((pl.col("share") > pl.col("city_share"))
                       & (pl.col("city_share") < 1)
                       & (pl.col("compounds_affected") >= min_compounds)).alias("_eligible"))
        .drop("_street_n", "street")
    )


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
