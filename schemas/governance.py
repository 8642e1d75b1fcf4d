"""The closed loop's frames: one row per need, figures per area, the public compound figures."""
from __future__ import annotations

import pandera.polars as pa
import polars as pl

STATES = ["registered", "assigned", "in_progress", "resolved", "closed", "reopened", "rated"]
LEVELS = ["grid", "community", "street", "district", "city"]


class NeedFact(pa.DataFrameModel):
    """A resident's need as of a moment: state, times, deadline met, escalations, rating."""

    need_id: pl.Int64 = pa.Field(unique=True)
    compound_id: str
    category: str
    registered_at: pl.Datetime = pa.Field()
    deadline_at: pl.Datetime = pa.Field(nullable=True)
    state: str = pa.Field(isin=STATES)
    resolved_at: pl.Datetime = pa.Field(nullable=True)
    closed_at: pl.Datetime = pa.Field(nullable=True)
    on_time: bool
    hours_to_close: pl.Float64 = pa.Field(nullable=True, ge=0)
    escalations: pl.Int64 = pa.Field(ge=0)
    overdue: pl.Int64 = pa.Field(ge=0)
    reopened: bool
    rating: str = pa.Field(nullable=True)


class UnitFigures(pa.DataFrameModel):
    """A period's figures of one area unit (grid, community, street, district or the city)."""

    level: str = pa.Field(isin=LEVELS)
    unit_id: str
    compounds: pl.UInt32 = pa.Field(ge=1)
    received: pl.Int64 = pa.Field(ge=0)
    closed: pl.Int64 = pa.Field(ge=0)
    closed_on_time: pl.Int64 = pa.Field(ge=0)
    median_hours_to_close: pl.Float64 = pa.Field(nullable=True, ge=0)
    escalations: pl.Int64 = pa.Field(ge=0)
    rated: pl.Int64 = pa.Field(ge=0)
    satisfied: pl.Int64 = pa.Field(ge=0)
    open_at_end: pl.Int64 = pa.Field(ge=0)
    overdue_open_at_end: pl.Int64 = pa.Field(ge=0)
    checkins: pl.Int64 = pa.Field(ge=0)

    @pa.dataframe_check(error="closed on time <= closed and satisfied <= rated")
    @classmethod
    def parts_within_wholes(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("closed_on_time") <= pl.col("closed"))
                                     & (pl.col("satisfied") <= pl.col("rated")))


class CompoundNeedFigures(pa.DataFrameModel):
    """What the public compound page shows of this month's needs and check-ins (counts under
    the threshold withheld: null with the matching ``*_suppressed`` flag; a share withheld
    when one of its parts is under the threshold)."""

    compound_id: str = pa.Field(unique=True)
    as_of: pl.Date
    needs_received: pl.Int64 = pa.Field(nullable=True, ge=0)
    needs_closed: pl.Int64 = pa.Field(nullable=True, ge=0)
    on_time_share: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)
    satisfaction_share: pl.Float64 = pa.Field(nullable=True, ge=0, le=1)
    checkins: pl.Int64 = pa.Field(nullable=True, ge=0)
    needs_received_suppressed: bool
    needs_closed_suppressed: bool
    satisfaction_suppressed: bool
    checkins_suppressed: bool
