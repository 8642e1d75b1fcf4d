"""Large tables as markup in bulk: HTML ``<tr>`` rows and xlsx ``<row>`` elements built
column by column in Polars, for the rankings' 100,000-row tables.

Rendering such a table cell by cell (Jinja2 loops, XlsxWriter's ``write()``) costs a few
microseconds a cell, seconds per table. The text here is what those would write: the HTML
is byte for byte the rankings template's old loop (``tests/reports/test_rankings.py``
compares), the sheet rows carry the same values and cell formats as XlsxWriter's.
"""
from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import polars as pl
from xlsxwriter.utility import xl_col_to_name

from reports.map_geometry import format_numbers, join_text

_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# characters XML 1.0 cannot carry: written the way Excel (and XlsxWriter) escape them
_XML_CONTROL = {chr(c): f"_x{c:04X}_" for c in [*range(9), 11, 12, *range(14, 32)]}


def _text(col: pl.Series) -> pl.Expr:
    """A column's non-null values as the text ``str(value)`` gives."""
    if col.dtype.is_float():
        values = col.to_numpy()
        ok = ~np.isnan(values)
        text = pl.Series(np.full(len(values), None, dtype=object), dtype=pl.String)
        if ok.any():
            text = text.scatter(np.flatnonzero(ok), format_numbers(values[ok]))
        return pl.lit(text)
    return pl.col(col.name).cast(pl.String)


def html_rows(frame: pl.DataFrame) -> str:
    """``<tr><td>…</td>…</tr>`` for every row: numbers right-aligned (``class="n"``),
    text escaped as Jinja2's autoescape does, nulls empty."""
    if frame.height == 0:
        return ""
    cells = []
    for name in frame.columns:
        col = frame[name]
        value = _text(col)
        if col.dtype.is_numeric():
            cell = pl.when(pl.col(name).is_null()).then(pl.lit("<td></td>")).otherwise(
                join_text('<td class="n">', value, "</td>"))
        else:
            escaped = value.str.replace_many(list(_HTML_ESCAPES), list(_HTML_ESCAPES.values()))
            cell = pl.when(pl.col(name).is_null()).then(pl.lit("<td></td>")).otherwise(
                join_text("<td>", escaped, "</td>"))
        cells.append(cell)
    rows = frame.select(join_text("<tr>", *cells, "</tr>").alias("row"))
    return rows["row"].str.join("").item()


def sheet_rows(frame: pl.DataFrame, styles: list[int], first_row: int) -> str:
    """The frame's rows as worksheet XML from 1-based row ``first_row`` on: numbers as
    values, text as inline strings, nulls as styled blanks; cell style ``styles[k]`` for
    column k (the ids XlsxWriter gave the column's format)."""
    if frame.height == 0:
        return ""
    row = (pl.int_range(pl.len()) + first_row).cast(pl.String)
    cells = []
    for k, name in enumerate(frame.columns):
        col = frame[name]
        ref = join_text(f'<c r="{xl_col_to_name(k)}', row, f'" s="{styles[k]}"')
        if col.dtype.is_numeric():
            # whole floats as XlsxWriter writes them ("100", not "100.0")
            number = _text(col).str.replace(r"\.0$", "") if col.dtype.is_float() else _text(col)
            filled = join_text(ref, "><v>", number, "</v></c>")
        else:
            text = _text(col).str.replace_many(list(_XML_ESCAPES), list(_XML_ESCAPES.values()))
            text = text.str.replace_many(list(_XML_CONTROL), list(_XML_CONTROL.values()))
            spaced = text.str.contains(r"^\s|\s$")
            filled = pl.when(spaced).then(join_text(ref, ' t="inlineStr"><is><t xml:space="preserve">', text,
                                                    "</t></is></c>")) \
                .otherwise(join_text(ref, ' t="inlineStr"><is><t>', text, "</t></is></c>"))
        cells.append(pl.when(pl.col(name).is_null()).then(join_text(ref, "/>")).otherwise(filled))
    rows = frame.select(join_text('<row r="', row, f'" spans="1:{frame.width}">', *cells, "</row>").alias("r"))
    return rows["r"].str.join("").item()


_ROW = re.compile(rb'<row r="(\d+)"[^>]*>.*?</row>', re.DOTALL)
_STYLE = re.compile(rb'<c r="[A-Z]+\d+" s="(\d+)"')


def fill_sheets(workbook: bytes, fills: dict[str, pl.DataFrame], template_row: int) -> bytes:
    """Put each frame's rows into its worksheet (``xl/worksheets/sheetN.xml``) of a
    workbook XlsxWriter wrote with only the frame's first row at ``template_row``: that
    row's cell styles are reused, the rows replace it, the sheet's dimension grows."""
    src = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            frame = fills.get(info.filename)
            if frame is not None:
                data = _fill(data, frame, template_row)
            dst.writestr(info, data, compress_type=info.compress_type)
    return out.getvalue()


def _fill(sheet: bytes, frame: pl.DataFrame, template_row: int) -> bytes:
    template = next(m for m in _ROW.finditer(sheet) if int(m.group(1)) == template_row)
    styles = [int(s) for s in _STYLE.findall(template.group(0))]
    if len(styles) != frame.width:
        raise ValueError(f"template row has {len(styles)} styled cells for {frame.width} columns")
    rows = sheet_rows(frame, styles, template_row).encode("utf-8")
    sheet = sheet[:template.start()] + rows + sheet[template.end():]
    last = f"{xl_col_to_name(frame.width - 1)}{template_row + frame.height - 1}"
    return re.sub(rb'<dimension ref="([A-Z]+\d+):[A-Z]+\d+"/>',
                  lambda m: b'<dimension ref="' + m.group(1) + b":" + last.encode() + b'"/>', sheet, count=1)
