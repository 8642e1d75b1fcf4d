"""Bounded load on loopback: 2,000 needs from 20 concurrent clients, none lost."""
from __future__ import annotations

from bench.intake_load import count_needs, run_load
from tests.intake.live import live_server


def test_two_thousand_needs_none_lost(site_dir, tmp_path):
    db, log = tmp_path / "load.sqlite", tmp_path / "server.jsonl"
    from reports.site_store import FILE_NAME, Publication
    ids = [r[0] for r in Publication(site_dir / FILE_NAME).search_rows()]
    with live_server(site_dir, db, log, "--no-rate-limit") as srv:
        result = run_load(srv.url, n=2000, concurrency=20, compound_ids=ids)
    print(f"\nintake load: {result.per_second} req/s, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms")
    assert result.ok == 2000 and result.failed == 0
    assert len(set(result.references)) == 2000
    assert count_needs(db) == 2000
    assert result.p99_ms < 5000  # generous for a busy 2-core CI box, but catches a stall
