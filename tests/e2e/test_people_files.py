"""Every file of a run meant for people opens correctly in Excel on a Chinese desktop: each
workbook is checked with openpyxl (widths, frozen panes, filters, print set-up) and each
people-CSV has a BOM, Chinese headers and no formula-like cell, next to the unchanged
machine-readable CSV."""
from __future__ import annotations

import polars as pl

from reports.excel import PEOPLE_CSV
from tests.reports.test_excel import assert_people_csv, assert_workbook_for_people


def test_every_workbook_of_a_run_is_laid_out_for_people(small_city):
    out = small_city["out"]
    books = sorted(p for p in out.rglob("*.xlsx") if ".dagster" not in p.parts)
    names = {p.name for p in books}
    assert {"review_queue.xlsx", "平安星级排名.xlsx"} <= names, names
    for path in books:
        assert_workbook_for_people(path, min_rows=0)


def test_every_people_csv_sits_next_to_its_machine_csv(small_city):
    out, day = small_city["out"], small_city["second"].isoformat()
    pairs = [(out / day / "ratings.csv", out / day / PEOPLE_CSV["ratings"]),
             (out / day / "data_quality.csv", out / day / PEOPLE_CSV["data_quality"]),
             (out / "review" / "quarantine.csv", out / "review" / PEOPLE_CSV["quarantine"]),
             (out / "review" / "file_ledger.csv", out / "review" / PEOPLE_CSV["file_ledger"])]
    for machine, people in pairs:
        assert_people_csv(people)
        m, p = pl.read_csv(machine, infer_schema=False), pl.read_csv(people, infer_schema=False)
        assert m.height == p.height and m.width == p.width
        assert m.columns[0].isascii() and not p.columns[0].isascii()
    assert not (out / day / "ratings.csv").read_bytes().startswith(b"\xef\xbb\xbf"), "machine CSV unchanged"
    for path in [out / "review" / "review_queue.csv", *(out / day / "rankings").glob("*.csv")]:
        assert_people_csv(path)
