"""Review queue export and analyst decisions round trip."""
import polars as pl
import pytest

from attribution.attribute import attribute_events
from attribution.quality import match_rates
from attribution.review import read_decisions, write_review_queue
from tests.attribution.conftest import make_events


def _review(compounds, polygons):
    ev = make_events([
        {"record_id": "a", "lon": 118.3, "lat": 24.6, "address": "不知道"},
        {"record_id": "b", "lon": 118.100, "lat": 24.470, "address": "金榜路1号"},
        {"record_id": "c", "lon": 118.100, "lat": 24.470},
    ])
    return ev, attribute_events(ev, compounds, polygons)


def test_queue_written_as_bom_csv_and_excel_with_chinese_headers(tmp_path, compounds, polygons):
    _, (_, review) = _review(compounds, polygons)
    paths = write_review_queue(review, tmp_path)
    assert [p.suffix for p in paths] == [".csv", ".xlsx"]
    raw = paths[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("事件编号,来源,记录编号,原因")
    assert "未匹配" in text and "证据不一致" in text
    xl = pl.read_excel(paths[1])
    assert xl.height == review.height and "候选小区(编号:得分:方法)" in xl.columns


def test_decisions_round_trip_through_csv_and_excel(tmp_path, compounds, polygons):
    ev, _ = _review(compounds, polygons)
    decided = pl.DataFrame({"source": ["police", "police"], "record_id": ["a", "b"], "compound_id": ["", "C2"]})
    csv = tmp_path / "review_decisions.csv"
    decided.write_csv(csv, include_bom=True)
    xlsx = tmp_path / "review_decisions.xlsx"
    decided.rename({"source": "来源", "record_id": "记录编号", "compound_id": "小区编号"}).write_excel(xlsx)
    for path in (csv, xlsx):
        d = read_decisions(path)
        assert d.columns == ["source", "record_id", "compound_id"]
        assert d["compound_id"].to_list() == [None, "C2"]
        att, review2 = attribute_events(ev, compounds, polygons, decisions=d)
        assert att["method"].to_list()[:2] == ["excluded", "decision"]
        assert review2.height == 0  # decided records leave the queue and stay decided


@pytest.mark.parametrize("name, content, message", [
    ("d.txt", "x", "must be .csv or .xlsx"),
    ("d.csv", "foo,bar\n1,2\n", "lacks column"),
    ("d.xlsx", "not a workbook", "cannot read decisions"),
])
def test_bad_decisions_file_is_a_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_decisions(path)


def test_missing_decisions_file(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        read_decisions(tmp_path / "nope.csv")


def test_match_rates_per_source(compounds, polygons):
    ev = make_events([
        {"source": "police", "record_id": "1", "lon": 118.100, "lat": 24.470},
        {"source": "police", "record_id": "2", "lon": 118.3, "lat": 24.6},
        {"source": "police", "record_id": "3", "lon": 118.3, "lat": 24.6},
        {"source": "court", "record_id": "1", "address": "金榜苑"},
    ])
    d = pl.DataFrame({"source": ["police"], "record_id": ["3"], "compound_id": ["NONE"]})
    att, _ = attribute_events(ev, compounds, polygons, decisions=d)
    rates = {r["source"]: r for r in match_rates(att).iter_rows(named=True)}
    assert (rates["police"]["events"], rates["police"]["matched"], rates["police"]["excluded"]) == (3, 1, 1)
    assert rates["police"]["rate"] == pytest.approx(0.5)
    assert rates["police"]["n_polygon"] == 1 and rates["police"]["n_unmatched"] == 1
    assert rates["court"]["rate"] == 1.0 and rates["court"]["n_address"] == 1


def test_decisions_saved_by_chinese_excel_as_gb18030(tmp_path):
    path = tmp_path / "review_decisions.csv"
    path.write_bytes("来源,记录编号,小区编号\npolice,7,C1\n".encode("gb18030"))
    assert read_decisions(path).row(0) == ("police", "7", "C1")


def test_a_long_queue_workbook_holds_its_first_rows_and_says_so(tmp_path, compounds, polygons, monkeypatch):
    """The CSV has every row; the workbook the first WORKBOOK_ROWS, its tab says how many of how many."""
    _, (_, review) = _review(compounds, polygons)
    assert review.height >= 2
    monkeypatch.setattr("attribution.review.WORKBOOK_ROWS", 1)
    csv_path, xlsx_path = write_review_queue(review, tmp_path)
    assert pl.read_csv(csv_path).height == review.height
    sheets = pl.read_excel(xlsx_path, sheet_id=0)
    assert list(sheets) == [f"待复核 前1条 共{review.height}条"]
    (only,) = sheets.values()
    assert only["事件编号"].to_list() == review["event_id"].head(1).to_list()
