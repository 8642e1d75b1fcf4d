"""Match rates of the attribution per source: the figure the asset check watches."""
from __future__ import annotations

import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import METHODS, AttributedEvent


def match_rates(attributed: DataFrame[AttributedEvent]) -> pl.DataFrame:
    """Per source: `events`, `matched` (placed in a compound), `excluded` (analyst said no
    compound), `review` (needs review), `rate` = matched / (events − excluded), and one
    `n_<method>` column per method."""
    a = attributed
    src, method = pl.col(AttributedEvent.source), pl.col(AttributedEvent.method)
    per_method = [(method == m).sum().cast(pl.Int64).alias(f"n_{m}") for m in METHODS]
    out = (
        a.group_by(src)
        .agg(
            pl.len().cast(pl.Int64).alias("events"),
            pl.col(AttributedEvent.compound_id).is_not_null().sum().cast(pl.Int64).alias("matched"),
            (method == "excluded").sum().cast(pl.Int64).alias("excluded"),
            pl.col(AttributedEvent.needs_review).sum().cast(pl.Int64).alias("review"),
            *per_method,
        )
        .with_columns(
            pl.when(pl.col("events") - pl.col("excluded") > 0)
            .then(pl.col("matched") / (pl.col("events") - pl.col("excluded")))
            .otherwise(1.0)
            .alias("rate")
        )
        .sort(AttributedEvent.source)
    )
    return out.select(AttributedEvent.source, "events", "matched", "excluded", "review", "rate",
                      *[f"n_{m}" for m in METHODS])
