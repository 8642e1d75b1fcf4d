"""The rating window: which incidents count on a rating date, and how much each weighs."""
from __future__ import annotations

import calendar
from datetime import date, timedelta

import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import AttributedEvent as AE
from scoring.rules import Rules


def add_months(d: date, months: int) -> date:
    """`d` shifted by whole calendar months, the day clamped to the month's length."""
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def window_start(as_of: date, rules: Rules) -> date:
    """First counted day: the window is (as_of - months, as_of], i.e. [start, as_of]."""
    return add_months(as_of, -rules.window.months) + timedelta(days=1)


def counted_events(events: DataFrame[AE] | pl.LazyFrame, rules: Rules, as_of: date) -> pl.LazyFrame:
    """Incidents that count on `as_of`, one row each, with their weights.

    Counted: placed in a compound, not excluded, occurred in the window. `severity` is the
    category weight, `recency` halves every half-life of age, `weight` is their product.
    Unknown category codes weigh like one theft rather than vanishing (ingestion should
    have quarantined them; a zero weight would hide them). `event_id` is unique by
    contract (checked by the AttributedEvent model upstream), so no de-duplication here.
    """
    start = window_start(as_of, rules)
    day = pl.col(AE.occurred_at).cast(pl.Date)
    age = (pl.lit(as_of) - day).dt.total_days().cast(pl.Float64)
    sev = pl.col(AE.category_code).replace_strict(
        rules.categories, default=rules.categories.get("theft", 1.0), return_dtype=pl.Float64
    )
    return (
        events.lazy()
        .filter(
            pl.col(AE.compound_id).is_not_null()
            & (pl.col(AE.method) != "excluded")
            & day.is_between(pl.lit(start), pl.lit(as_of))
        )
        .select(
            AE.event_id, AE.source, AE.compound_id, AE.category_code, AE.category_group,
            day.alias("day"),
            age.alias("age_days"),
            sev.alias("severity"),
        )
        .with_columns(
            (0.5 ** (pl.col("age_days") / rules.window.half_life_days)).alias("recency"),
        )
        .with_columns((pl.col("severity") * pl.col("recency")).alias("weight"))
    )
