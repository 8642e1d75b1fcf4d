"""Property: whatever rows a CSV holds, nothing crashes and every row is accounted for."""
from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest.reference import ingest_sources
from tests.ingest.conftest import BBOX, HEADER, NOW

FIELDS = {
    "record_id": ["R1", "R2", "R3", "", "Ｒ４", " R5 "],
    "category": ["盗窃", "诈骗", "外星", "", "theft"],
    "occurred_at": ["2024-05-03 10:00:00", "2024-05-03", "2099-01-01", "昨天", "", "２０２４-０５-０３"],
    "address": ["思明区", "", '"a, b"', '"多\n行"'],
    "lon": ["118.1", "abc", "", "0", "１１８．２"],
    "lat": ["24.5", "", "0", "x"],
    "coord_sys": ["", "WGS84", "gcj-02", "mars"],
    "compound_id": ["", "C1"],
    "police_case_no": ["", "AJ1"],
    "status": ["", "撤销", "有效", "??"],
    "description": ["", "长" * 50, '"引号""内"'],
}
row_strategy = st.one_of(
    st.tuples(*[st.sampled_from(v) for v in FIELDS.values()]).map(",".join),
    st.lists(st.sampled_from(["R9", "盗窃", "2024-05-03", "x"]), min_size=1, max_size=14).map(",".join),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_strategy, max_size=30))
def test_every_row_is_accepted_or_quarantined(tmp_path_factory, taxonomy, rows):
    data = tmp_path_factory.mktemp("prop")
    folder = data / "sources" / "police"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = ingest_sources(data, seen_hashes=set(), taxonomy=taxonomy, bbox=BBOX, now=NOW)
    entry = result.ledger.row(0, named=True)
    assert entry["status"] == "loaded"
    assert entry["rows_read"] == len(rows) == entry["rows_accepted"] + entry["rows_quarantined"]
    assert result.records.height == entry["rows_accepted"]
    lines = pl.concat([result.records["line"], result.quarantine["line"]]).sort().to_list()
    assert lines == list(range(1, len(rows) + 1))
    assert result.records["record_id"].is_unique().all()
