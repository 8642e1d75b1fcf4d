"""The source completeness verdict: stale and thin sources, rejected files, acknowledgements."""
from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from ingest.completeness import blocking_message, source_completeness, split_outages, windows
from scoring.rules import SourceChecks, load_rules
from schemas.events import SOURCES

AS_OF = date(2026, 11, 19)
NO_FILES = pl.DataFrame(schema={"source": pl.String, "file": pl.String, "error": pl.String})
NO_ACKS, _ = split_outages(None)
CHECKS = SourceChecks(recent_days=30, trailing_days=180, min_volume_ratio=0.3, min_expected=5,
                      per_source={"police": {"recent_days": 14}})


def counts(**per_source) -> pl.DataFrame:
    """source -> (total, recent, trailing); every source a year old."""
    rows = [{"source": s, "total": t, "recent": r, "trailing": tr, "first_at": datetime(2025, 11, 1)}
            for s, (t, r, tr) in {s: per_source.get(s, (1000, 100, 600)) for s in SOURCES}.items()]
    return pl.DataFrame(rows)


def verdict(c, files=NO_FILES, acks=NO_ACKS, checks=CHECKS):
    return {r["source"]: r for r in source_completeness(c, files, acks, checks, AS_OF).iter_rows(named=True)}


def test_complete_sources_pass():
    v = verdict(counts())
    assert not any(r["blocks"] for r in v.values()) and not any(r["problem"] for r in v.values())
    assert blocking_message(source_completeness(counts(), NO_FILES, NO_ACKS, CHECKS, AS_OF), AS_OF) == ""


def test_a_source_silent_in_its_recent_window_is_stale():
    v = verdict(counts(court=(700, 0, 600)))
    assert v["court"]["problem"] == "stale" and v["court"]["blocks"]
    assert v["court"]["expected_recent"] == 100.0  # 600 in 180 days -> 100 in 30


def test_a_night_far_below_the_trailing_level_is_low_volume():
    v = verdict(counts(police=(5000, 20, 1800)))  # 1800/180*14 = 140 expected, 20 arrived
    assert v["police"]["problem"] == "low_volume" and v["police"]["recent_days"] == 14
    line = blocking_message(source_completeness(counts(police=(5000, 20, 1800)), NO_FILES, NO_ACKS, CHECKS, AS_OF), AS_OF)
    assert "source police" in line and "\n" not in line and "source_outages.csv" in line


def test_a_thin_source_with_a_quiet_window_is_not_an_outage():
    # 12 records in 180 days: 2 expected in 30 days, under min_expected; silence proves nothing.
    assert verdict(counts(petition=(20, 0, 12)))["petition"]["problem"] is None


def test_a_source_with_no_records_and_a_rejected_file():
    files = pl.DataFrame({"source": ["justice"], "file": ["sources/justice/x.jsonl"], "error": ["not JSON\nat line 1"]})
    v = verdict(counts(court=(0, 0, 0)), files=files)
    assert v["court"]["problem"] == "empty" and v["justice"]["problem"] == "rejected_file"
    assert "\n" not in v["justice"]["detail"]


def test_no_records_anywhere_cannot_be_acknowledged():
    acks, bad = split_outages(pl.DataFrame({"source": SOURCES, "from": "2026-01-01", "to": "2026-12-31",
                                            "who": "王", "when": "2026-11-18 09:00", "why": "切换"}))
    assert bad.is_empty() and acks.height == 5
    v = verdict(counts(**{s: (0, 0, 0) for s in SOURCES}), acks=acks)
    assert all(r["problem"] == "no_records_at_all" and r["blocks"] and not r["acknowledged"] for r in v.values())


def test_an_acknowledged_outage_publishes_with_who_when_why_only_on_its_dates():
    frame = pl.DataFrame({"source": ["court", "court"], "from": ["2026-11-01", "2026-12-01"],
                          "to": ["2026-11-30", "2026-12-31"], "who": ["张三", "李四"],
                          "when": ["2026-11-02 10:00", "2026-12-01 09:00"], "why": ["法院系统升级", "另一次"]})
    acks, _ = split_outages(frame)
    court = verdict(counts(court=(700, 0, 600)), acks=acks)["court"]
    assert court["acknowledged"] and not court["blocks"]
    assert (court["ack_who"], court["ack_why"]) == ("张三", "法院系统升级")
    later = source_completeness(counts(court=(700, 0, 600)), NO_FILES, acks.filter(pl.col("who") == "李四"), CHECKS, AS_OF)
    assert later.filter(pl.col("source") == "court")["blocks"][0]  # an acknowledgement of other dates does not hold


@pytest.mark.parametrize("row, reason", [
    ({"source": "fire", "from": "2026-11-01", "to": "2026-11-30", "who": "a", "when": "2026-11-01 08:00", "why": "b"}, "source fire"),
    ({"source": "court", "from": "11/01", "to": "2026-11-30", "who": "a", "when": "2026-11-01 08:00", "why": "b"}, "dates"),
    ({"source": "court", "from": "2026-11-30", "to": "2026-11-01", "who": "a", "when": "2026-11-01 08:00", "why": "b"}, "before"),
    ({"source": "court", "from": "2026-11-01", "to": "2026-11-30", "who": "", "when": "2026-11-01 08:00", "why": "b"}, "who"),
    ({"source": "court", "from": "2026-11-01", "to": "2026-11-30", "who": "a", "when": "x", "why": "b"}, "when"),
    ({"source": "court", "from": "2026-11-01", "to": "2026-11-30", "who": "a", "when": "2026-11-01 08:00", "why": " "}, "why"),
])
def test_an_unusable_acknowledgement_is_reported_not_applied(row, reason):
    good, bad = split_outages(pl.DataFrame([row]))
    assert good.is_empty() and bad.height == 1 and reason in bad["reason"][0]


def test_thresholds_come_from_the_rules_file():
    checks = load_rules().sources
    assert checks.for_source("police").recent_days == 14 and checks.for_source("court").recent_days == checks.recent_days
    w = windows(checks, AS_OF)
    assert w.filter(pl.col("source") == "police")["recent_start"][0] == datetime(2026, 11, 6)
