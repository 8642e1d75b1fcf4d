"""Analyst decisions applied on every run: incident overrides and compound appeals (申诉)."""
from __future__ import annotations

import polars as pl
import pandera.polars as pa

from schemas.events import SOURCES

OVERRIDE_ACTIONS = ["exclude", "move"]
OVERRIDE_STATUSES = ["applied", "superseded", "not_found", "invalid", "unknown_compound"]
APPEAL_STATUSES = ["filed", "under_review", "decided", "withdrawn"]
APPEAL_OUTCOMES = ["upheld", "partially_upheld", "dismissed"]


class Override(pa.DataFrameModel):
    """One analyst decision about one incident: exclude it, or move it to another compound.

    `event_id` names the incident; when it is empty, `source` + `record_id` name any record
    of it. `to_compound_id` is required for `move`.
    """

    event_id: str = pa.Field(nullable=True)
    source: str = pa.Field(nullable=True)
    record_id: str = pa.Field(nullable=True)
    action: str = pa.Field(isin=OVERRIDE_ACTIONS)
    to_compound_id: str = pa.Field(nullable=True)
    who: str = pa.Field(str_length={"min_value": 1})
    when: pl.Datetime
    why: str = pa.Field(str_length={"min_value": 1})

    class Config:
        coerce = True


class OverrideLog(pa.DataFrameModel):
    """What became of each override on this run (never silently dropped)."""

    event_id: str = pa.Field(nullable=True)
    action: str = pa.Field(nullable=True)
    from_compound_id: str = pa.Field(nullable=True)
    to_compound_id: str = pa.Field(nullable=True)
    who: str = pa.Field(nullable=True)
    when: pl.Datetime = pa.Field(nullable=True)
    why: str = pa.Field(nullable=True)
    status: str = pa.Field(isin=OVERRIDE_STATUSES)
    reason: str = pa.Field(nullable=True)

    class Config:
        coerce = True


class Appeal(pa.DataFrameModel):
    """A compound's appeal (申诉) against its rating, and its right-to-reply text (回应说明).

    `reply_text` is public (shown on the compound's page); keep personal data out of it.
    """

    compound_id: str = pa.Field(str_length={"min_value": 1})
    filed_at: pl.Date
    status: str = pa.Field(isin=APPEAL_STATUSES)
    outcome: str = pa.Field(nullable=True, isin=APPEAL_OUTCOMES)
    reply_text: str = pa.Field(nullable=True)

    class Config:
        coerce = True

    @pa.dataframe_check
    def decided_has_outcome(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("status") != "decided") | pl.col("outcome").is_not_null())


class SourceOutage(pa.DataFrameModel):
    """An analyst's acknowledgement of a known outage of one source (DATA_DIR/decisions/
    source_outages.csv): rating dates from `from` to `to` publish although the source looks
    incomplete; the report shows who acknowledged it, when and why."""

    source: str = pa.Field(isin=list(SOURCES))
    from_date: pl.Date = pa.Field(alias="from")
    to_date: pl.Date = pa.Field(alias="to")
    who: str = pa.Field(str_length={"min_value": 1})
    when: pl.Datetime
    why: str = pa.Field(str_length={"min_value": 1})

    class Config:
        coerce = True

    @pa.dataframe_check
    def ends_after_it_starts(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("to") >= pl.col("from"))
