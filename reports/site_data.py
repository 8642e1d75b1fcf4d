"""Shapes the aggregated tables into one record per compound page (vectorised, no I/O).

Only ratings, the registry's public fields and the public aggregates go in; events never.
"""
from __future__ import annotations

from datetime import date

import polars as pl
from pandera.typing.polars import DataFrame

from reports.site_slug import page_slug
from schemas.public import CompoundMonthly, CompoundPublicStats
from schemas.ratings import Rating
from schemas.registry import Compound

SUPPRESS_BELOW = 3
SUPPRESSED = "少量"


def trend_months(as_of: date) -> list[date]:
    """The first days of the 12 months ending with the month of ``as_of``."""
    idx = as_of.year * 12 + as_of.month - 1
    return [date((i) // 12, (i) % 12 + 1, 1) for i in range(idx - 11, idx + 1)]


def compound_base(ratings: DataFrame[Rating], compounds: DataFrame[Compound], as_of: date) -> pl.DataFrame:
    """One row per compound in the registry or the ratings of ``as_of``, with its rating
    (``not_rated`` when it has none) and its public registry fields."""
    r = ratings.filter(pl.col(Rating.as_of) == as_of).select(
        Rating.compound_id, Rating.name, Rating.district, Rating.street,
        Rating.safety_index, Rating.stars, Rating.status, Rating.rules,
    )
    c = compounds.select(
        pl.col(Compound.compound_id),
        pl.col(Compound.name).alias("reg_name"),
        pl.col(Compound.aliases).fill_null(""),
        pl.col(Compound.district).alias("reg_district"),
        pl.col(Compound.street).alias("reg_street"),
        pl.col(Compound.community).fill_null(""),
    )
    base = c.join(r, on="compound_id", how="full", coalesce=True)
    return base.select(
        "compound_id",
        pl.coalesce("name", "reg_name").alias("name"),
        pl.col("aliases").fill_null(""),
        pl.coalesce("district", "reg_district").fill_null("").alias("district"),
        pl.coalesce("street", "reg_street").fill_null("").alias("street"),
        pl.col("community").fill_null(""),
        "safety_index",
        pl.col("stars").fill_null(0).cast(pl.Int8),
        pl.col("status").fill_null("not_rated"),
        pl.col("rules").fill_null(""),
    ).with_columns(
        pl.col("compound_id").map_elements(page_slug, return_dtype=pl.String).alias("slug")
    ).sort("compound_id")


def area_comparison(base: pl.DataFrame) -> pl.DataFrame:
    """Average index and five-star share of each compound's street and district (rated
    compounds only), joined onto ``base`` as ``street_*``/``district_*``/``city_*``."""
    rated = base.filter(pl.col("status") != "not_rated")
    aggs = [
        pl.col("safety_index").mean().alias("avg"),
        (pl.col("stars") == 5).mean().alias("five"),
        pl.len().alias("n"),
    ]
    street = rated.group_by("district", "street").agg(aggs)
    district = rated.group_by("district").agg(aggs)
    city = rated.select(aggs)
    out = (
        base.join(street.rename({"avg": "street_avg", "five": "street_five", "n": "street_n"}),
                  on=["district", "street"], how="left")
        .join(district.rename({"avg": "district_avg", "five": "district_five", "n": "district_n"}),
              on="district", how="left")
    )
    city_row = city.row(0) if city.height else (None, None, 0)
    return out.with_columns(
        pl.lit(city_row[0], pl.Float64).alias("city_avg"),
        pl.lit(city_row[1], pl.Float64).alias("city_five"),
    )


def group_counts(stats: DataFrame[CompoundPublicStats], as_of: date, group_order: list[str],
                 labels: dict[str, str]) -> pl.DataFrame:
    """Per compound: the groups with at least one counted incident, as display rows.

    Groups with none are not listed. Counts under 3 read "少量" and are ordered by the fixed
    group order, not by count, so their order does not reveal a 1 from a 2."""
    order = {g: i for i, g in enumerate(group_order)}
    s = (
        stats.filter((pl.col(CompoundPublicStats.as_of) == as_of) & (pl.col(CompoundPublicStats.n) > 0))
        .group_by(CompoundPublicStats.compound_id, CompoundPublicStats.category_group)
        .agg(pl.col(CompoundPublicStats.n).sum())
    )
    shown = pl.col("n") >= SUPPRESS_BELOW
    return (
        s.with_columns(
            pl.col("category_group").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("g_ord"),
            pl.col("category_group").replace_strict(labels, default=pl.col("category_group"),
                                                    return_dtype=pl.String).alias("label"),
            pl.when(shown).then(pl.col("n").cast(pl.String)).otherwise(pl.lit(SUPPRESSED)).alias("shown"),
            pl.when(shown).then(pl.col("n")).otherwise(0).alias("sort_n"),
        )
        .sort(["compound_id", "sort_n", "g_ord", "category_group"], descending=[False, True, False, False])
        .group_by("compound_id", maintain_order=True)
        .agg(
            pl.struct(pl.col("label"), pl.col("shown")).alias("groups"),
            # Tips follow the groups with the most incidents, suppressed or not.
            pl.col("category_group").sort_by(["n", "g_ord"], descending=[True, False]).head(2).alias("leading"),
            pl.col("n").sum().alias("n_total"),
        )
    )


def monthly_trend(base: pl.DataFrame, monthly: DataFrame[CompoundMonthly],
                  history: DataFrame[Rating], as_of: date) -> pl.DataFrame:
    """Per compound: 12 monthly incident counts and the month's safety index (from the
    monthly table, else the last rating of that month in ``history``)."""
    months = pl.DataFrame({"month": trend_months(as_of)}, schema={"month": pl.Date})
    grid = base.select("compound_id").join(months, how="cross")
    m = monthly.filter(pl.col(CompoundMonthly.as_of) == as_of).group_by(
        CompoundMonthly.compound_id, CompoundMonthly.month
    ).agg(pl.col(CompoundMonthly.n_events).sum(), pl.col(CompoundMonthly.safety_index).last())
    h = (
        history.filter(pl.col(Rating.as_of) <= as_of)
        .with_columns(pl.col(Rating.as_of).dt.truncate("1mo").alias("month"))
        .sort(Rating.as_of)
        .group_by(Rating.compound_id, "month")
        .agg(pl.col(Rating.safety_index).last().alias("hist_index"))
    )
    return (
        grid.join(m, on=["compound_id", "month"], how="left")
        .join(h, on=["compound_id", "month"], how="left")
        .with_columns(
            pl.col("n_events").fill_null(0).cast(pl.Int64),
            pl.coalesce("safety_index", "hist_index").alias("month_index"),
        )
        .sort("compound_id", "month")
        .group_by("compound_id", maintain_order=True)
        .agg(pl.col("month"), pl.col("n_events"), pl.col("month_index"))
    )


def side_tables(base: pl.DataFrame, plaques: pl.DataFrame | None, checkins: pl.DataFrame | None,
                replies: pl.DataFrame | None, needs: pl.DataFrame | None = None) -> pl.DataFrame:
    """Joins the optional per-compound inputs: plaque link, check-ins and residents'
    needs this month, the right-to-reply text."""
    out = base
    if needs is not None and needs.height:
        n = needs.group_by("compound_id").agg(pl.col("n_needs_month").sum().cast(pl.Int64))
        out = out.join(n, on="compound_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Int64).alias("n_needs_month"))
    if plaques is not None and plaques.height:
        p = plaques.select("compound_id", "serial", "url").sort("compound_id", "serial").group_by(
            "compound_id", maintain_order=True).agg(pl.col("serial").first(), pl.col("url").first())
        out = out.join(p, on="compound_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.String).alias("serial"), pl.lit(None, pl.String).alias("url"))
    if checkins is not None and checkins.height:
        c = checkins.group_by("compound_id").agg(pl.col("n_month").sum().cast(pl.Int64))
        out = out.join(c, on="compound_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Int64).alias("n_month"))
    if replies is not None and replies.height:
        r = (
            replies.filter(pl.col("reply_text").is_not_null() & (pl.col("reply_text").str.strip_chars() != ""))
            .group_by("compound_id").agg(pl.col("reply_text").str.strip_chars().sort().str.join("\n\n"))
        )
        out = out.join(r, on="compound_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.String).alias("reply_text"))
    return out.with_columns(pl.col("n_month").fill_null(0), pl.col("n_needs_month").fill_null(0))
