"""The demo's simulated needs: deterministic, through the workflow, in every state."""
from __future__ import annotations

import sqlite3
from datetime import date

import polars as pl

from generator.needs import simulate_needs
from intake import workflow


def _tables(db) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    conn = sqlite3.connect(db)
    try:
        needs = pl.read_database("SELECT id, compound_id, category, text, contact, created_at FROM needs ORDER BY id",
                                 conn, infer_schema_length=None)
        events = pl.read_database("SELECT need_id, at, actor_id, capacity, action, from_state, to_state, level, unit,"
                                  " deadline, rating FROM need_events ORDER BY id", conn, infer_schema_length=None)
        checkins = pl.read_database("SELECT officer_id, compound_id, kind, created_at FROM checkins ORDER BY id", conn,
                                    infer_schema_length=None)
    finally:
        conn.close()
    return needs, events, checkins


def test_same_seed_same_loop_and_every_state(city, tmp_path):
    data, _ = city
    kwargs = dict(start=date(2026, 10, 20), end=date(2026, 11, 20), seed=3, per_compound_day=0.06)
    states = simulate_needs(data, tmp_path / "a.sqlite", **kwargs)
    simulate_needs(data, tmp_path / "b.sqlite", **kwargs)
    a, b = _tables(tmp_path / "a.sqlite"), _tables(tmp_path / "b.sqlite")
    for x, y in zip(a, b):
        assert x.height > 0 and x.equals(y)
    assert {"assigned", "in_progress", "resolved", "closed", "rated"} <= set(states)
    actions = set(a[1]["action"])
    assert {"overdue", "escalate", "send_back", "resolve", "close", "rate"} <= actions
    assert (a[1]["to_state"] == "reopened").any()
    # every need's cached state is what its events replay to (the workflow kept its books)
    conn = sqlite3.connect(tmp_path / "a.sqlite")
    try:
        for need_id in a[0]["id"].to_list()[::7]:
            workflow.check_cache(conn, need_id)
    finally:
        conn.close()
    other = simulate_needs(data, tmp_path / "c.sqlite", **{**kwargs, "seed": 4})
    assert not _tables(tmp_path / "c.sqlite")[1].equals(a[1]) and other
