"""Needs and check-ins per compound from the intake snapshot (marts.intake_counts)."""
from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from governance.figures import intake_counts
from intake import store
from intake.export import read_intake_tables


def _seed(db):
    conn = store.connect(db)
    rows = [("A", "2026-11-01"), ("A", "2026-11-23"), ("A", "2026-11-24"), ("A", "2026-10-31"), ("B", "2026-09-02")]
    for cid, day in rows:
        conn.execute("INSERT INTO needs (compound_id, category, text, receipt_key, created_at, local_date)"
                     " VALUES (?, '其他', 't', 'k', ?, ?)", (cid, day + "T10:00:00+08:00", day))
    for cid, day in [("A", "2026-11-05"), ("A", "2026-10-05"), ("C", "2026-11-23"), ("C", "2026-11-30")]:
        conn.execute("INSERT INTO checkins (officer_id, compound_id, kind, created_at, local_date)"
                     " VALUES ('o', ?, '法治宣传', ?, ?)", (cid, day + "T10:00:00+08:00", day))
    conn.close()


def test_counts_month_and_total_up_to_as_of(tmp_path):
    db = tmp_path / "i.sqlite"
    _seed(db)
    as_of = date(2026, 11, 23)
    tables = read_intake_tables(db, as_of)
    counts = intake_counts(tables["needs"], tables["checkins"], as_of)
    assert counts.columns == ["compound_id", "n_needs_month", "n_needs_total", "n_checkins_month"]
    assert counts.rows() == [("A", 2, 3, 1), ("B", 0, 1, 0), ("C", 0, 0, 1)]


def test_a_missing_database_is_nothing_submitted_and_stays_missing(tmp_path):
    tables = read_intake_tables(tmp_path / "none.sqlite", date(2026, 11, 23))
    assert intake_counts(tables["needs"], tables["checkins"], date(2026, 11, 23)).height == 0
    assert not (tmp_path / "none.sqlite").exists()
    junk = tmp_path / "junk.sqlite"
    sqlite3.connect(junk).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ValueError, match="not a SafeStar intake database"):
        read_intake_tables(junk, date(2026, 11, 23))
