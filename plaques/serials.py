"""Plaque serial numbers: readable, deterministic and safe in a URL path.

``<district>-<compound>-<seq>``, e.g. ``350203-XM00123-01``: the district's 6-digit
division code (or an abbreviation of its name when the registry has no code), the
compound id, and a sequence number that grows with every plaque the compound receives.
"""
from __future__ import annotations

import hashlib
import re

import polars as pl

# Pinyin initials of Xiamen's districts, for registries without division codes.
DISTRICT_ABBREVIATIONS = {
    "思明区": "SM", "湖里区": "HL", "海沧区": "HC", "集美区": "JM", "同安区": "TA", "翔安区": "XA",
}
_DIVISION_CODE = re.compile(r"^\d{6}$")
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{0,39}$")
_SEQ = re.compile(r"-(\d+)$")


def _hash_part(text: str, prefix: str, n: int) -> str:
    return prefix + hashlib.sha1(text.encode("utf-8")).hexdigest()[:n].upper()


def district_part(district_code: str | None, district: str | None) -> str:
    """The district segment: the division code, else a known abbreviation, else a hash."""
    if district_code and _DIVISION_CODE.match(district_code):
        return district_code
    if district in DISTRICT_ABBREVIATIONS:
        return DISTRICT_ABBREVIATIONS[district]
    return _hash_part(district or "", "D", 4)


def compound_part(compound_id: str) -> str:
    """The compound segment: the id itself when URL-safe (no dash), else a stable hash."""
    return compound_id if _SAFE_PART.match(compound_id) else _hash_part(compound_id, "X", 10)


def serial_for(district_code: str | None, district: str | None, compound_id: str, seq: int) -> str:
    """The serial of a compound's ``seq``-th plaque."""
    return f"{district_part(district_code, district)}-{compound_part(compound_id)}-{seq:02d}"


def serial_seq(serial: pl.Expr) -> pl.Expr:
    """The sequence number at the end of a serial (null when there is none)."""
    return serial.str.extract(_SEQ.pattern, 1).cast(pl.Int32, strict=False)


def serials_expr(district_code: str, district: str, compound_id: str, seq: str) -> pl.Expr:
    """``serial_for`` over frame columns, vectorised (a first run issues a serial per compound);
    only the rare parts that need a hash are computed one by one, once per distinct value."""
    return pl.struct(district_code, district, compound_id, seq).map_batches(
        lambda s: _serials(s, district_code, district, compound_id, seq), return_dtype=pl.String)


def _hashed(values: pl.Series, prefix: str, n: int) -> pl.Series:
    """``_hash_part`` of each value, computed once per distinct value."""
    table = {v: _hash_part(v, prefix, n) for v in values.unique().to_list()}
    return values.replace_strict(table, return_dtype=pl.String) if table else values.cast(pl.String)


def _serials(s: pl.Series, district_code: str, district: str, compound_id: str, seq: str) -> pl.Series:
    df = s.struct.unnest()
    code, name = df[district_code].cast(pl.String), df[district].cast(pl.String)
    cid = df[compound_id].cast(pl.String)
    abbreviated = name.replace_strict(DISTRICT_ABBREVIATIONS, default=None, return_dtype=pl.String)
    coded = code.str.contains(_DIVISION_CODE.pattern).fill_null(False)
    district_part_ = (
        pl.select(pl.when(coded).then(code).when(abbreviated.is_not_null()).then(abbreviated)
                  .otherwise(pl.lit(None, dtype=pl.String))).to_series()
    )
    need = district_part_.is_null()
    if need.any():
        district_part_ = district_part_.scatter(need.arg_true(), _hashed(name.filter(need).fill_null(""), "D", 4))
    safe = cid.str.contains(_SAFE_PART.pattern).fill_null(False)
    compound_part_ = cid
    if (~safe).any():
        compound_part_ = cid.scatter((~safe).arg_true(), _hashed(cid.filter(~safe), "X", 10))
    seqs = df[seq].cast(pl.Int64).cast(pl.String).str.zfill(2)
    return pl.select(pl.concat_str([district_part_, compound_part_, seqs], separator="-")).to_series()
