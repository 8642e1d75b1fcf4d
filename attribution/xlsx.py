"""A plain Excel workbook written fast: one sheet of a frame, built with Polars string
expressions and zipped, for exports too long for a cell-by-cell writer.

xlsxwriter (behind `DataFrame.write_excel`) spends ~75 µs a row in Python; a city's review
queue has hundreds of thousands of rows and is written every night. Here every cell's XML
is made by one vectorised expression per column, and the rows' UTF-8 bytes are taken
straight from the Arrow buffer (a sheet is ~200 MB at 300,000 rows: no Python string of it
is ever made) and deflated with ISA-L by `plaques.zipwrite`. The workbook has a bold,
frozen header row, an autofilter, column widths from the longest value, strings inline,
numbers as numbers and empty cells for nulls. Zip entries carry a fixed date, so equal
frames give equal bytes. Sheets hold at most `MAX_ROWS` data rows; longer frames continue
on further sheets (`name`, `name2`, …).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
from xlsxwriter.utility import xl_col_to_name

from plaques.zipwrite import ZipAssembler, dos_stamp

MAX_ROWS = 1_048_575  # Excel's limit, less the header row
_FIXED_DATE = dos_stamp(date(1980, 1, 1))
_CONTROL = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))]  # not allowed in XML 1.0
# One pass over the text (Aho-Corasick): markup escaped, control characters dropped.
_ESCAPES = (["&", "<", ">", *_CONTROL], ["&amp;", "&lt;", "&gt;", *[""] * len(_CONTROL)])

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
{sheets}</Types>"""
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets}</sheets></workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}\
<Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>\
</styleSheet>"""
_SHEET_HEAD = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>\
</sheetView></sheetViews><cols>{cols}</cols><sheetData>"""
_SHEET_TAIL = """</sheetData><autoFilter ref="A1:{last}"/></worksheet>"""


def _escape(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(*_ESCAPES)


def _cell(name: str, dtype: pl.DataType) -> pl.Expr:
    """XML of one column's cells: cells are positional, a null is an empty `<c/>`."""
    if dtype.is_numeric():
        xml = pl.lit("<c><v>") + pl.col(name).cast(pl.String) + pl.lit("</v></c>")
        if dtype.is_float():
            xml = pl.when(pl.col(name).is_finite()).then(xml)
    else:
        xml = pl.lit('<c t="inlineStr"><is><t xml:space="preserve">') + _escape(pl.col(name).cast(pl.String)) \
            + pl.lit("</t></is></c>")
    return xml.fill_null("<c/>")


def _sheet(frame: pl.DataFrame, widths: list[float]) -> memoryview:
    """The sheet's XML as UTF-8: head, one string per row and tail, end to end in one buffer."""
    letters = [xl_col_to_name(i) for i in range(frame.width)]
    header = "".join(
        f'<c r="{letter}1" s="1" t="inlineStr"><is><t xml:space="preserve">{_escape_text(c)}</t></is></c>'
        for letter, c in zip(letters, frame.columns)
    )
    rows = frame.select(
        pl.concat_str([pl.lit("<row>"), *[_cell(c, frame.schema[c]) for c in frame.columns], pl.lit("</row>")]).alias("xml")
    ).to_series()
    cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w:.1f}" customWidth="1"/>' for i, w in enumerate(widths))
    head = _SHEET_HEAD.format(cols=cols) + f'<row r="1">{header}</row>'
    tail = _SHEET_TAIL.format(last=f"{letters[-1]}{frame.height + 1}")
    return _utf8_run(pl.concat([pl.Series("xml", [head]), rows, pl.Series("xml", [tail])]))


def _utf8_run(strings: pl.Series) -> memoryview:
    """The strings' UTF-8 bytes end to end, as a view of the one Arrow data buffer that
    `to_arrow` fills (a large_string array: int64 offsets into one contiguous buffer)."""
    array = strings.to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    _, offsets, data = array.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[[array.offset, array.offset + len(array)]]
    return memoryview(data)[int(bounds[0]):int(bounds[1])]


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _widths(frame: pl.DataFrame) -> list[float]:
    """Column widths (characters) from the longest header or value, CJK counted double."""
    if frame.height == 0:
        return [max(8.0, 2.0 * len(c) + 2) for c in frame.columns]
    longest = frame.select(
        pl.col(c).cast(pl.String).str.len_bytes().max().fill_null(0).alias(c) for c in frame.columns
    ).row(0)
    # UTF-8 bytes over-count CJK (3 bytes, 2 columns wide): about right for mixed text.
    return [min(80.0, max(8.0, 2.0 * len(c) + 2, n * 0.8 + 2)) for c, n in zip(frame.columns, longest)]


def write_xlsx(frame: pl.DataFrame, path: Path, sheet: str = "Sheet1") -> Path:
    """Write `frame` to the workbook `path` (replaced) and return the path."""
    if frame.width == 0:
        raise ValueError("a workbook needs at least one column")
    widths = _widths(frame)
    parts = [frame.slice(i, MAX_ROWS) for i in range(0, max(frame.height, 1), MAX_ROWS)]
    names = [sheet if i == 0 else f"{sheet}{i + 1}" for i in range(len(parts))]
    entries = {
        "[Content_Types].xml": _CONTENT_TYPES.format(sheets="".join(
            f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(len(parts)))),
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _WORKBOOK.format(sheets="".join(
            f'<sheet name="{_escape_text(n)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, n in enumerate(names))),
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS.format(rels="".join(
            f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships/worksheet" Target="worksheets/sheet{i + 1}.xml"/>' for i in range(len(parts)))),
        "xl/styles.xml": _STYLES,
    }
    for i, part in enumerate(parts):
        entries[f"xl/worksheets/sheet{i + 1}.xml"] = part
    zipped = ZipAssembler(Path(path), stamp=_FIXED_DATE)
    try:
        for name in sorted(entries, key=lambda n: n.encode("utf-8")):  # the assembler wants sorted names
            body = entries[name]
            data = body.encode("utf-8") if isinstance(body, str) else _sheet(body, widths)  # the sheet: a view
            zipped.add(name, data, compress=True)
            del data
    except BaseException:
        zipped.abort()
        raise
    return zipped.close()
