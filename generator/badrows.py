"""Planted bad rows (~0.5% per source) with the reason the ingestion should give.

Bad rows are chosen only among ordinary background records (not planted, not revoked,
no veto or downgrade category of their own), so losing them to quarantine never changes an
expected rating outcome: courts only ever reclassify upwards, so a chain that loses a
non-serious record keeps its classification. Every file stays readable.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from generator import catalog
from generator.sources import SourceSpec

REASONS = ["missing_id", "bad_date", "future_date", "out_of_bbox", "unknown_category", "duplicate_id", "bad_type"]
_BAD_DATE = {"police": "2026/13/45 25:61", "procuratorate": "20261345", "court": "不详",
             "justice": "未知", "petition": "2026年13月45日"}
BAD_SHARE = 0.005


def plant_bad_rows(rng: np.random.Generator, rf: pl.DataFrame, spec: SourceSpec) -> pl.DataFrame:
    """`rf` with bad rows planted in place and a `bad_reason` column (null for good rows)."""
    serious = catalog.VETO + catalog.DOWNGRADE
    rf = rf.with_row_index("_i")
    ok = rf.select(
        pl.col("planted").is_null() & ~pl.col("revoked") & ~pl.col("code").is_in(serious))["planted"].to_numpy()
    same_file_prev_ok = rf.select(
        (pl.col("file") == pl.col("file").shift(1)) & pl.Series(ok).shift(1, fill_value=False))["file"] \
        .fill_null(False).to_numpy()
    has_xy = rf["lon"].is_not_null().to_numpy()
    n_bad = max(len(REASONS), round(rf.height * BAD_SHARE))
    reason = np.full(rf.height, None, dtype=object)
    taken = ~ok
    per = max(1, n_bad // len(REASONS))
    for r in REASONS:
        pool = ~taken
        if r == "duplicate_id":
            pool &= same_file_prev_ok
        if r in ("out_of_bbox", "bad_type"):
            pool &= has_xy
        idx = np.flatnonzero(pool)
        if idx.size == 0:
            continue
        pick = rng.choice(idx, min(per, idx.size), replace=False)
        reason[pick] = r
        taken[pick] = True
        if r == "duplicate_id":
            taken[pick - 1] = True  # the original keeps its id and stays clean
    reason_s = pl.Series("bad_reason", reason.tolist(), dtype=pl.String)
    rb = pl.col("bad_reason")
    far = pl.Series(rng.random(rf.height) < 0.5)
    future = pl.col("at").dt.offset_by(pl.format("{}y", 2099 - pl.col("at").dt.year()))
    return rf.with_columns(reason_s).with_columns(
        record_id=pl.when(rb == "missing_id").then(None)
        .when(rb == "duplicate_id").then(pl.col("record_id").shift(1).over("file"))
        .otherwise("record_id"),
        occurred=pl.when(rb == "bad_date").then(pl.lit(_BAD_DATE[spec.name]))
        .when(rb == "future_date").then(spec.format_date(future))
        .otherwise("occurred"),
        category=pl.when(rb == "unknown_category").then(pl.lit(catalog.UNKNOWN_CATEGORY[spec.name]))
        .otherwise("category"),
        lon=pl.when((rb == "out_of_bbox") & far).then(pl.lit("121.473701"))
        .when(rb == "out_of_bbox").then(pl.lit("0.0"))
        .when(rb == "bad_type").then(pl.lit("abc")).otherwise("lon"),
        lat=pl.when((rb == "out_of_bbox") & far).then(pl.lit("31.230416"))
        .when(rb == "out_of_bbox").then(pl.lit("0.0")).otherwise("lat"),
    ).drop("_i")

