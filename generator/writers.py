"""Byte-stable writers for the export shapes the departments use: CSV, Excel, JSON Lines.

Frames arrive with every cell already a string (null = empty). Writers never add
timestamps or other run-dependent bytes, so the same frame gives the same file.
"""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter

_NUMBER = r"^-?\d+(\.\d+)?$"
# Fixed workbook metadata: xlsxwriter otherwise stamps the current time into docProps.
_XLSX_CREATED = datetime(2026, 1, 1, 0, 0, 0)


def write_csv(df: pl.DataFrame, path: Path, encoding: str) -> None:
    """CSV in `encoding` (utf-8, utf-8-sig or gb18030), CRLF-free, minimal quoting."""
    if encoding == "utf-8-sig":
        df.write_csv(path, include_bom=True)
        return
    if encoding == "utf-8":
        df.write_csv(path)
        return
    buf = io.BytesIO()
    df.write_csv(buf)
    path.write_bytes(buf.getvalue().decode("utf-8").encode(encoding))


def write_xlsx(df: pl.DataFrame, path: Path, numeric: list[str], sheet: str) -> None:
    """One-sheet workbook; cells of `numeric` columns that look like numbers are numbers."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    wb.set_properties({"created": _XLSX_CREATED, "author": "export", "title": sheet})
    ws = wb.add_worksheet(sheet)
    ws.write_row(0, 0, df.columns)
    num_idx = [df.columns.index(c) for c in numeric]
    is_num = df.select(pl.col(numeric).str.contains(_NUMBER).fill_null(False)).to_numpy() if numeric else None
    for r, row in enumerate(df.iter_rows(), start=1):
        ws.write_row(r, 0, row)
        if is_num is not None:
            for k, ci in enumerate(num_idx):
                if is_num[r - 1, k]:
                    ws.write_number(r, ci, float(row[ci]))
    wb.close()


def write_jsonl(df: pl.DataFrame, path: Path, numeric: list[str]) -> None:
    """JSON Lines with the frame's (Chinese) column names as keys, UTF-8, unescaped.

    Values come from the generator's own vocabularies (no quotes, backslashes or control
    characters), so plain quoting is exact JSON. Numeric-looking cells of `numeric`
    columns are written as numbers, anything else there as a string (a planted bad type).
    """
    fields = []
    for c in df.columns:
        key = pl.lit(f'"{c}":')
        val = pl.col(c)
        quoted = pl.concat_str(pl.lit('"'), val, pl.lit('"'))
        if c in numeric:
            rendered = pl.when(val.is_null()).then(pl.lit("null")).when(val.str.contains(_NUMBER)).then(val) \
                .otherwise(quoted)
        else:
            rendered = pl.when(val.is_null()).then(pl.lit("null")).otherwise(quoted)
        fields.append(pl.concat_str(key, rendered))
    lines = df.select(pl.concat_str(pl.lit("{"), pl.concat_str(fields, separator=","), pl.lit("}")).alias("l"))
    text = "\n".join(lines["l"].to_list()) + "\n"
    path.write_text(text, encoding="utf-8")
