"""Raw exports after header mapping and before parsing: what readers hand to validation."""
from __future__ import annotations

import polars as pl
import pandera.polars as pa


class RawCaseText(pa.DataFrameModel):
    """One batch of an export's rows on the canonical column names, every value still text.

    Whatever the department's layout (Chinese headers, Excel, JSON Lines, Parquet), its
    mapping.yaml turns it into this shape; nothing is parsed or rejected yet, so a bad
    value is still here to be quarantined with its line.
    """

    record_id: str = pa.Field(nullable=True)
    category: str = pa.Field(nullable=True)
    occurred_at: str = pa.Field(nullable=True)
    address: str = pa.Field(nullable=True)
    lon: str = pa.Field(nullable=True)
    lat: str = pa.Field(nullable=True)
    coord_sys: str = pa.Field(nullable=True)
    compound_id: str = pa.Field(nullable=True)
    police_case_no: str = pa.Field(nullable=True)
    status: str = pa.Field(nullable=True)
    description: str = pa.Field(nullable=True)

    class Config:
        strict = True
        ordered = True


class ReaderProblem(pa.DataFrameModel):
    """A row a reader could not even split into fields (ragged CSV row, non-object JSON line)."""

    line: pl.Int64 = pa.Field(ge=1)
    reason: str
    field: str = pa.Field(nullable=True)
    value: str = pa.Field(nullable=True)
    record_id: str = pa.Field(nullable=True)
