"""The generator's Excel exports, written by xlsxwriter: numbers where a numeric column looks
like one, text everywhere else (never a formula), empty cells empty, the same bytes twice."""
from __future__ import annotations

import openpyxl
import polars as pl

from generator import writers


def test_xlsx_export_cells_and_stable_bytes(tmp_path):
    df = pl.DataFrame({"编号": ["a1", "a2", "a3", "a4"], "经度": ["118.1", "x1", "", None],
                       "纬度": ["24.5", "24", "-3.25", "1e5"], "描述": ["<&>", None, "=1+1", " sp "]})
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    for path in (a, b):
        writers.write_xlsx(df, path, numeric=["经度", "纬度"], sheet="受案登记")
    assert a.read_bytes() == b.read_bytes()
    wb = openpyxl.load_workbook(a)
    assert wb.sheetnames == ["受案登记"]
    cells = [[(c.value, c.data_type) for c in row] for row in wb.active.iter_rows()]
    assert cells == [
        [("编号", "s"), ("经度", "s"), ("纬度", "s"), ("描述", "s")],
        [("a1", "s"), (118.1, "n"), (24.5, "n"), ("<&>", "s")],
        [("a2", "s"), ("x1", "s"), (24, "n"), (None, "n")],
        [("a3", "s"), (None, "n"), (-3.25, "n"), ("=1+1", "s")],
        [("a4", "s"), (None, "n"), ("1e5", "s"), (" sp ", "s")],
    ]
