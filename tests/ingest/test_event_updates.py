"""Streaming ingestion into DuckDB and incremental incidents equal the in-memory, from-scratch results."""
from __future__ import annotations

import random

import duckdb
import polars as pl
import pytest

from ingest.event_updates import CHANGES, LOG, LogPosition, changes_since, log_position, update_case_events
from ingest.incidents import CHAIN_KEY_SQL, chain_key
from ingest.landing import iter_landing
from tests.ingest.reference import build_case_events, ingest_sources
from ingest.merge import merge_records
from ingest.quality import (
    CHAIN_MEMBER_COUNTS_SQL,
    INCIDENT_COUNTS_SQL,
    RECORD_COUNTS_SQL,
    data_quality,
    data_quality_from_counts,
)
from ingest.upsert import NightWriter
from tests.ingest.conftest import BBOX, NOW, canonical_csv, row

SOURCES = ["police", "procuratorate", "court", "justice", "petition"]
CODES = ["theft", "fraud", "robbery", "assault", "burglary", "fighting"]


def _warehouse() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    for schema in ("raw", "core", "ops"):
        conn.execute(f"CREATE SCHEMA {schema}")
    return conn


def _ingest_night(conn, data, seen: set[str], taxonomy) -> pl.DataFrame:
    """One night's ingestion as the asset does it: file by file, each in its own transaction."""
    before = conn.sql("SELECT * FROM raw.file_ledger").pl() if _has(conn, "raw.file_ledger") else None
    night = NightWriter(conn, before)
    for outcome in iter_landing(data, seen_hashes=seen, taxonomy=taxonomy, bbox=BBOX, now=NOW):
        night.add(outcome)
    ledger = night.finish()
    seen |= set(ledger.filter(pl.col("status") == "loaded")["file_sha256"])
    return ledger


def _update(conn, taxonomy, slice_records: int = 150):
    return update_case_events(conn, taxonomy, slice_records=slice_records)  # several slices even for a small city


def _has(conn, table: str) -> bool:
    schema, name = table.split(".")
    return bool(conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema=? AND table_name=?",
                             [schema, name]).fetchall())


def _events(conn) -> pl.DataFrame:
    return conn.sql("SELECT * FROM core.case_events ORDER BY event_id").pl()


def _from_scratch(conn, taxonomy) -> pl.DataFrame:
    return build_case_events(conn.sql("SELECT * FROM raw.case_records").pl(), taxonomy)


def _random_rows(rng: random.Random, source: str, ids: list[str], cases: list[str]) -> list[str]:
    rows = []
    for rid in ids:
        case_no = rng.choice(cases) if source != "justice" or rng.random() < 0.3 else ""
        if source == "police" and rng.random() < 0.2:
            case_no = ""  # a police record without a case number is its own incident
        point = rng.random() < 0.6
        rows.append(row(
            rid, category=rng.choice(CODES), when=f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 10:00:00",
            address=f"思明区某路{rng.randint(1, 40)}号" if rng.random() < 0.7 else "",
            lon=f"{118.0 + rng.random() * 0.3:.5f}" if point else "", lat=f"{24.4 + rng.random() * 0.3:.5f}" if point else "",
            compound=f"C{rng.randint(1, 30):03d}" if rng.random() < 0.3 else "", case_no=case_no,
            status="撤销" if rng.random() < 0.12 else "",
        ))
    return rows


def _prefix(source: str) -> str:
    return source[:2].upper()


@pytest.fixture
def city(landing):
    """Night 1: ~1,000 records of five sources whose police case numbers link chains."""
    rng = random.Random(7)
    cases = [f"AJ{i:03d}" for i in range(120)]
    for source in SOURCES:
        ids = [f"{_prefix(source)}{i}" for i in range(200)]
        landing(source, {"a.csv": canonical_csv(*_random_rows(rng, source, ids[:120], cases)),
                         "b.csv": canonical_csv(*_random_rows(rng, source, ids[100:], cases))})
    return landing, rng, cases


def _next_night(landing, rng, cases, name: str) -> None:
    """Corrections (other case numbers, categories, revocations), new records, a repeat inside the night."""
    for source in SOURCES:
        corrected = [f"{_prefix(source)}{i}" for i in rng.sample(range(200), 25)]
        new = [f"{_prefix(source)}{i}" for i in range(200 + 30 * int(name[-1]), 230 + 30 * int(name[-1]))]
        landing(source, {f"{name}_1.csv": canonical_csv(*_random_rows(rng, source, corrected + new, cases)),
                         f"{name}_2.csv": canonical_csv(*_random_rows(rng, source, corrected[:5], cases))})


def test_streamed_records_equal_the_in_memory_merge(city, taxonomy):
    landing, rng, cases = city
    data = landing("police", {})
    conn = _warehouse()
    seen: set[str] = set()
    _ingest_night(conn, data, seen, taxonomy)
    first = ingest_sources(data, seen_hashes=set(), taxonomy=taxonomy, bbox=BBOX, now=NOW)
    _next_night(landing, rng, cases, "n2")
    ledger = _ingest_night(conn, data, seen, taxonomy)
    second = ingest_sources(data, seen_hashes=set(first.ledger["file_sha256"]), taxonomy=taxonomy, bbox=BBOX, now=NOW)
    assert ledger.drop("ingested_at").equals(second.ledger.drop("ingested_at"))
    expected = merge_records(first.records, second.records)
    stored = conn.sql("SELECT * FROM raw.case_records").pl()
    assert stored.equals(expected)  # same rows in the same order
    quarantine = conn.sql("SELECT * FROM raw.quarantine").pl()
    assert quarantine.equals(pl.concat([first.quarantine, second.quarantine]))
    new_files = second.ledger.filter(pl.col("status") != "skipped_duplicate").height
    assert conn.sql("SELECT count(*) FROM raw.file_ledger").fetchall()[0][0] == first.ledger.height + new_files


def test_incremental_incidents_equal_a_rebuild(city, taxonomy):
    landing, rng, cases = city
    data = landing("police", {})
    conn = _warehouse()
    seen: set[str] = set()
    _ingest_night(conn, data, seen, taxonomy)
    first = _update(conn, taxonomy)
    assert first.mode == "full"
    assert _events(conn).equals(_from_scratch(conn, taxonomy))
    for name in ("n2", "n3"):
        before = _events(conn)
        _next_night(landing, rng, cases, name)
        _ingest_night(conn, data, seen, taxonomy)
        update = _update(conn, taxonomy)
        assert update.mode == "incremental" and 0 < update.chains < before.height
        after = _events(conn)
        assert after.equals(_from_scratch(conn, taxonomy))
        # The change list names exactly the incidents that differ from last night.
        old, new = before.rows_by_key("event_id"), after.rows_by_key("event_id")
        expected = sorted(
            [(e, "added") for e in new if e not in old] + [(e, "removed") for e in old if e not in new]
            + [(e, "changed") for e in new if e in old and new[e] != old[e]]
        )
        assert sorted(conn.sql(f"SELECT event_id, change FROM {CHANGES}").fetchall()) == expected
        assert {"added", "removed"} <= {c for _, c in expected}
    # A warehouse built from scratch on the same records holds the same incidents.
    fresh = _warehouse()
    fresh.register("r", conn.sql("SELECT * FROM raw.case_records").pl().to_arrow())
    fresh.execute("CREATE TABLE raw.case_records AS SELECT * FROM r")
    assert _update(fresh, taxonomy).mode == "full"
    assert _events(fresh).equals(_events(conn))


def test_chains_pending_from_an_unfinished_run_are_rebuilt_later(city, taxonomy, monkeypatch):
    landing, rng, cases = city
    data = landing("police", {})
    conn = _warehouse()
    seen: set[str] = set()
    _ingest_night(conn, data, seen, taxonomy)
    _update(conn, taxonomy)
    _next_night(landing, rng, cases, "n2")
    _ingest_night(conn, data, seen, taxonomy)  # the incidents step of this night never ran
    _next_night(landing, rng, cases, "n3")
    _ingest_night(conn, data, seen, taxonomy)
    def killed(*_):
        raise KeyboardInterrupt  # a run killed inside the incidents step's transaction

    import ingest.event_updates as eu
    monkeypatch.setattr(eu, "_finish", killed)
    with pytest.raises(KeyboardInterrupt):
        update_case_events(conn, taxonomy)
    monkeypatch.undo()
    assert _update(conn, taxonomy).mode == "incremental"
    assert _events(conn).equals(_from_scratch(conn, taxonomy))
    assert _update(conn, taxonomy).chains == 0  # nothing pending any more


def test_another_taxonomy_or_rule_code_rebuilds_everything(city, taxonomy, monkeypatch):
    landing, _, _ = city
    conn = _warehouse()
    _ingest_night(conn, landing("police", {}), set(), taxonomy)
    _update(conn, taxonomy)
    conn.execute("UPDATE ops.case_events_state SET fingerprint = 'an older taxonomy'")
    before = _events(conn)

    def killed(*_):
        raise KeyboardInterrupt

    import ingest.event_updates as eu
    monkeypatch.setattr(eu, "_finish", killed)  # killed in the final transaction of a full build
    with pytest.raises(KeyboardInterrupt):
        _update(conn, taxonomy)
    monkeypatch.undo()
    assert _events(conn).equals(before)
    update = _update(conn, taxonomy)
    assert update.mode == "full" and (update.added, update.changed, update.removed) == (0, 0, 0)
    assert _events(conn).equals(before) and _update(conn, taxonomy).mode == "incremental"


def test_chain_key_sql_equals_the_polars_rule():
    rng = random.Random(3)
    frame = pl.DataFrame({
        "source": [rng.choice(SOURCES) for _ in range(500)],
        "record_id": [f"R{rng.randint(0, 50)}" for _ in range(500)],
        "police_case_no": [rng.choice([None, "AJ1", "AJ2", "R7"]) for _ in range(500)],
    })
    conn = _warehouse()
    conn.register("f", frame.to_arrow())
    in_sql = conn.sql(f"SELECT {CHAIN_KEY_SQL} AS k FROM f").pl()["k"]
    assert in_sql.to_list() == frame.select(chain_key().alias("k"))["k"].to_list()


def test_data_quality_counted_in_duckdb_equals_polars(city, taxonomy):
    landing, rng, cases = city
    data = landing("police", {})
    conn = _warehouse()
    seen: set[str] = set()
    _ingest_night(conn, data, seen, taxonomy)
    _next_night(landing, rng, cases, "n2")
    _ingest_night(conn, data, seen, taxonomy)
    _update(conn, taxonomy)
    ledger, quarantine = (conn.sql(f"SELECT * FROM {t}").pl() for t in ("raw.file_ledger", "raw.quarantine"))
    counts = [conn.sql(q).pl() for q in (RECORD_COUNTS_SQL, INCIDENT_COUNTS_SQL, CHAIN_MEMBER_COUNTS_SQL)]
    in_sql = data_quality_from_counts(ledger, quarantine, *counts)
    in_polars = data_quality(ledger, quarantine, conn.sql("SELECT * FROM raw.case_records").pl(), _events(conn))
    assert in_sql.equals(in_polars)
    assert in_sql["records_in_chains"].sum() > 0 and in_sql["superseded"].sum() > 0


def test_a_night_larger_than_a_row_group_supersedes_inside_its_transaction(landing, taxonomy, tmp_path):
    """DuckDB writes big uncommitted inserts to the file as it goes; a later file of the same
    night must still find and replace them (a file database: in-memory ones never do that)."""
    n = 130_000  # more than one DuckDB row group (122,880 rows)
    data = landing("police", {
        "a.csv": canonical_csv(*(row(f"P{i}", case_no=f"AJ{i}") for i in range(n))),
        "b.csv": canonical_csv(*(row(f"P{i}", category="诈骗", case_no=f"AJ{i}") for i in range(0, n, 1000))),
    })
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    for schema in ("raw", "core", "ops"):
        conn.execute(f"CREATE SCHEMA {schema}")
    _ingest_night(conn, data, set(), taxonomy)
    counts = conn.sql("SELECT category_code, count(*) FROM raw.case_records GROUP BY ALL ORDER BY ALL").fetchall()
    assert counts == [("fraud", n // 1000), ("theft", n - n // 1000)]
    _update(conn, taxonomy, slice_records=50_000)
    assert conn.sql("SELECT count(*) FROM core.case_events WHERE category_code = 'fraud'").fetchall() == [(n // 1000,)]


def test_the_change_log_keeps_every_run_until_it_is_dropped(city, taxonomy, monkeypatch):
    landing, rng, cases = city
    data = landing("police", {})
    conn = _warehouse()
    seen: set[str] = set()
    _ingest_night(conn, data, seen, taxonomy)
    _update(conn, taxonomy)
    start = log_position(conn)
    assert start is not None and changes_since(conn, None) is None
    lists = []
    for name in ("n2", "n3"):
        _next_night(landing, rng, cases, name)
        _ingest_night(conn, data, seen, taxonomy)
        _update(conn, taxonomy)
        lists.append(set(conn.sql(f"SELECT event_id FROM {CHANGES}").pl()["event_id"]))
    now = log_position(conn)
    assert (now.lineage, now.generation) == (start.lineage, start.generation + 2)
    # Since the full build: both nights' lists (each replaced the last in ops.case_event_changes).
    since_start = set(conn.sql(changes_since(conn, start)).pl()["event_id"])
    assert since_start == lists[0] | lists[1] and lists[0] - lists[1]
    middle = LogPosition(start.lineage, start.generation + 1)
    assert set(conn.sql(changes_since(conn, middle)).pl()["event_id"]) == lists[1]
    assert conn.sql(changes_since(conn, now)).pl().is_empty()
    # Another lineage, or a position the log has not reached, proves nothing.
    assert changes_since(conn, LogPosition("elsewhere", start.generation)) is None
    assert changes_since(conn, LogPosition(start.lineage, now.generation + 1)) is None
    # Generations beyond the kept ones are dropped: a reader that old proves nothing.
    monkeypatch.setattr("ingest.event_updates.KEEP_GENERATIONS", 1)
    _update(conn, taxonomy)
    assert changes_since(conn, middle) is None and changes_since(conn, now) is not None
    assert conn.sql(f"SELECT DISTINCT generation FROM {LOG}").fetchall() == []  # the last run changed nothing
    # A full build starts a new lineage: nothing before it can be proven from the log.
    conn.execute("UPDATE ops.case_events_state SET fingerprint = 'an older taxonomy'")
    _update(conn, taxonomy)
    assert log_position(conn).lineage != start.lineage and changes_since(conn, now) is None
