"""Incidents: a police -> procuratorate -> court chain counts once, at its most final classification."""
from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from tests.ingest.reference import build_case_events
from ingest.merge import merge_records

COLS = ["source", "record_id", "category", "category_code", "occurred_at", "address", "lon", "lat", "coord_sys",
        "compound_id", "police_case_no", "status", "description", "file_sha256", "line"]


def rec(source, rid, code, when, case_no=None, lon=None, lat=None, cs="WGS84", address=None, status="valid", compound=None):
    return dict(source=source, record_id=rid, category=code, category_code=code, occurred_at=when, address=address,
                lon=lon, lat=lat, coord_sys=cs, compound_id=compound, police_case_no=case_no, status=status,
                description=None, file_sha256="x", line=1)


def records(*rows):
    return merge_records(None, pl.DataFrame(list(rows)).select(COLS).with_columns(pl.col("lon", "lat").cast(pl.Float64)))


def chain(court_status="valid", police_status="valid", proc_status="valid"):
    return records(
        rec("police", "P1", "assault", datetime(2024, 3, 1, 22), "AJ1", 118.1, 24.5, "GCJ02", "某路1号", police_status, "C001"),
        rec("procuratorate", "J1", "serious_assault", datetime(2024, 4, 2), "AJ1", status=proc_status),
        rec("court", "F1", "homicide", datetime(2024, 9, 9), "AJ1", address="法院记录地址", status=court_status),
        rec("police", "P2", "theft", datetime(2024, 5, 1), "AJ2", 118.2, 24.6),
        rec("justice", "S1", "community_correction", datetime(2024, 6, 1), "AJ1"),
    )


def test_three_record_chain_counts_once_at_the_courts_classification(taxonomy):
    events = build_case_events(chain(), taxonomy)
    assert events.height == 3  # the chain, the lone police case, the justice record
    inc = events.filter(pl.col("police_case_no") == "AJ1").filter(pl.col("source") != "justice").row(0, named=True)
    assert (inc["event_id"], inc["category_code"], inc["category_group"], inc["n_records"]) == ("court:F1", "homicide", "暴力", 3)
    assert inc["linked_records"] == "police:P1|procuratorate:J1|court:F1"
    # Place falls back to the police record when the court has none; the date is when it happened.
    assert (inc["lon"], inc["lat"], inc["coord_sys"], inc["compound_id"]) == (118.1, 24.5, "GCJ02", "C001")
    assert inc["address"] == "法院记录地址" and inc["occurred_at"] == datetime(2024, 3, 1, 22)


@pytest.mark.parametrize("court, police, proc, counted", [
    ("revoked", "valid", "valid", False),
    ("valid", "revoked", "valid", False),
    ("valid", "valid", "revoked", True),
])
def test_revocation_rule(taxonomy, court, police, proc, counted):
    events = build_case_events(chain(court, police, proc), taxonomy)
    assert ("court:F1" in events["event_id"].to_list()) is counted
    assert "police:P2" in events["event_id"].to_list()


def test_revoked_lone_record_is_dropped_and_unlinked_records_stand_alone(taxonomy):
    events = build_case_events(records(
        rec("police", "P1", "theft", datetime(2024, 1, 1), status="revoked"),
        rec("court", "F1", "property_dispute", datetime(2024, 1, 2)),
        rec("petition", "X1", "petition_mass", datetime(2024, 1, 3)),
    ), taxonomy)
    assert events.sort("event_id").select("event_id", "n_records").rows() == [("court:F1", 1), ("petition:X1", 1)]


def test_procuratorate_can_link_to_a_police_record_id(taxonomy):
    events = build_case_events(records(
        rec("police", "JQ9", "fraud", datetime(2024, 1, 1)),
        rec("procuratorate", "J9", "telecom_fraud", datetime(2024, 2, 1), "JQ9"),
    ), taxonomy)
    assert events.select("event_id", "category_code", "n_records").rows() == [("procuratorate:J9", "telecom_fraud", 2)]


def test_empty_records_give_no_events(taxonomy):
    assert build_case_events(records(rec("police", "P", "theft", datetime(2024, 1, 1))).clear(), taxonomy).height == 0
