"""Byte-stable writers for the export shapes the departments use: CSV, Excel, JSON Lines.

Frames arrive with every cell already a string (null = empty). Writers never add
timestamps or other run-dependent bytes, so the same frame gives the same file.
"""
from __future__ import annotations

import io
import json
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
    """One-sheet workbook written row by row by xlsxwriter (constant memory, fixed creation
    date, so the same frame gives the same bytes); cells of `numeric` columns that look like
    numbers are numbers, every other cell is text (never a formula), empty cells stay empty."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": _XLSX_CREATED, "author": "export", "title": sheet})
    ws = wb.add_worksheet(sheet)
    ws.write_row(0, 0, df.columns)
    cols = [(k, c in numeric) for k, c in enumerate(df.columns)]
    numbers = df.select(pl.when(pl.col(c).str.contains(_NUMBER)).then(pl.col(c).cast(pl.Float64)).alias(c)
                        for c in numeric)
    for r, (row, nums) in enumerate(zip(df.iter_rows(), numbers.iter_rows(named=True)), start=1):
        for k, is_numeric in cols:
            value = row[k]
            if value is None or value == "":
                continue
            if is_numeric and nums[df.columns[k]] is not None:
                ws.write_number(r, k, nums[df.columns[k]])
            else:
                ws.write_string(r, k, value)
    wb.close()


def write_jsonl(df: pl.DataFrame, path: Path, numeric: list[str]) -> None:
    """JSON Lines with the frame's (Chinese) column names as keys, UTF-8, by the JSON
    serialiser. Numeric-looking cells of `numeric` columns are numbers, anything else there
    a string (a planted bad type)."""
    def number(text: str) -> int | float:
        return int(text) if text.lstrip("-").isdigit() else float(text)

    looks = {c: df[c].str.contains(_NUMBER).fill_null(False).to_list() for c in numeric if c in df.columns}
    with path.open("w", encoding="utf-8") as fh:
        for k, row in enumerate(df.iter_rows(named=True)):
            obj = {c: number(v) if c in looks and looks[c][k] else v for c, v in row.items()}
            fh.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
