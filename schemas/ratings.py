"""Ratings, their explanations and the changes between rating dates."""
from __future__ import annotations

import polars as pl
import pandera.polars as pa

STATUSES = ["rated", "downgraded", "vetoed", "not_rated"]
CHANGES = ["new", "up", "down", "vetoed", "restored", "not_rated", "unchanged"]
EXPLANATION_KINDS = ["category", "source", "rule", "lift", "compare", "override"]


class Rating(pa.DataFrameModel):
    """One compound's star rating on one rating date (the data contract's ratings)."""

    compound_id: str
    name: str
    district: str
    street: str
    safety_index: pl.Float64 = pa.Field(nullable=True, ge=0.0, le=100.0)
    stars: pl.Int8 = pa.Field(ge=0, le=5)
    status: str = pa.Field(isin=STATUSES)
    rules: str = pa.Field(nullable=True)
    ruleset_version: str
    as_of: pl.Date

    class Config:
        coerce = True
        unique = ["compound_id", "as_of"]

    @pa.dataframe_check
    def statuses_agree_with_stars(cls, data) -> pl.LazyFrame:
        s, st = pl.col("stars"), pl.col("status")
        return data.lazyframe.select(
            pl.when(st == "vetoed").then(s == 0)
            .when(st == "not_rated").then(s == 0)
            .otherwise((s >= 1) & (s <= 5))
        )


class ExplanationRow(pa.DataFrameModel):
    """One line of a rating's explanation (internal: may name event ids)."""

    compound_id: str
    as_of: pl.Date
    kind: str = pa.Field(isin=EXPLANATION_KINDS)
    key: str
    value: pl.Float64 = pa.Field(nullable=True)
    detail: str = pa.Field(nullable=True)

    class Config:
        coerce = True


class RatingChange(pa.DataFrameModel):
    """What changed for a compound since its previous rating date."""

    compound_id: str
    as_of: pl.Date
    previous_as_of: pl.Date = pa.Field(nullable=True)
    change: str = pa.Field(isin=CHANGES)
    stars_before: pl.Int8 = pa.Field(nullable=True)
    stars_after: pl.Int8
    reason: str = pa.Field(nullable=True)

    class Config:
        coerce = True
