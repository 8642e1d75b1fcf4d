"""Row validation: raw text columns in, typed canonical columns plus a quarantine reason out.

Each row gets at most one reason, the first that applies in this order: missing_id,
duplicate_id (a later repeat of an id in the same file; the first is kept), bad_date,
future_date, bad_type, out_of_bbox, unknown_category, invalid_status. Numbers and ids are
NFKC-folded first, so full-width digits (１１８．１) are normalised, not rejected.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from ingest.mapping import (
    CANONICAL_COLUMNS,
    COORD_ALIASES,
    DEFAULT_REVOKED,
    ISO_DATE_FORMATS,
    REQUIRED_COLUMNS,
    FileMapping,
)
from ingest.readers import VALUE_CHARS
from ingest.sniff import FileRejected
from ingest.taxonomy import Taxonomy

# Status words that mean "this record stands" (a mapping can add more with valid_values).
DEFAULT_VALID = [
    "valid", "有效", "正常", "立案", "已立案", "受理", "已受理", "在办", "办理中", "处理中", "已处理",
    "办结", "已办结", "结案", "已结案", "审结", "已审结", "判决", "已判决", "起诉", "已起诉",
    "批捕", "已批捕", "批准逮捕", "调解成功", "已调解", "已完成", "完成", "待处理", "open", "closed", "active",
]
DATETIME = pl.Datetime("us")
LOCAL_TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class ColumnPlan:
    """Which file header (or constant) feeds each canonical column."""

    sources: dict[str, str]  # canonical -> header
    constants: dict[str, str]
    extras: list[str]

    def canonical(self, frame: pl.DataFrame) -> pl.DataFrame:
        exprs = []
        for col in CANONICAL_COLUMNS:
            if col in self.constants:
                exprs.append(pl.lit(self.constants[col], pl.String).alias(col))
            elif col in self.sources:
                exprs.append(pl.col(self.sources[col]).cast(pl.String).alias(col))
            else:
                exprs.append(pl.lit(None, pl.String).alias(col))
        return frame.select(exprs)


def plan_columns(headers: list[str], fm: FileMapping) -> ColumnPlan:
    """Match a file's headers to canonical columns, rejecting the file if a required one is missing."""
    sources: dict[str, str] = {}
    extras = []
    for header in headers:
        target = fm.columns.get(header)
        if target is None and header.lower() in CANONICAL_COLUMNS:
            target = header.lower()
        if target is None:
            extras.append(header)
            continue
        if target in sources:
            raise FileRejected(
                f"headers {sources[target]!r} and {header!r} both map to {target!r}; "
                "keep one of them in mapping.yaml `columns`"
            )
        sources[target] = header
    missing = [c for c in REQUIRED_COLUMNS if c not in sources and c not in fm.constants]
    if missing:
        expected = {c: [h for h, t in fm.columns.items() if t == c] or [c] for c in missing}
        wanted = "; ".join(f"{c} (header {' or '.join(map(repr, hs))})" for c, hs in expected.items())
        raise FileRejected(
            f"missing required column(s): {wanted}; the file's headers are: {', '.join(headers) or '(none)'}. "
            "Add the column to the export or map its header in mapping.yaml `columns`"
        )
    return ColumnPlan(sources=sources, constants=dict(fm.constants), extras=extras)


def _clean(col: str) -> pl.Expr:
    """Trimmed text, empty -> null."""
    return pl.col(col).str.strip_chars().replace("", None)


def _epoch(expr: pl.Expr, unit: str) -> pl.Expr:
    return (
        pl.from_epoch(expr.cast(pl.Int64, strict=False), time_unit=unit)
        .cast(DATETIME)
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(LOCAL_TZ)
        .dt.replace_time_zone(None)
    )


def parse_dates(values: pl.Series, formats: tuple[str, ...]) -> pl.Series:
    """Each value parsed by the first format that fits (epoch_ms/epoch_s are UTC, made local).

    Formats are tried in order on the values still unparsed only, so the usual case (one
    format fits all) costs a single pass. ISO forms are tried last as a fallback.
    """
    tried = list(formats) + [f for f in ISO_DATE_FORMATS if f not in formats]
    out = pl.Series(values.name, [None] * len(values), DATETIME)
    todo = values.is_not_null().arg_true()
    for fmt in tried:
        if todo.len() == 0:
            break
        part = values.gather(todo).to_frame("v")
        if fmt in ("epoch_ms", "epoch_s"):
            digits = r"^-?\d{11,14}$" if fmt == "epoch_ms" else r"^-?\d{9,10}$"
            unit = "ms" if fmt == "epoch_ms" else "s"
            parsed = part.select(pl.when(pl.col("v").str.contains(digits)).then(_epoch(pl.col("v"), unit)))["v"]
        else:
            parsed = part.select(pl.col("v").str.strptime(DATETIME, fmt, strict=False))["v"]
        ok = parsed.is_not_null()
        if ok.any():
            out = out.scatter(todo.filter(ok), parsed.filter(ok))
        todo = todo.filter(~ok)
    return out


# Full-width digits, Latin letters and the hyphen, as typed on a Chinese keyboard.
_WIDE = [chr(c) for c in range(0xFF10, 0xFF1A)] + [chr(c) for c in range(0xFF21, 0xFF3B)] + [chr(c) for c in range(0xFF41, 0xFF5B)] + ["\uFF0D"]
_NARROW = [chr(ord(c) - 0xFEE0) for c in _WIDE]


def fold_width(values: pl.Series, *, ids: bool = False) -> pl.Series:
    """Full-width characters folded to ASCII in the values that are not plain ASCII.

    Numbers and dates get full NFKC (１１８．１ -> 118.1). Identifiers only have their
    full-width digits and letters folded (ＡＪ００１ -> AJ001): the punctuation of an official
    number such as （2026）闽0211民初119号 is part of the id as the department writes it.
    """
    # More bytes than characters means non-ASCII text; far cheaper than a regex scan.
    wide = (values.str.len_bytes() != values.str.len_chars()).fill_null(False)
    if not wide.any():
        return values
    idx = wide.arg_true()
    subset = values.gather(idx)
    folded = subset.str.replace_many(_WIDE, _NARROW) if ids else subset.str.normalize("NFKC")
    return values.scatter(idx, folded)


ID_COLUMNS = ["record_id", "compound_id", "police_case_no"]
FOLDED = ["occurred_at", "lon", "lat", "coord_sys", "status"]


def map_distinct(values: pl.Series, expr: pl.Expr, default: str) -> pl.Series:
    """`expr` (written on the series' own name) evaluated once per distinct value and mapped
    back; nulls become `default`. Exports repeat a handful of status and coordinate words."""
    if values.null_count() == values.len():
        return pl.repeat(default, values.len(), dtype=pl.String, eager=True).rename(values.name)
    distinct = values.drop_nulls().unique()
    table = dict(zip(distinct.to_list(), distinct.to_frame().select(expr)[:, 0].to_list()))
    mapped = values.replace_strict(table, default=None, return_dtype=pl.String)
    return pl.select(pl.when(pl.lit(values).is_null()).then(pl.lit(default)).otherwise(pl.lit(mapped))).to_series().rename(values.name)


def check_rows(
    frame: pl.DataFrame,
    fm: FileMapping,
    taxonomy: Taxonomy,
    bbox: tuple[float, float, float, float] | None,
    now: datetime,
) -> pl.DataFrame:
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
        _clean("record_id"),
        _clean("category"),
        _clean("occurred_at"),
        _clean("lon"),
        _clean("lat"),
        _clean("coord_sys").alias("coord_raw"),
        _clean("compound_id"),
        _clean("police_case_no"),
        _clean("status").alias("status_raw"),
        _clean("address"),
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


@dataclass(frozen=True)
class CheckedBatch:
    """A checked batch: typed rows with a `_failed` flag, and why each failed row failed."""

    rows: pl.DataFrame
    details: pl.DataFrame  # _row (index in rows), reason, field, value


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
