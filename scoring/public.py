"""Public aggregates: counts by category group and by month, the only input of public pages."""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import AttributedEvent as AE
from schemas.public import CompoundMonthly, CompoundPublicStats
from schemas.ratings import Rating
from scoring.window import add_months, in_registry

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
    first = as_of.year * 12 + as_of.month - WINDOW_MONTHS  # the trend's first month, as year * 12 + month - 1
    ids = ratings[Rating.compound_id].unique().sort()  # the frames below come out in this order
    placed = events.lazy().filter(
        pl.col(AE.compound_id).is_not_null() & (pl.col(AE.method) != "excluded") & (day > start) & (day <= as_of)
    ).select(AE.compound_id, pl.col(AE.category_group).cast(pl.Categorical).alias("group"),
             (day.dt.year().cast(pl.Int64) * 12 + day.dt.month().cast(pl.Int64) - 1 - first).alias("m"))
    # Counted by integer codes (compound position, group code, month): no string is grouped.
    coded = in_registry(placed, ids).select("cidx", "group", "m").collect()
    n, cidx = ids.len(), coded["cidx"].to_numpy()
    names = coded["group"].unique()  # the groups present, numbered 0..k-1 below
    k = max(names.len(), 1)
    dense = np.full(int(names.to_physical().max() or 0) + 1, -1, dtype=np.int64)
    dense[names.to_physical().to_numpy()] = np.arange(names.len())
    per_group = np.bincount(cidx * k + dense[coded["group"].to_physical().to_numpy()], minlength=n * k)
    hit = np.flatnonzero(per_group)
    stats = pl.DataFrame({AE.compound_id: ids.gather(hit // k), "category_group": names.cast(pl.String).gather(hit % k),
                          "n": per_group[hit]})
    if group_of:
        stats = stats.with_columns(pl.col("category_group").replace(group_of))
    stats = stats.group_by(AE.compound_id, "category_group").agg(pl.col("n").sum().cast(pl.Int32)).select(
        AE.compound_id, pl.lit(as_of).alias("as_of"), "category_group", "n").sort(AE.compound_id, "category_group")
    in_trend = coded["m"].to_numpy() >= 0  # the window's first days fall in the month before the trend
    per_month = np.bincount(cidx[in_trend] * WINDOW_MONTHS + coded["m"].to_numpy()[in_trend],
                            minlength=n * WINDOW_MONTHS)
    months = np.array([date((first + k) // 12, (first + k) % 12 + 1, 1) for k in range(WINDOW_MONTHS)],
                      dtype="datetime64[D]")
    monthly = pl.DataFrame({
        AE.compound_id: ids.gather(np.repeat(np.arange(n), WINDOW_MONTHS)),
        "month": pl.Series(np.tile(months, n)).cast(pl.Date), "n_events": per_month.astype(np.int32),
    }).select(AE.compound_id, pl.lit(as_of).alias("as_of"), "month", "n_events",
              pl.lit(None, dtype=pl.Float64).alias("safety_index"))
    return CompoundPublicStats.validate(stats), CompoundMonthly.validate(monthly)
