"""Bulk table markup: the HTML the old per-cell template loop wrote, and sheets Excel reads."""
from __future__ import annotations

from datetime import date

import openpyxl
import polars as pl
import xlsxwriter
from jinja2 import Environment, select_autoescape

from reports.table_markup import fill_sheets, html_rows

# the rankings template's loop before the rows were built in bulk
OLD_LOOP = ('{% for row in rows %}<tr>{% for v in row %}<td{% if v is number %} class="n"{% endif %}>'
            '{{ "" if v is none else v }}</td>{% endfor %}</tr>{% endfor %}')


def _frame() -> pl.DataFrame:
    return pl.DataFrame({
        "rank": [1, None, 3],
        "name": ['<b>"甲"</b> & \'乙\'', None, "  空格 "],
        "index": [71.6, None, 100.0],
        "tiny": [0.00001, 2.5, None],
        "stars": [5, 0, None],
        "as_of": [date(2026, 11, 1), None, date(2026, 11, 2)],
    }, schema_overrides={"rank": pl.UInt32, "stars": pl.Int8})


def test_html_rows_are_the_old_template_loop():
    frame = _frame()
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    assert html_rows(frame) == env.from_string(OLD_LOOP).render(rows=frame.rows())
    assert html_rows(frame.head(0)) == ""


def test_filled_sheet_reads_back_with_values_and_formats(tmp_path):
    frame = _frame().with_columns(pl.col("as_of").cast(pl.String),
                                  pl.Series("name", ["=1+1", "控制\x01字符", "  空格 "]))
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("s")
    fmts = [wb.add_format({"num_format": "#,##0.0"}) if t.is_float() else wb.add_format({"num_format": "#,##0"})
            if t.is_integer() else wb.add_format({}) for t in frame.dtypes]
    for k, (v, f) in enumerate(zip(frame.row(0), fmts)):
        ws.write_string(0, k, v, f) if isinstance(v, str) else ws.write_number(0, k, v, f)
    wb.close()
    path.write_bytes(fill_sheets(path.read_bytes(), {"xl/worksheets/sheet1.xml": frame}, template_row=1))
    sheet = openpyxl.load_workbook(path)["s"]
    assert sheet.dimensions == "A1:F3"
    got = [[c.value for c in row] for row in sheet.iter_rows()]
    expected = [list(r) for r in frame.rows()]
    expected[1][1] = "控制_x0001_字符"  # a control character cannot be XML: Excel's escape of it
    assert got == expected, "formula-like text stays text, spaces kept"
    assert sheet["C1"].number_format == "#,##0.0" and sheet["A3"].number_format == "#,##0"
