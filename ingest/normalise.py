"""Text normalisation shared by all readers: trimming, width folding, dates, word tables."""
from __future__ import annotations

import polars as pl

from ingest.mapping import ISO_DATE_FORMATS

DATETIME = pl.Datetime("us")
LOCAL_TZ = "Asia/Shanghai"


def clean(col: str) -> pl.Expr:
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
