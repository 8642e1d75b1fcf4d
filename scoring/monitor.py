"""Between nightly runs: which compounds a new veto or downgrade record affects, and how."""
from __future__ import annotations

from datetime import date

import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import AttributedEvent as AE
from schemas.ratings import Rating
from scoring.rules import Rules

ALERT_COLUMNS = ["compound_id", "name", "district", "street", "status_before", "status_after",
                 "stars_before", "stars_after", "rules_after", "event_ids", "detected_on"]


def urgent_compounds(events: DataFrame[AE], rules: Rules, since: date, until: date) -> pl.DataFrame:
    """Compounds with a veto- or downgrade-category incident dated after `since` (the last
    rating date) up to `until`, with the incidents' ids (internal)."""
    urgent = sorted(rules.veto_set | set(rules.downgrade_kind_of))
    day = pl.col(AE.occurred_at).cast(pl.Date)
    return (
        events.filter(
            pl.col(AE.compound_id).is_not_null()
            & (pl.col(AE.method) != "excluded")
            & pl.col(AE.category_code).is_in(urgent)
            & (day > since) & (day <= until)
        )
        .group_by(AE.compound_id)
        .agg(pl.col(AE.event_id).sort().str.join("|").alias("event_ids"))
        .sort(AE.compound_id)
    )


def interim_ratings(last: DataFrame[Rating], rescored: DataFrame[Rating], affected: pl.DataFrame,
                    as_of: date) -> DataFrame[Rating]:
    """The last rating date's ratings carried to `as_of`, with only the affected compounds re-rated."""
    ids = affected[AE.compound_id].implode()
    carried = last.filter(~pl.col(Rating.compound_id).is_in(ids)).with_columns(pl.lit(as_of).alias(Rating.as_of))
    fresh = rescored.filter(pl.col(Rating.compound_id).is_in(ids))
    return pl.concat([carried, fresh.select(carried.columns)]).sort(Rating.compound_id)


def urgent_alerts(last: DataFrame[Rating], interim: DataFrame[Rating], affected: pl.DataFrame,
                  detected_on: date) -> pl.DataFrame:
    """One alert per affected compound whose rating got worse: a veto or fewer stars."""
    before = last.select(Rating.compound_id, pl.col(Rating.status).alias("status_before"),
                         pl.col(Rating.stars).alias("stars_before"))
    return (
        interim.join(affected, on=Rating.compound_id, how="inner")
        .join(before, on=Rating.compound_id, how="left")
        .filter(
            ((pl.col(Rating.status) == "vetoed") & (pl.col("status_before") != "vetoed"))
            | (pl.col(Rating.stars) < pl.col("stars_before"))
        )
        .select(
            Rating.compound_id, Rating.name, Rating.district, Rating.street, "status_before",
            pl.col(Rating.status).alias("status_after"), "stars_before",
            pl.col(Rating.stars).alias("stars_after"), pl.col(Rating.rules).alias("rules_after"),
            "event_ids", pl.lit(detected_on).alias("detected_on"),
        )
        .sort(Rating.compound_id)
    )
