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


def test_jsonl_export_is_json_with_numbers_where_they_look_like_numbers(tmp_path):
    import json

    df = pl.DataFrame({"编号": ["a1", "a2", "a3"], "经度": ["118.274640", "x1", None],
                       "登记时间": ["1761009600000", "-3", "abc"], "说明": ['他说"好"\\', None, "ok"]})
    path = tmp_path / "a.jsonl"
    writers.write_jsonl(df, path, numeric=["经度", "登记时间"])
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows == [{"编号": "a1", "经度": 118.27464, "登记时间": 1761009600000, "说明": '他说"好"\\'},
                    {"编号": "a2", "经度": "x1", "登记时间": -3, "说明": None},
                    {"编号": "a3", "经度": None, "登记时间": "abc", "说明": "ok"}]
