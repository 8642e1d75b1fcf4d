"""The fast workbook writer: what Excel readers see, long frames over several sheets, same bytes twice."""
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution import xlsx
from attribution.xlsx import write_xlsx


def _frame():
    return pl.DataFrame({
        "编号": ["a", "b<&>c", None, " 前后空格 "],
        "经度": [118.04231140182644, None, 1.5, float("nan")],
        "n": [1, 2, None, 4],
    })


def test_read_back_as_written(tmp_path):
    path = write_xlsx(_frame(), tmp_path / "x.xlsx", sheet="待复核")
    back = pl.read_excel(path, sheet_name="待复核", schema_overrides={"经度": pl.Float64, "n": pl.Int64})
    assert back.columns == ["编号", "经度", "n"]
    assert back["编号"].to_list() == ["a", "b<&>c", None, " 前后空格 "]
    assert back["经度"].to_list()[:3] == [118.04231140182644, None, 1.5] and back["经度"][3] is None
    assert back["n"].to_list() == [1, 2, None, 4]


def test_long_frames_continue_on_further_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    frame = pl.DataFrame({"k": [f"r{i}" for i in range(7)]})
    path = write_xlsx(frame, tmp_path / "x.xlsx", sheet="q")
    sheets = pl.read_excel(path, sheet_id=0)
    assert list(sheets) == ["q", "q2", "q3"]
    assert pl.concat(sheets.values())["k"].to_list() == frame["k"].to_list()


def test_same_frame_same_bytes_and_empty_frame(tmp_path):
    a = write_xlsx(_frame(), tmp_path / "a.xlsx").read_bytes()
    b = write_xlsx(_frame(), tmp_path / "b.xlsx").read_bytes()
    assert a == b
    empty = write_xlsx(_frame().clear(), tmp_path / "e.xlsx")
    assert pl.read_excel(empty).columns == ["编号", "经度", "n"]


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
def test_excel_sees_a_frozen_bold_filtered_header_and_the_column_widths(tmp_path):
    import zipfile

    import openpyxl

    frame = _frame()
    path = write_xlsx(frame, tmp_path / "x.xlsx", sheet="待复核")
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # every member's CRC and length check out
        assert zf.namelist()[0] == "[Content_Types].xml"
    ws = openpyxl.load_workbook(path)["待复核"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:C{frame.height + 1}"
    assert [c.value for c in ws[1]] == frame.columns and all(c.font.b for c in ws[1])
    assert [ws.cell(row=r, column=1).value for r in range(2, frame.height + 2)] == frame["编号"].to_list()
    widths = [ws.column_dimensions[letter].width for letter in "ABC"]
    assert widths == [round(w, 1) for w in xlsx._widths(frame)] and widths[1] > widths[2]  # the long floats get the wider column


_CHARS = st.one_of(st.sampled_from("&<>;\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f 中"), st.characters(max_codepoint=0x4E2F))


@given(st.lists(st.one_of(st.none(), st.text(alphabet=_CHARS, max_size=12)), max_size=20))
def test_text_is_escaped_for_xml_and_loses_only_control_characters(values):
    import re

    escaped = pl.DataFrame({"t": values}, schema={"t": pl.String}).select(xlsx._escape(pl.col("t")))["t"].to_list()
    dropped = [None if v is None else re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", v) for v in values]
    assert escaped == [None if v is None else v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                       for v in dropped]
