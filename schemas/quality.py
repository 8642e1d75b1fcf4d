"""Data-quality tables: the file ledger and the quarantine."""
from __future__ import annotations

import polars as pl
import pandera.polars as pa

FILE_STATUSES = ["loaded", "rejected", "skipped_duplicate"]


class FileLedger(pa.DataFrameModel):
    """One row per landing-zone file seen by ingestion."""

    source: str
    file: str
    file_sha256: str
    status: str = pa.Field(isin=FILE_STATUSES)
    rows_read: pl.Int64 = pa.Field(ge=0)
    rows_accepted: pl.Int64 = pa.Field(ge=0)
    rows_quarantined: pl.Int64 = pa.Field(ge=0)
    error: str = pa.Field(nullable=True)
    ingested_at: pl.Datetime = pa.Field(nullable=True)

    class Config:
        coerce = True

    @pa.dataframe_check
    def rows_add_up(cls, data) -> pl.LazyFrame:
        lf = data.lazyframe
        return lf.select(
            (pl.col("status") != "loaded")
            | (pl.col("rows_read") == pl.col("rows_accepted") + pl.col("rows_quarantined"))
        )


class QuarantineRow(pa.DataFrameModel):
    """A record that failed validation, kept with the reason instead of being lost."""

    source: str
    file: str
    file_sha256: str
    line: pl.Int64 = pa.Field(nullable=True)
    record_id: str = pa.Field(nullable=True)
    field: str = pa.Field(nullable=True)
    reason: str
    value: str = pa.Field(nullable=True)

    class Config:
        coerce = True
