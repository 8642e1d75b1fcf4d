"""mapping.yaml: the documented format, and errors that name the file, the key and the fix."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from ingest.mapping import MappingError, load_mapping
from tests.ingest.conftest import canonical_csv, row

FULL = """
source: police
encoding: auto
date_formats: ["%Y年%m月%d日", "%Y/%m/%d %H:%M", "%Y%m%d", "epoch_ms"]
coord_sys: GCJ02
columns:
  警情编号: record_id
  警情类别: category
  报警时间: occurred_at
  发生地址: address
  经度: lon
  纬度: lat
  案件编号: police_case_no
  处理状态: status
  简要警情: description
categories:
  "0101": homicide
  0202: theft
revoked_values: [撤销, 不立案, 撤案]
constants: {}
files:
  - pattern: "*.xlsx"
    sheet: 0
    columns: {编号: record_id, 类别: category, 时间: occurred_at}
  - pattern: "old_*.csv"
    coord_sys: BD09
    constants: {coord_sys: BD09, status: valid}
"""


def write(tmp_path, text, folder="police"):
    d = tmp_path / folder
    d.mkdir(parents=True, exist_ok=True)
    (d / "mapping.yaml").write_text(text, encoding="utf-8")
    return d


def test_full_contract_example_loads(tmp_path):
    m = load_mapping(write(tmp_path, FULL))
    assert m.base.coord_sys == "GCJ02" and m.base.columns["警情编号"] == "record_id"
    # Codes keep their leading zeros even unquoted: YAML would otherwise read 0202 as a number.
    assert m.base.categories == {"0101": "homicide", "0202": "theft"}
    assert m.for_file("2024.xlsx").sheet == 0 and m.for_file("2024.xlsx").columns["编号"] == "record_id"
    assert m.for_file("old_1.csv").constants == {"coord_sys": "BD09", "status": "valid"}
    assert m.for_file("new.csv") == m.base


def test_no_mapping_means_canonical_columns(tmp_path):
    (tmp_path / "court").mkdir()
    m = load_mapping(tmp_path / "court")
    assert m.path is None and m.base.columns == {} and m.base.encoding == "auto"


@pytest.mark.parametrize(
    "text, key, hint",
    [
        ("source: court\n", "source", "source: police"),
        ("colums: {a: record_id}\n", "colums", "columns"),
        ("columns: {编号: recordid}\n", "columns.编号", "record_id"),
        ("encoding: latin-9\n", "encoding", "gb18030"),
        ("coord_sys: mars\n", "coord_sys", "GCJ02"),
        ("date_formats: [YYYY-MM-DD]\n", "date_formats", "%Y"),
        ("constants: {district: 思明}\n", "constants.district", "record_id"),
        ("files:\n  - sheet: 1\n", "files[0]", "pattern"),
        ("files:\n  - pattern: '*.xlsx'\n    sheeet: 1\n", "files[0].sheeet", "sheet"),
        ("columns: [a, b]\n", "columns", "name: value"),
        ("columns: {a: record_id\n", "(file)", "YAML"),
    ],
)
def test_mapping_errors_name_file_key_and_fix(tmp_path, text, key, hint):
    with pytest.raises(MappingError) as err:
        load_mapping(write(tmp_path, text))
    assert err.value.key == key
    assert "mapping.yaml" in str(err.value) and hint in str(err.value)


def test_mapping_error_rejects_that_sources_files_only(landing, ingest):
    landing("police", {"a.csv": canonical_csv(row("P1"))}, mapping="colums: {}\n")
    data = landing("court", {"c.csv": canonical_csv(row("C1"))})
    result = ingest(data)
    police = result.ledger.filter(pl.col("source") == "police").row(0, named=True)
    assert police["status"] == "rejected" and "colums" in police["error"] and "mapping.yaml" in police["error"]
    assert result.records["record_id"].to_list() == ["C1"]


def test_category_mapped_to_unknown_code_is_a_mapping_error(landing, ingest):
    data = landing("police", {"a.csv": canonical_csv(row("P1"))}, mapping='categories: {"01": homicid}\n')
    entry = ingest(data).ledger.row(0, named=True)
    assert entry["status"] == "rejected" and "categories.01" in entry["error"] and "homicid" in entry["error"]


def test_department_layout_maps_onto_the_canonical_record(landing, ingest):
    text = (
        "警情编号,警情类别,报警时间,发生地址,经度,纬度,案件编号,处理状态,简要警情\n"
        "A1,0101,2024年5月3日,思明区莲前街道,118.15,24.47,AJ1,,描述\n"
        "A2,0202,2024/05/03 13:05,,,,,撤案,\n"
        "A3,入室盗窃,20240504,,,,,,\n"
        "A4,盗窃,1714700000000,,,,,,\n"
    )
    result = ingest(landing("police", {"a.csv": text}, mapping=FULL))
    recs = result.records.sort("record_id")
    assert recs["category_code"].to_list() == ["homicide", "theft", "burglary", "theft"]
    assert recs["status"].to_list() == ["valid", "revoked", "valid", "valid"]
    assert recs["coord_sys"].unique().to_list() == ["GCJ02"]
    assert recs["police_case_no"][0] == "AJ1"
    # epoch_ms is UTC; records are in local (UTC+8) time.
    assert recs["occurred_at"].to_list() == [
        datetime(2024, 5, 3), datetime(2024, 5, 3, 13, 5), datetime(2024, 5, 4),
        datetime.fromtimestamp(1714700000, tz=timezone.utc).astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None),
    ]


def test_files_override_and_constants_apply_per_glob(landing, ingest):
    text = "警情编号,警情类别,报警时间,经度,纬度\nB1,盗窃,20240503,118.15,24.47\n"
    result = ingest(landing("police", {"old_1.csv": text, "new.csv": text.replace("B1", "N1")}, mapping=FULL))
    got = dict(result.records.select("record_id", "coord_sys").rows())
    assert got == {"B1": "BD09", "N1": "GCJ02"}
