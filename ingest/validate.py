"""Row validation: canonical text columns in, typed columns plus a quarantine reason out.

Each row gets at most one reason, the first that applies in this order: missing_id,
duplicate_id (a later repeat of an id in the same file; the first is kept), bad_date,
future_date, bad_type, out_of_bbox, unknown_category, invalid_status. Values are folded
first (see ingest.normalise), so full-width digits (１１８．１) are normalised, not rejected.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from ingest.mapping import COORD_ALIASES, DEFAULT_REVOKED, FileMapping
from ingest.normalise import DATETIME, FOLDED, ID_COLUMNS, clean, fold_width, map_distinct, parse_dates
from ingest.readers import VALUE_CHARS
from ingest.taxonomy import Taxonomy

# Status words that mean "this record stands" (a mapping can add more with valid_values).
DEFAULT_VALID = [
    "valid", "有效", "正常", "立案", "已立案", "受理", "已受理", "在办", "办理中", "处理中", "已处理",
    "办结", "已办结", "结案", "已结案", "审结", "已审结", "判决", "已判决", "起诉", "已起诉",
    "批捕", "已批捕", "批准逮捕", "调解成功", "已调解", "已完成", "完成", "待处理", "open", "closed", "active",
]


@dataclass(frozen=True)
class CheckedBatch:
    """A checked batch: typed rows with a `_failed` flag, and why each failed row failed."""

    rows: pl.DataFrame
    details: pl.DataFrame  # _row (index in rows), reason, field, value


def check_rows(
    frame: pl.DataFrame,
    fm: FileMapping,
    taxonomy: Taxonomy,
    bbox: tuple[float, float, float, float] | None,
    now: datetime,
) -> CheckedBatch:
    """Typed canonical columns with a `_failed` flag, plus reason/field/value of failed rows.

    `frame` holds the canonical columns as text (see ColumnPlan.canonical). The
    duplicate-id check needs the whole file and is applied by `split_file`.
    """
    revoked = [v.strip().lower() for v in (*DEFAULT_REVOKED, "已撤销", "已撤案", *fm.revoked_values)]
    valid = [v.strip().lower() for v in (*DEFAULT_VALID, *fm.valid_values) if v.strip().lower() not in revoked]
    frame = frame.with_columns(
        *(fold_width(frame[c]) for c in FOLDED), *(fold_width(frame[c], ids=True) for c in ID_COLUMNS)
    )
    text = frame.with_columns(
        clean("record_id"),
        clean("category"),
        clean("occurred_at"),
        clean("lon"),
        clean("lat"),
        clean("coord_sys").alias("coord_raw"),
        clean("compound_id"),
        clean("police_case_no"),
        clean("status").alias("status_raw"),
        clean("address"),
        pl.col("description").replace("", None),
    )
    coord_key = pl.col("coord_raw").str.to_uppercase().str.replace_all(r"[-_ ]", "")
    coord = coord_key.replace_strict(COORD_ALIASES, default=None, return_dtype=pl.String)
    status_key = pl.col("status_raw").str.to_lowercase()
    status = (
        pl.when(status_key.is_in(revoked)).then(pl.lit("revoked")).when(status_key.is_in(valid)).then(pl.lit("valid"))
    )
    typed = text.lazy().with_columns(
        parse_dates(text["occurred_at"], fm.date_formats).alias("occurred_at_t"),
        pl.col("lon").cast(pl.Float64, strict=False).alias("lon_t"),
        pl.col("lat").cast(pl.Float64, strict=False).alias("lat_t"),
        map_distinct(text["coord_raw"], coord, default=fm.coord_sys).alias("coord_sys_t"),
        taxonomy.resolve(text["category"], fm.categories).alias("category_code"),
        map_distinct(text["status_raw"], status, default="valid").alias("status_t"),
    )
    lon, lat = pl.col("lon_t"), pl.col("lat_t")
    bad_lon = pl.col("lon").is_not_null() & (lon.is_null() | ~lon.is_finite())
    bad_lat = pl.col("lat").is_not_null() & (lat.is_null() | ~lat.is_finite())
    half = pl.col("lon").is_null() != pl.col("lat").is_null()
    has_point = lon.is_not_null() & lat.is_not_null()
    outside = (lon == 0) & (lat == 0) | (lon.abs() > 180) | (lat.abs() > 90)
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        outside = outside | (lon < x0) | (lon > x1) | (lat < y0) | (lat > y1)
    point = pl.format("{},{}", pl.col("lon"), pl.col("lat"))
    checks = [
        (pl.col("record_id").is_null(), "missing_id", "record_id", pl.lit(None, pl.String)),
        (pl.col("occurred_at_t").is_null(), "bad_date", "occurred_at", pl.col("occurred_at")),
        (pl.col("occurred_at_t") > pl.lit(now, DATETIME), "future_date", "occurred_at", pl.col("occurred_at")),
        (bad_lon, "bad_type", "lon", pl.col("lon")),
        (bad_lat, "bad_type", "lat", pl.col("lat")),
        (half & pl.col("lon").is_null(), "bad_type", "lon", pl.lit("(missing while lat is given)")),
        (half & pl.col("lat").is_null(), "bad_type", "lat", pl.lit("(missing while lon is given)")),
        (pl.col("coord_sys_t").is_null(), "bad_type", "coord_sys", pl.col("coord_raw")),
        (has_point & outside, "out_of_bbox", "lon,lat", point),
        (pl.col("category_code").is_null(), "unknown_category", "category", pl.col("category")),
        (pl.col("status_t").is_null(), "invalid_status", "status", pl.col("status_raw")),
    ]

    failed = pl.lit(None, pl.Int8)
    for i, check in reversed(list(enumerate(checks))):
        failed = pl.when(check[0]).then(pl.lit(i, pl.Int8)).otherwise(failed)
    typed = typed.with_columns(failed.alias("_failed")).collect()
    # Reason, field and offending value only for the (few) failed rows, not for every row.
    bad_idx = typed["_failed"].is_not_null().arg_true()
    pick = pl.col("_failed")
    details = typed[bad_idx].select(
        pl.lit(bad_idx).alias("_row"),
        pick.replace_strict({i: c[1] for i, c in enumerate(checks)}, return_dtype=pl.String).alias("reason"),
        pick.replace_strict({i: c[2] for i, c in enumerate(checks)}, return_dtype=pl.String).alias("field"),
        pl.coalesce(pl.when(pick == i).then(c[3].cast(pl.String)) for i, c in enumerate(checks))
        .str.slice(0, VALUE_CHARS)
        .alias("value"),
    )
    rows = typed.select(
        "record_id",
        pl.col("category").fill_null(""),
        "category_code",
        pl.col("occurred_at_t").alias("occurred_at"),
        "address",
        pl.col("lon_t").alias("lon"),
        pl.col("lat_t").alias("lat"),
        pl.col("coord_sys_t").alias("coord_sys"),
        "compound_id",
        "police_case_no",
        pl.col("status_t").alias("status"),
        "description",
        pl.col("_failed").is_not_null().alias("_failed"),
    )
    return CheckedBatch(rows=rows, details=details)


BAD_SCHEMA = {"line": pl.Int64, "record_id": pl.String, "field": pl.String, "reason": pl.String, "value": pl.String}


def _repeats(ids: pl.Series) -> pl.Series:
    """True for every occurrence of a (non-null) id after its first."""
    present = ids.drop_nulls()
    # Distinct 64-bit hashes prove there is no repeat, at a fraction of a string hash table.
    if present.hash().n_unique() == present.len():
        return pl.repeat(False, ids.len(), dtype=pl.Boolean, eager=True)
    return ids.is_not_null() & ~ids.is_first_distinct()


def split_file(parts: list[CheckedBatch], lines) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """Attach data lines, mark later repeats of a record_id as duplicate_id, split good from bad.

    Works batch by batch (only the id column is gathered across the file), so a large
    file is never copied whole; returns the accepted batches and the quarantined rows.
    """
    lines = pl.Series("line", lines, pl.Int64)
    rid = pl.concat([p.rows["record_id"] for p in parts]) if parts else pl.Series([], dtype=pl.String)
    is_dup = _repeats(rid)
    good, bad, offset = [], [], 0
    for part in parts:
        rows, n = part.rows, part.rows.height
        dup = is_dup.slice(offset, n)
        part_lines = lines.slice(offset, n)
        offset += n
        failed = rows["_failed"] | dup
        rows = rows.drop("_failed")
        if not failed.any():
            good.append(rows.with_columns(part_lines))
            continue
        idx = failed.arg_true()
        q = pl.DataFrame({"_row": idx, "line": part_lines.gather(idx), "record_id": rows["record_id"].gather(idx),
                          "_dup": dup.gather(idx)})
        q = q.join(part.details, on="_row", how="left").select(
            "line",
            "record_id",
            # A repeat of an id is reported as such, whatever else is wrong with it.
            pl.when("_dup").then(pl.lit("record_id")).otherwise("field").alias("field"),
            pl.when("_dup").then(pl.lit("duplicate_id")).otherwise("reason").alias("reason"),
            pl.when("_dup").then(pl.col("record_id").str.slice(0, VALUE_CHARS)).otherwise("value").alias("value"),
        )
        bad.append(q)
        good.append(rows.with_columns(part_lines).filter(~failed))
    return good, (pl.concat(bad) if bad else pl.DataFrame(schema=BAD_SCHEMA))
