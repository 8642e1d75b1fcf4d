"""Case records, incidents (case events), attributed events and the review queue."""
from __future__ import annotations

import polars as pl
import pandera.polars as pa

from schemas.registry import COORD_SYSTEMS

SOURCES = ["police", "procuratorate", "court", "justice", "petition"]
SOURCE_ZH = {"police": "公安", "procuratorate": "检察", "court": "法院", "justice": "司法", "petition": "信访"}
RECORD_STATUSES = ["valid", "revoked"]
METHODS = ["explicit", "decision", "polygon", "address", "nearest", "unmatched", "excluded"]
REVIEW_REASONS = ["unmatched", "disagreement", "low_confidence"]


class CaseRecord(pa.DataFrameModel):
    """One accepted record of one department, on the canonical layout."""

    source: str = pa.Field(isin=SOURCES)
    record_id: str = pa.Field(str_length={"min_value": 1})
    category: str
    category_code: str
    occurred_at: pl.Datetime
    address: str = pa.Field(nullable=True)
    lon: pl.Float64 = pa.Field(nullable=True)
    lat: pl.Float64 = pa.Field(nullable=True)
    coord_sys: str = pa.Field(isin=COORD_SYSTEMS)
    compound_id: str = pa.Field(nullable=True)
    police_case_no: str = pa.Field(nullable=True)
    status: str = pa.Field(isin=RECORD_STATUSES)
    description: str = pa.Field(nullable=True)
    file_sha256: str
    line: pl.Int64

    class Config:
        coerce = True
        unique = ["source", "record_id"]


class CaseEvent(pa.DataFrameModel):
    """One incident, counted once however many departments reported it."""

    event_id: str = pa.Field(unique=True)
    source: str = pa.Field(isin=SOURCES)
    record_id: str
    category_code: str
    category_group: str
    occurred_at: pl.Datetime
    address: str = pa.Field(nullable=True)
    lon: pl.Float64 = pa.Field(nullable=True)
    lat: pl.Float64 = pa.Field(nullable=True)
    coord_sys: str = pa.Field(isin=COORD_SYSTEMS)
    compound_id: str = pa.Field(nullable=True)
    police_case_no: str = pa.Field(nullable=True)
    linked_records: str
    n_records: pl.Int32 = pa.Field(ge=1)

    class Config:
        coerce = True


class AttributedEvent(CaseEvent):
    """An incident placed in a compound (or not), with the evidence for the placement."""

    lon_wgs84: pl.Float64 = pa.Field(nullable=True)
    lat_wgs84: pl.Float64 = pa.Field(nullable=True)
    compound_id: str = pa.Field(nullable=True)
    method: str = pa.Field(isin=METHODS)
    confidence: pl.Float64 = pa.Field(ge=0.0, le=1.0)
    needs_review: bool


class ReviewItem(pa.DataFrameModel):
    """An incident an analyst should place by hand, with the candidates found."""

    event_id: str
    source: str
    record_id: str
    reason: str = pa.Field(isin=REVIEW_REASONS)
    address: str = pa.Field(nullable=True)
    lon_wgs84: pl.Float64 = pa.Field(nullable=True)
    lat_wgs84: pl.Float64 = pa.Field(nullable=True)
    chosen_compound_id: str = pa.Field(nullable=True)
    candidates: str = pa.Field(nullable=True)

    class Config:
        coerce = True
