"""Each bad input of the ingestion issue: a clear error or a quarantined row, and the rest loads."""
from __future__ import annotations

import json
from datetime import datetime

import polars as pl
import pytest

from tests.ingest.conftest import HEADER, assert_counts_add_up, canonical_csv, row

GOOD = canonical_csv(row("G1"), row("G2"))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256))


def ledger_row(result, name):
    rows = result.ledger.filter(pl.col("file").str.ends_with(name)).to_dicts()
    assert len(rows) == 1, result.ledger
    return rows[0]


def quarantined(result, reason):
    return result.quarantine.filter(pl.col("reason") == reason)


def test_empty_file_is_rejected_and_the_rest_loads(landing, ingest):
    result = ingest(landing("police", {"a_empty.csv": "", "b_good.csv": GOOD}))
    empty = ledger_row(result, "a_empty.csv")
    assert empty["status"] == "rejected" and "empty" in empty["error"]
    assert ledger_row(result, "b_good.csv")["status"] == "loaded"
    assert sorted(result.records["record_id"]) == ["G1", "G2"]


def test_header_only_file_loads_with_zero_rows(landing, ingest):
    result = ingest(landing("police", {"h.csv": HEADER + "\n"}))
    entry = ledger_row(result, "h.csv")
    assert (entry["status"], entry["rows_read"], entry["rows_accepted"]) == ("loaded", 0, 0)
    assert result.records.height == 0


def test_bom_is_stripped_from_the_first_header(landing, ingest):
    result = ingest(landing("police", {"bom.csv": b"\xef\xbb\xbf" + GOOD.encode()}))
    assert ledger_row(result, "bom.csv")["status"] == "loaded"
    assert result.records["record_id"].to_list() == ["G1", "G2"]


GBK_MAPPING = """
source: police
encoding: {encoding}
date_formats: ["%Y年%m月%d日"]
columns: {{警情编号: record_id, 警情类别: category, 报警时间: occurred_at}}
"""
GBK_TEXT = "警情编号,警情类别,报警时间\nP1,入室盗窃,2024年5月3日\nP2,电信网络诈骗,2024年5月4日\n"


def test_gbk_file_declared_utf8_is_rejected_with_the_fix(landing, ingest):
    data = landing("police", {"gbk.csv": GBK_TEXT.encode("gbk"), "ok.csv": GBK_TEXT.replace("P", "Q")},
                   mapping=GBK_MAPPING.format(encoding="utf-8"))
    result = ingest(data)
    entry = ledger_row(result, "gbk.csv")
    assert entry["status"] == "rejected"
    assert "UTF-8" in entry["error"] and "gb18030" in entry["error"].lower()
    assert sorted(result.records["record_id"]) == ["Q1", "Q2"]


def test_gbk_file_is_detected_with_encoding_auto(landing, ingest):
    result = ingest(landing("police", {"gbk.csv": GBK_TEXT.encode("gbk")}, mapping=GBK_MAPPING.format(encoding="auto")))
    assert result.records.sort("record_id")["category_code"].to_list() == ["burglary", "telecom_fraud"]
    assert result.records["occurred_at"].to_list()[0] == datetime(2024, 5, 3)


def test_ragged_row_is_quarantined_with_its_line(landing, ingest):
    text = canonical_csv(row("R1"), "R2,盗窃,2024-05-03", row("R3") + ",surplus", row("R4"))
    result = ingest(landing("police", {"r.csv": text}))
    ragged = quarantined(result, "ragged_row").sort("line")
    assert ragged["line"].to_list() == [2, 3]
    assert ragged["value"][0].startswith("R2,")
    assert result.records.sort("record_id").select("record_id", "line").rows() == [("R1", 1), ("R4", 4)]
    assert_counts_add_up(result)


def test_embedded_newline_in_quoted_field_keeps_one_record(landing, ingest):
    text = canonical_csv(row("N1", description='"第一行\n第二行, 带逗号"'), row("N2"), row("N3", when="bad"))
    result = ingest(landing("police", {"n.csv": text}))
    recs = result.records.sort("record_id")
    assert recs["description"][0] == "第一行\n第二行, 带逗号"
    assert recs.select("record_id", "line").rows() == [("N1", 1), ("N2", 2)]
    assert quarantined(result, "bad_date")["line"].to_list() == [3]


def test_full_width_digits_are_normalised_not_quarantined(landing, ingest):
    text = canonical_csv(row("Ｆ１", lon="１１８．１２", lat="２４．４８", when="２０２４-０５-０３ 08:00:00", case_no="ＡＪ００１"))
    result = ingest(landing("police", {"f.csv": text}))
    assert result.quarantine.height == 0
    rec = result.records.row(0, named=True)
    assert (rec["record_id"], rec["lon"], rec["lat"], rec["police_case_no"]) == ("F1", 118.12, 24.48, "AJ001")
    assert rec["occurred_at"] == datetime(2024, 5, 3, 8)


def test_date_in_2099_is_quarantined_as_future(landing, ingest):
    result = ingest(landing("police", {"d.csv": canonical_csv(row("D1", when="2099-01-01"), row("D2"))}))
    future = quarantined(result, "future_date")
    assert future.select("record_id", "field", "value").rows() == [("D1", "occurred_at", "2099-01-01")]
    assert result.records["record_id"].to_list() == ["D2"]


@pytest.mark.parametrize("bbox", [(117.8, 24.3, 118.5, 24.9), None])
def test_zero_zero_coordinates_are_out_of_bbox(landing, ingest, bbox):
    text = canonical_csv(row("Z1", lon="0", lat="0"), row("Z2", lon="120.5", lat="30.2"), row("Z3"))
    result = ingest(landing("police", {"z.csv": text}), bbox=bbox)
    expected = ["Z1", "Z2"] if bbox else ["Z1"]
    assert sorted(quarantined(result, "out_of_bbox")["record_id"]) == expected


def test_duplicate_record_id_keeps_the_first(landing, ingest):
    text = canonical_csv(row("D1", category="盗窃"), row("D1", category="诈骗"), row("D2"), row("D1", category="赌博"))
    result = ingest(landing("police", {"dup.csv": text}))
    dups = quarantined(result, "duplicate_id")
    assert dups["line"].to_list() == [2, 4] and set(dups["record_id"]) == {"D1"}
    first = result.records.filter(pl.col("record_id") == "D1").row(0, named=True)
    assert (first["category_code"], first["line"]) == ("theft", 1)


def test_200k_character_description_is_kept_whole(landing, ingest):
    long = "长" * 200_000
    text = canonical_csv(row("L1", description=f'"{long}"'), row("L2", category="外星", description=f'"{long}"'))
    result = ingest(landing("police", {"long.csv": text}))
    assert result.records["description"].str.len_chars().to_list() == [200_000]
    assert quarantined(result, "unknown_category")["value"].str.len_chars().to_list() == [2]
    assert_counts_add_up(result)


def test_long_offending_value_is_truncated_to_200_chars(landing, ingest):
    result = ingest(landing("police", {"v.csv": canonical_csv(row("V1", category="怪" * 500))}))
    assert quarantined(result, "unknown_category")["value"].str.len_chars().to_list() == [200]


def test_missing_required_column_rejects_the_file_naming_it(landing, ingest):
    no_date = "record_id,category,lon,lat\nM1,盗窃,118.1,24.5\n"
    result = ingest(landing("police", {"a.csv": no_date, "b.csv": GOOD}))
    entry = ledger_row(result, "a.csv")
    assert entry["status"] == "rejected" and "occurred_at" in entry["error"] and "record_id" in entry["error"]
    assert ledger_row(result, "b.csv")["rows_accepted"] == 2


def test_extra_column_is_ignored_and_noted(landing, ingest):
    text = canonical_csv(row("E1") + ",内部备注", header=HEADER + ",备注")
    result = ingest(landing("police", {"e.csv": text}))
    assert result.records["record_id"].to_list() == ["E1"]
    assert any("备注" in n for n in result.notes["note"])


def _two_sheet_workbook(path):
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    readme = book.add_worksheet("说明")
    readme.write_row(0, 0, ["导出说明"])
    data = book.add_worksheet("数据")
    data.write_row(0, 0, ["编号", "类别", "时间"])
    data.write_row(1, 0, ["X1", "抢劫", "2024/05/03 13:05"])
    data.write_row(2, 0, ["X2", "未知类", "2024/05/04 09:00"])
    book.close()


SHEET_MAPPING = """
source: court
date_formats: ["%Y/%m/%d %H:%M"]
columns: {{编号: record_id, 类别: category, 时间: occurred_at}}
files:
  - pattern: "*.xlsx"
    sheet: {sheet}
"""


@pytest.mark.parametrize("sheet", ["数据", "1"])
def test_excel_with_two_sheets_reads_the_declared_sheet(landing, ingest, tmp_path, sheet):
    data = landing("court", {}, mapping=SHEET_MAPPING.format(sheet=sheet))
    _two_sheet_workbook(data / "sources/court/book.xlsx")
    result = ingest(data)
    assert result.records.select("record_id", "category_code", "line").rows() == [("X1", "robbery", 1)]
    assert quarantined(result, "unknown_category").select("record_id", "line").rows() == [("X2", 2)]
    assert any("数据" in n and "说明" in n for n in result.notes["note"])


def test_excel_without_declared_sheet_reads_the_first_and_says_so(landing, ingest):
    mapping = "source: court\ncolumns: {编号: record_id, 类别: category, 时间: occurred_at}\n"
    data = landing("court", {}, mapping=mapping)
    _two_sheet_workbook(data / "sources/court/book.xlsx")
    result = ingest(data)
    entry = ledger_row(result, "book.xlsx")
    # The first sheet is the readme: it lacks the required columns, and the error says so.
    assert entry["status"] == "rejected" and "record_id" in entry["error"]


def test_excel_missing_sheet_is_rejected_listing_the_sheets(landing, ingest):
    data = landing("court", {}, mapping=SHEET_MAPPING.format(sheet="汇总"))
    _two_sheet_workbook(data / "sources/court/book.xlsx")
    entry = ledger_row(ingest(data), "book.xlsx")
    assert entry["status"] == "rejected" and "数据" in entry["error"]


def test_json_line_that_is_not_an_object_is_quarantined(landing, ingest):
    lines = [
        json.dumps({"record_id": "J1", "category": "诈骗", "occurred_at": "2024-05-03", "lon": 118.1, "lat": 24.5}, ensure_ascii=False),
        "[1, 2, 3]",
        "",
        json.dumps({"record_id": "J2", "category": "赌博", "occurred_at": "2024-05-04"}, ensure_ascii=False),
        '{"record_id": "J3", broken',
        '"just a string"',
    ]
    result = ingest(landing("petition", {"p.jsonl": "\n".join(lines) + "\n"}))
    assert result.records.sort("record_id").select("record_id", "line", "lon").rows() == [("J1", 1, 118.1), ("J2", 4, None)]
    q = result.quarantine.sort("line").select("line", "reason").rows()
    assert q == [(2, "not_an_object"), (5, "bad_json"), (6, "not_an_object")]
    assert_counts_add_up(result)


def test_png_renamed_csv_is_rejected(landing, ingest):
    result = ingest(landing("police", {"photo.csv": PNG, "ok.csv": GOOD}))
    entry = ledger_row(result, "photo.csv")
    assert entry["status"] == "rejected" and "PNG" in entry["error"]
    assert result.records.height == 2


def test_png_renamed_xlsx_and_parquet_are_rejected(landing, ingest):
    result = ingest(landing("police", {"a.xlsx": PNG, "b.parquet": PNG, "c.txt.bak": b"x"}))
    assert set(result.ledger["status"]) == {"rejected"}
    assert result.ledger.filter(pl.col("file").str.ends_with(".bak"))["error"][0].startswith("unsupported")


def test_parquet_with_typed_columns_loads(landing, ingest, tmp_path):
    data = landing("justice", {})
    pl.DataFrame({
        "record_id": [1, 2], "category": ["社区矫正", "安置帮教"],
        "occurred_at": [datetime(2024, 5, 3, 8), datetime(2099, 1, 1)], "lon": [118.1, None], "lat": [24.5, None],
    }).write_parquet(data / "sources/justice/j.parquet")
    result = ingest(data)
    assert result.records.select("record_id", "category_code", "occurred_at").rows() == [
        ("1", "community_correction", datetime(2024, 5, 3, 8))
    ]
    assert quarantined(result, "future_date")["line"].to_list() == [2]


def test_row_level_reasons(landing, ingest):
    text = canonical_csv(
        row("", category="盗窃"), row("B1", when="昨天"), row("B2", lon="abc"), row("B3", lat=""),
        row("B4", status="未知状态"), row("B5", coord_sys="火星坐标X"), row("B6", status="不立案"),
    )
    result = ingest(landing("police", {"b.csv": text}))
    got = result.quarantine.sort("line").select("line", "reason", "field").rows()
    assert got == [
        (1, "missing_id", "record_id"), (2, "bad_date", "occurred_at"), (3, "bad_type", "lon"),
        (4, "bad_type", "lat"), (5, "invalid_status", "status"), (6, "bad_type", "coord_sys"),
    ]
    assert result.records.select("record_id", "status").rows() == [("B6", "revoked")]


def test_gbk_file_with_an_ascii_first_mebibyte_is_still_detected(landing, ingest):
    ascii_rows = [row(f"A{i}", category="theft", address="road") for i in range(20_000)]
    text = canonical_csv(*ascii_rows, row("Z1", category="入室盗窃", address="思明区"))
    assert len(text) > 1 << 20
    result = ingest(landing("police", {"late_gbk.csv": text.encode("gbk")}))
    assert result.records.height == 20_001 and result.quarantine.height == 0
    assert result.records.filter(pl.col("record_id") == "Z1")["address"].to_list() == ["思明区"]
    assert any("gb18030" in n for n in result.notes["note"])


def test_official_case_numbers_keep_their_punctuation(landing, ingest):
    text = canonical_csv(row("（2026）闽0211民初119号", case_no="（2026）闽0211刑初７号"))
    rec = ingest(landing("court", {"c.csv": text})).records.row(0, named=True)
    assert (rec["record_id"], rec["police_case_no"]) == ("（2026）闽0211民初119号", "（2026）闽0211刑初7号")


def test_blank_lines_do_not_shift_line_numbers(landing, ingest):
    text = canonical_csv(row("K1"), "", row("K2", description='"段落一\n\n段落二"'), "", "", row("K3", when="bad"), row("K4")) + "\n"
    result = ingest(landing("police", {"k.csv": text}))
    assert result.records.sort("line").select("record_id", "line").rows() == [("K1", 1), ("K2", 3), ("K4", 7)]
    assert result.quarantine.select("record_id", "line").rows() == [("K3", 6)]
    assert result.records.filter(pl.col("record_id") == "K2")["description"][0] == "段落一\n\n段落二"
