"""Public aggregates: counts by category group and by month, the only input of public pages."""
from __future__ import annotations

from datetime import date

import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import AttributedEvent as AE
from schemas.public import CompoundMonthly, CompoundPublicStats
from schemas.ratings import Rating
from scoring.window import add_months

WINDOW_MONTHS = 12


def public_aggregates(events: DataFrame[AE], ratings: DataFrame[Rating], as_of: date,
                      group_of: dict[str, str] | None = None,
                      ) -> tuple[DataFrame[CompoundPublicStats], DataFrame[CompoundMonthly]]:
    """Per rated compound: counted incidents by category group over the 12-month window,
    and by calendar month for the 12 months ending with as_of's month (zeros included).

    Counts only, no ids, dates or places of single incidents. `group_of` relabels the
    `category_group` values (e.g. 暴力 -> 暴力类); unlisted groups keep their name. Monthly
    `safety_index` is null here (filled from the rating history by the caller).
    """
    start = add_months(as_of, -WINDOW_MONTHS)
    day = pl.col(AE.occurred_at).cast(pl.Date)
    ids = ratings.select(Rating.compound_id).unique().lazy()
    counted = events.lazy().filter(
        pl.col(AE.compound_id).is_not_null() & (pl.col(AE.method) != "excluded") & (day > start) & (day <= as_of)
    ).select(AE.compound_id, pl.col(AE.category_group).alias("group"), day.dt.truncate("1mo").alias("month"))
    # Two group-bys over one scan, run together; the rated compounds are kept after counting
    # (on far fewer rows than the incidents).
    by_group, counts = pl.collect_all([
        counted.group_by(AE.compound_id, "group").agg(pl.len().alias("n")).join(ids, on=AE.compound_id, how="semi"),
        counted.group_by(AE.compound_id, "month").agg(pl.len().cast(pl.Int32).alias("n_events")),
    ])
    if group_of:
        by_group = by_group.group_by(AE.compound_id, pl.col("group").replace(group_of)).agg(pl.col("n").sum())
    stats = by_group.select(AE.compound_id, pl.lit(as_of).alias("as_of"), pl.col("group").alias("category_group"),
                            pl.col("n").cast(pl.Int32)).sort(AE.compound_id, "category_group")
    first = date(as_of.year, as_of.month, 1)
    months = pl.DataFrame({"month": [add_months(first, -k) for k in range(WINDOW_MONTHS - 1, -1, -1)]})
    monthly = (
        ids.collect().join(months, how="cross")
        .join(counts, on=[AE.compound_id, "month"], how="left")
        .select(AE.compound_id, pl.lit(as_of).alias("as_of"), "month",
                pl.col("n_events").fill_null(0).cast(pl.Int32),
                pl.lit(None, dtype=pl.Float64).alias("safety_index"))
        .sort(AE.compound_id, "month")
    )
    return CompoundPublicStats.validate(stats), CompoundMonthly.validate(monthly)
