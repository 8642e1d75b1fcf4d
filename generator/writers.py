"""Byte-stable writers for the export shapes the departments use: CSV, Excel, JSON Lines.

Frames arrive with every cell already a string (null = empty). Writers never add
timestamps or other run-dependent bytes, so the same frame gives the same file.
"""
from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

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
    """One-sheet workbook; cells of `numeric` columns that look like numbers are numbers.

    xlsxwriter writes the package (workbook, styles, properties with a fixed creation
    date, the header row); the data rows are then rendered column-wise with Polars as
    inline-string/number cells and spliced into the sheet XML. Writing a million rows cell
    by cell through xlsxwriter would take minutes; this takes seconds and stays
    byte-stable (fixed zip timestamps, fixed member order).
    """
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    wb.set_properties({"created": _XLSX_CREATED, "author": "export", "title": sheet})
    ws = wb.add_worksheet(sheet)
    ws.write_row(0, 0, df.columns)
    wb.close()
    rows = _sheet_rows(df, numeric)
    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info.filename)) for info in zin.infolist()]
    sheet_name = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for info, data in members:
            if info.filename == sheet_name:
                xml = data.decode("utf-8")
                last = xl_col_to_name(df.width - 1)
                xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}{df.height + 1}"/>', xml, count=1)
                xml = xml.replace("</sheetData>", rows + "</sheetData>", 1)
                data = xml.encode("utf-8")
            out = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            out.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(out, data)


def _sheet_rows(df: pl.DataFrame, numeric: list[str]) -> str:
    """`<row>` elements for data rows 2..n+1 (row 1 is the header)."""
    r = (pl.int_range(pl.len()) + 2).cast(pl.String)
    cells = []
    for j, c in enumerate(df.columns):
        ref = pl.concat_str(pl.lit(f'<c r="{xl_col_to_name(j)}'), r)
        val = pl.col(c)
        text = pl.concat_str(ref, pl.lit('" t="inlineStr"><is><t>'),
                             val.str.replace_many(["&", "<", ">"], ["&amp;", "&lt;", "&gt;"]), pl.lit("</t></is></c>"))
        cell = pl.when(val.is_null() | (val == "")).then(pl.lit(""))
        if c in numeric:
            cell = cell.when(val.str.contains(_NUMBER)).then(pl.concat_str(ref, pl.lit('"><v>'), val, pl.lit("</v></c>")))
        cells.append(cell.otherwise(text))
    rows = df.select(pl.concat_str(pl.lit('<row r="'), r, pl.lit('">'), *cells, pl.lit("</row>")).alias("x"))
    return "".join(rows["x"].to_list())


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
