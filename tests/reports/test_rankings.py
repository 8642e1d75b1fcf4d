"""Rankings: correct ranks and shares, and files an analyst can open (CSV, Excel, HTML)."""
from __future__ import annotations

import re
from datetime import date

import openpyxl
import polars as pl
import pytest

from reports.excel import HEADERS_ZH
from reports.rankings import HEADERS, build_rankings, write_rankings


def _ratings(rows):
    return pl.DataFrame(
        [{"compound_id": c, "name": f"小区{c}", "district": d, "street": s, "safety_index": i,
          "stars": st, "status": status, "rules": None, "ruleset_version": "v1", "as_of": date(2026, 11, 1)}
         for c, d, s, i, st, status in rows],
        schema_overrides={"safety_index": pl.Float64, "stars": pl.Int8, "rules": pl.String})


@pytest.fixture
def small():
    rat = _ratings([
        ("A1", "思明区", "厦港街道", 95.0, 5, "rated"),
        ("A2", "思明区", "厦港街道", 95.04, 5, "rated"),   # ties A1 at one decimal
        ("A3", "思明区", "鹭江街道", 60.0, 2, "rated"),
        ("A4", "思明区", "鹭江街道", None, 0, "not_rated"),
        ("B1", "湖里区", "江头街道", 90.0, 5, "rated"),
        ("B2", "湖里区", "江头街道", 70.0, 3, "downgraded"),
        ("B3", "湖里区", "禾山街道", 50.0, 0, "vetoed"),
    ])
    comp = rat.select("compound_id", pl.lit("某社区").alias("community"), pl.lit("Sa001").alias("grid_code"))
    return rat, comp


def test_city_ranks(small):
    r = build_rankings(*small)["city"]
    ranks = dict(r.select("compound_id", "rank_city").rows())
    assert ranks == {"A1": 1, "A2": 1, "B1": 3, "B2": 4, "A3": 5, "B3": 6, "A4": None}
    assert r["compound_id"][-1] == "A4", "not rated sorts last"
    within = dict(r.select("compound_id", "rank_district").rows())
    assert (within["B1"], within["B2"], within["B3"], within["A3"]) == (1, 2, 3, 3)
    street = dict(r.select("compound_id", "rank_street").rows())
    assert (street["A3"], street["B3"]) == (1, 1)


def test_only_the_latest_date_is_ranked(small):
    rat, comp = small
    old = rat.with_columns(pl.lit(date(2026, 8, 1)).alias("as_of"), pl.lit(1, pl.Int8).alias("stars"))
    r = build_rankings(pl.concat([old, rat]), comp)
    assert r["city"].height == rat.height
    assert set(r["city"]["as_of"]) == {date(2026, 11, 1)}


def test_five_star_share_per_district(small):
    share = build_rankings(*small)["five_star_share"]
    got = {d: (n, rated, five, s, above) for d, n, rated, five, s, above in share.rows()}
    assert got["思明区"] == (4, 3, 2, pytest.approx(2 / 3, abs=1e-4), True)
    assert got["湖里区"] == (3, 3, 1, pytest.approx(1 / 3, abs=1e-4), True)
    district = build_rankings(*small)["district"]
    # mean index of the rated: 思明 (95.0+95.0+60.0)/3 = 83.3, 湖里 (90+70+50)/3 = 70.0
    assert district.select("rank", "district", "mean_index").rows() == [(1, "思明区", 83.3), (2, "湖里区", 70.0)]
    row = district.filter(pl.col("district") == "湖里区").row(0, named=True)
    assert (row["vetoed"], row["downgraded"], row["stars_5"], row["stars_3"]) == (1, 1, 1, 1)


def test_files_csv_excel_html(small, tmp_path):
    paths = write_rankings(tmp_path, build_rankings(*small))
    names = {p.name for p in paths}
    assert {"全市小区排名.csv", "各区五星占比.csv", "平安星级排名.xlsx", "index.html"} <= names
    csv = (tmp_path / "全市小区排名.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so Excel reads Chinese"
    header = csv[3:].decode("utf-8").splitlines()[0].split(",")
    assert header[:5] == ["全市排名", "区内排名", "街道内排名", "小区编号", "小区名称"]
    assert all(h in {*HEADERS.values(), *HEADERS_ZH.values()} for h in header)
    back = pl.read_csv(tmp_path / "全市小区排名.csv")
    assert back.height == 7 and "一票否决" in back["状态"].to_list()

    wb = openpyxl.load_workbook(tmp_path / "平安星级排名.xlsx")
    assert {"思明区", "湖里区"} <= set(wb.sheetnames)
    assert wb.sheetnames[0] == "各区五星占比"
    streets = build_rankings(*small)["street"]
    for name in ("思明区", "湖里区"):
        ws = wb[name]
        assert ws.freeze_panes == "A3", "title and header rows stay in view"
        assert name in ws["A1"].value and "全市" in ws["A1"].value, "the title says where the compounds are"
        headers = [c.value for c in ws[2]]
        assert headers[:3] == ["排名", "区", "街道"]
        shown = [ws.cell(row=r, column=3).value for r in range(3, ws.max_row + 1)]
        assert shown == streets.filter(pl.col("district") == name)["street"].to_list(), "the district's streets in rank order"
    whole = wb["全市"]
    headers = [c.value for c in whole[2]]
    rows = [[c.value for c in row] for row in whole.iter_rows(min_row=3)]
    district, ids, rank = headers.index("区"), headers.index("小区编号"), headers.index("区内排名")
    within = [r for r in rows if r[district] == "思明区"]
    expected = build_rankings(*small)["city"].filter(pl.col("district") == "思明区")
    assert sorted(r[ids] for r in within) == sorted(expected["compound_id"])
    ranks = [r[rank] for r in within]
    assert ranks == sorted(ranks, key=lambda v: (v is None, v)), "filtered on 区, the city sheet ranks the district's compounds"
    assert whole.auto_filter.ref, "the city sheet can be filtered on 区"
    share = wb["各区五星占比"]
    col = [c.value for c in share[2]].index("五星占比") + 1
    cell = share.cell(row=3, column=col)
    assert cell.number_format == "0.0%" and 0 < cell.value <= 1

    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "各区五星占比" in html and "小区A1" in html


def test_excel_bytes_are_stable(small, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_rankings(a, build_rankings(*small))
    write_rankings(b, build_rankings(*small))
    assert (a / "平安星级排名.xlsx").read_bytes() == (b / "平安星级排名.xlsx").read_bytes()


def test_fastexcel_reads_every_sheet(city, tmp_path):
    fastexcel = pytest.importorskip("fastexcel")
    rk = build_rankings(city["ratings"], city["compounds"])
    write_rankings(tmp_path, rk)
    reader = fastexcel.read_excel(str(tmp_path / "平安星级排名.xlsx"))
    districts = set(city["ratings"]["district"])
    assert districts <= set(reader.sheet_names)
    whole = reader.load_sheet_by_name("全市", header_row=1).to_polars()
    assert "平安指数" in whole.columns and whole.height == city["ratings"].height
    streets = sum(reader.load_sheet_by_name(d, header_row=1).to_polars().height for d in districts)
    assert streets == rk["street"].height


def test_page_lists_the_first_rows_and_the_files_hold_all(small, tmp_path, monkeypatch):
    monkeypatch.setattr("reports.rankings.PAGE_ROWS", 2)
    rk = build_rankings(*small)
    write_rankings(tmp_path, rk)
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    city = html.split("全市小区排名（前 2 名，全部 7 个见 CSV 与 Excel）")[-1]
    shown = re.findall(r"<td>(A\d)</td>", city)
    assert shown == rk["city"]["compound_id"].head(2).to_list()
    assert pl.read_csv(tmp_path / "全市小区排名.csv").height == 7
    assert openpyxl.load_workbook(tmp_path / "平安星级排名.xlsx")["全市"].max_row == 2 + 7
