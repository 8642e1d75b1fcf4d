"""The plaque registry (牌匾台账) and the plaque actions a rating date calls for."""
from __future__ import annotations

import pandera.polars as pa
import polars as pl

PLAQUE_STATUSES = ["active", "superseded", "withdrawn"]
PLAQUE_ACTIONS = ["new", "replace", "withdraw", "reissue"]
# Serials and signatures travel in URL paths; the intake service accepts only these.
URL_PART = r"^[A-Za-z0-9_\-]{1,128}$"


class Plaque(pa.DataFrameModel):
    """One physical plaque ever issued, with where it stands today.

    ``reason`` says why the status last changed (the issue reason while active);
    ``issue_reason`` keeps why it was issued, so a re-run of a date can undo that date.
    """

    serial: str = pa.Field(unique=True, str_matches=URL_PART)
    compound_id: str
    stars: pl.Int8 = pa.Field(ge=1, le=5)
    rating_year: pl.Int32
    issued_on: pl.Date
    status: str = pa.Field(isin=PLAQUE_STATUSES)
    status_changed_on: pl.Date
    reason: str
    batch_id: str
    issue_reason: str = pa.Field(nullable=True)

    class Config:
        coerce = True

    @pa.dataframe_check
    def one_active_per_compound(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("status") == "active").sum().over("compound_id") <= 1
        )


class PlaqueAction(pa.DataFrameModel):
    """One thing a printer or a street office must do on a rating date."""

    serial: str = pa.Field(str_matches=URL_PART)
    compound_id: str
    action: str = pa.Field(isin=PLAQUE_ACTIONS)
    stars: pl.Int8 = pa.Field(ge=0, le=5)
    previous_serial: str = pa.Field(nullable=True)
    reason: str

    class Config:
        coerce = True
        unique = ["serial", "action"]
