"""Aggregated tables: the only inputs public outputs (site, map, plaques) may read."""
from __future__ import annotations

import polars as pl
import pandera.polars as pa


class CompoundPublicStats(pa.DataFrameModel):
    """Counted incidents per compound and category group in the rating window."""

    compound_id: str
    as_of: pl.Date
    category_group: str
    n: pl.Int32 = pa.Field(ge=0)

    class Config:
        coerce = True
        strict = True


class CompoundMonthly(pa.DataFrameModel):
    """A compound's monthly incident count over the 12 months up to the rating date."""

    compound_id: str
    as_of: pl.Date
    month: pl.Date
    n_events: pl.Int32 = pa.Field(ge=0)
    safety_index: pl.Float64 = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = True
