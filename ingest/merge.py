"""Superseding: a corrected export replaces earlier versions of the same records."""
from __future__ import annotations

import copy
from functools import lru_cache

import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import CaseRecord

KEY = [CaseRecord.source, CaseRecord.record_id]


@lru_cache(maxsize=1)
def _schema_without_unique():
    schema = copy.deepcopy(CaseRecord.to_schema())
    schema.unique = None
    return schema


def validate_records(frame: pl.DataFrame, *, keys_unique: bool = False) -> DataFrame[CaseRecord]:
    """CaseRecord validation; `keys_unique=True` skips re-checking a uniqueness just enforced."""
    if keys_unique:
        return _schema_without_unique().validate(frame)
    return CaseRecord.validate(frame)


def merge_records(
    existing: DataFrame[CaseRecord] | None, new: DataFrame[CaseRecord]
) -> DataFrame[CaseRecord]:
    """Existing records updated with new ones: per (source, record_id) the later one wins.

    "Later" is ingestion order: every row of `new` is later than `existing`, and within
    `new` a row further down (a later file, files being ingested in sorted order) wins.
    Records no new file mentions are kept as they were.
    """
    frames = [f for f in (existing, new) if f is not None]
    both = pl.concat([f.select(new.columns) for f in frames], how="vertical_relaxed") if len(frames) > 1 else frames[0]
    merged = both.unique(subset=KEY, keep="last", maintain_order=True)
    return validate_records(merged, keys_unique=True)
