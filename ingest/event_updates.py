"""Keeping core.case_events up to date: rebuild only the incident chains tonight touched.

An incident depends only on the records of its chain (`ingest.incidents.chain_key`) and
the taxonomy, so rebuilding the chains whose records changed — with the same
`build_keyed_events` — and replacing exactly their incidents gives the table a full
rebuild would give. Ingestion lists the chain keys of every record version it replaced or
inserted in `ops.case_event_pending` (`ingest.upsert`); this module consumes that list in
the same transaction as it rewrites the incidents, so a killed run leaves the list for the
next one.

Tables:
- `ops.case_event_chains(event_id, chain_key)`: the chain each incident was built from.
- `ops.case_event_changes(event_id, change)`: incidents `added`, `changed` or `removed`
  by this run (replaced every run; see docs/CONTRACTS.md).
- `ops.case_event_log(generation, event_id, change)`: the same lists, kept for the last
  `KEEP_GENERATIONS` runs, so a reader that missed a run (killed before it committed) still
  finds every change since the run it last read (`changes_since`).
- `ops.case_event_log_state(lineage, generation, kept_from)`: this run's number, the first
  generation whose changes the log still holds, and the lineage — a fresh id whenever the
  log starts over (a full build, or the log tables missing), so a reader's old position
  never matches a log that does not continue the one it read.
- `ops.case_events_state(fingerprint)`: taxonomy and incident rules the table was built with.

A full build (empty warehouse, no chain table yet, or another fingerprint) works in
slices of chains (`hash(chain_key) % n`), so only a slice of the records is in memory.
Row order: after a full build, slice by slice (each sorted by event_id); a nightly update
appends the rebuilt chains' incidents. Read with ORDER BY where order matters.
"""
from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from ingest import incidents
from ingest.incidents import CHAIN_KEY, CHAIN_KEY_SQL, build_keyed_events
from ingest.taxonomy import Taxonomy
from ingest.upsert import (
    CHAINS,
    PENDING,
    RECORDS,
    create_table_like,
    insert_frame,
    table_exists,
    transaction,
)
from schemas.events import CaseEvent

EVENTS = "core.case_events"
CHANGES = "ops.case_event_changes"
STATE = "ops.case_events_state"
LOG = "ops.case_event_log"
LOG_STATE = "ops.case_event_log_state"
# Runs whose changes stay in the log: a reader that misses more falls back to its own diff.
KEEP_GENERATIONS = 30
# A full build's new tables before they take the old names (same schemas: DuckDB renames
# within a schema).
NEXT = "core.case_events_next"
NEXT_CHAINS = "ops.case_event_chains_next"
SLICE_RECORDS = 2_000_000
INCIDENT_COLUMNS = ["source", "record_id", "category_code", "occurred_at", "address", "lon", "lat", "coord_sys",
                    "compound_id", "police_case_no", "status"]
EVENT_COLUMNS = list(CaseEvent.to_schema().columns)
CHANGE_SCHEMA = {"event_id": pl.String, "change": pl.String}


@dataclass(frozen=True)
class EventUpdate:
    """What one run did to core.case_events."""

    mode: str  # "full" or "incremental"
    chains: int  # chains rebuilt (full: all)
    events: int  # incidents in the table afterwards
    added: int
    changed: int
    removed: int
    rebuilt: pl.DataFrame | None  # the incidents built this run (incremental only), for the contract check


def incidents_fingerprint(taxonomy: Taxonomy) -> str:
    """Taxonomy categories and the incident rules' code: a change to either rebuilds everything."""
    digest = hashlib.sha256(taxonomy.categories.sort("code").write_csv().encode("utf-8"))
    digest.update(Path(incidents.__file__).read_bytes())
    return digest.hexdigest()


def _select_records(where: str) -> str:
    cols = ", ".join(f'"{c}"' for c in INCIDENT_COLUMNS)
    return f"SELECT {cols} FROM {RECORDS} WHERE {where}"


def _needs_full(conn: duckdb.DuckDBPyConnection, fingerprint: str) -> bool:
    if not all(table_exists(conn, t) for t in (EVENTS, CHAINS, PENDING, STATE)):
        return True
    rows = conn.execute(f"SELECT fingerprint FROM {STATE}").fetchall()
    return rows != [(fingerprint,)]


def update_case_events(conn: duckdb.DuckDBPyConnection, taxonomy: Taxonomy, *,
                       slice_records: int = SLICE_RECORDS) -> EventUpdate:
    """Bring core.case_events in line with raw.case_records: only the pending chains, or
    everything when a full build is due.

    `conn` is an autocommit connection: the tables change in one final transaction (a full
    build prepares its new tables in transactions of their own first, since DuckDB keeps an
    open transaction's appended rows in memory), so a killed run changes nothing visible.
    """
    fingerprint = incidents_fingerprint(taxonomy)
    if not table_exists(conn, RECORDS):
        raise LookupError(f"{RECORDS} does not exist: ingest the landing zone first")
    if _needs_full(conn, fingerprint):
        _prepare_full_build(conn, taxonomy, slice_records)
        with transaction(conn):
            update = _swap_in_full_build(conn)
            log_changes(conn, full=True)
            _finish(conn, fingerprint)
    else:
        with transaction(conn):
            update = _incremental(conn, taxonomy)
            log_changes(conn, full=False)
            _finish(conn, fingerprint)
    return update


@dataclass(frozen=True)
class LogPosition:
    """Where the change log stands: its lineage and the generation of its last run."""

    lineage: str
    generation: int


def log_position(conn: duckdb.DuckDBPyConnection) -> LogPosition | None:
    """The log's current position, or None when there is no log."""
    if not (table_exists(conn, LOG) and table_exists(conn, LOG_STATE)):
        return None
    rows = conn.execute(f"SELECT lineage, generation FROM {LOG_STATE}").fetchall()
    return LogPosition(*rows[0]) if len(rows) == 1 else None


def log_changes(conn: duckdb.DuckDBPyConnection, *, full: bool) -> LogPosition:
    """Append this run's `ops.case_event_changes` to the log as the next generation (inside
    the run's transaction) and drop generations older than `KEEP_GENERATIONS`. A full build,
    or a log that is missing, starts a new lineage with nothing in it: a reader cannot
    prove what changed across it and diffs by itself once."""
    position = log_position(conn)
    generation = position.generation + 1 if position else 1
    if full or position is None:
        lineage, kept_from = uuid.uuid4().hex, generation + 1
        conn.execute(f"CREATE OR REPLACE TABLE {LOG} (generation BIGINT, event_id VARCHAR, change VARCHAR)").fetchall()
    else:
        lineage = position.lineage
        kept_from = conn.execute(f"SELECT kept_from FROM {LOG_STATE}").fetchall()[0][0]
        conn.execute(f"INSERT INTO {LOG} SELECT ?, event_id, change FROM {CHANGES}", [generation]).fetchall()
        if generation - kept_from >= KEEP_GENERATIONS:
            kept_from = generation - KEEP_GENERATIONS + 1
            conn.execute(f"DELETE FROM {LOG} WHERE generation < ?", [kept_from]).fetchall()
    conn.execute(f"CREATE OR REPLACE TABLE {LOG_STATE} AS SELECT ?::VARCHAR AS lineage, ?::BIGINT AS generation, "
                 f"?::BIGINT AS kept_from", [lineage, generation, kept_from]).fetchall()
    return LogPosition(lineage, generation)


def changes_since(conn: duckdb.DuckDBPyConnection, seen: LogPosition | None) -> str | None:
    """A query of the `event_id`s (distinct) of every incident added, changed or removed
    after the run `seen` — or None when the log cannot prove it: no log, another lineage
    (a full build since, or the log started over), or generations already dropped."""
    now = log_position(conn)
    if seen is None or now is None or seen.lineage != now.lineage or seen.generation > now.generation:
        return None
    kept_from = conn.execute(f"SELECT kept_from FROM {LOG_STATE}").fetchall()[0][0]
    if seen.generation + 1 < kept_from:
        return None
    return f"SELECT DISTINCT event_id FROM {LOG} WHERE generation > {int(seen.generation)}"


def _finish(conn: duckdb.DuckDBPyConnection, fingerprint: str) -> None:
    conn.execute(f"CREATE OR REPLACE TABLE {STATE} AS SELECT ? AS fingerprint", [fingerprint]).fetchall()
    conn.execute(f"CREATE OR REPLACE TABLE {PENDING} ({CHAIN_KEY} VARCHAR)").fetchall()


def _keyed(frame: pl.DataFrame) -> pl.DataFrame:
    """Incidents validated against the contract, the chain key kept alongside."""
    return CaseEvent.validate(frame.drop(CHAIN_KEY)).with_columns(frame.get_column(CHAIN_KEY))


def _prepare_full_build(conn: duckdb.DuckDBPyConnection, taxonomy: Taxonomy, slice_records: int) -> None:
    """Every incident into NEXT and its chain into NEXT_CHAINS, a slice of chains per
    transaction. Rows come slice by slice, each slice sorted by event_id: a global sort
    would write the 10M-record city's incidents twice for an order nothing relies on."""
    n_records = conn.execute(f"SELECT count(*) FROM {RECORDS}").fetchall()[0][0]
    n_slices = max(1, math.ceil(n_records / slice_records))
    for table in (NEXT, NEXT_CHAINS):  # leftovers of a killed run
        conn.execute(f"DROP TABLE IF EXISTS {table}").fetchall()
    empty = _keyed(build_keyed_events(conn.sql(_select_records("false")).pl(), taxonomy))
    with transaction(conn):
        create_table_like(conn, NEXT, empty.drop(CHAIN_KEY))
        create_table_like(conn, NEXT_CHAINS, empty.select(CaseEvent.event_id, CHAIN_KEY))
    for i in range(n_slices):
        where = f"hash({CHAIN_KEY_SQL}) % {n_slices} = {i}" if n_slices > 1 else "true"
        records = conn.sql(_select_records(where)).pl()
        built = _keyed(build_keyed_events(records, taxonomy))
        del records
        with transaction(conn):
            insert_frame(conn, NEXT, built.drop(CHAIN_KEY))
            insert_frame(conn, NEXT_CHAINS, built.select(CaseEvent.event_id, CHAIN_KEY))
        del built


def _swap_in_full_build(conn: duckdb.DuckDBPyConnection) -> EventUpdate:
    """Inside the final transaction: the change list, then the new tables take the old names."""
    if table_exists(conn, EVENTS):
        changes = _diff_sql(EVENTS, NEXT)
    else:
        changes = f"SELECT event_id, 'added' AS change FROM {NEXT}"
    conn.execute(f"CREATE OR REPLACE TABLE {CHANGES} AS {changes}").fetchall()
    for table, nxt in ((EVENTS, NEXT), (CHAINS, NEXT_CHAINS)):
        conn.execute(f"DROP TABLE IF EXISTS {table}").fetchall()
        conn.execute(f"ALTER TABLE {nxt} RENAME TO {table.split('.')[1]}").fetchall()
    n_events = conn.execute(f"SELECT count(*) FROM {EVENTS}").fetchall()[0][0]
    return EventUpdate("full", n_events, n_events, *_change_counts(conn), rebuilt=None)


def _diff_sql(old: str, new: str) -> str:
    """Incidents added, changed (any column differs) or removed between two tables."""
    differs = " OR ".join(f'o."{c}" IS DISTINCT FROM n."{c}"' for c in EVENT_COLUMNS if c != "event_id")
    return (
        "SELECT coalesce(n.event_id, o.event_id) AS event_id,"
        " CASE WHEN o.event_id IS NULL THEN 'added' WHEN n.event_id IS NULL THEN 'removed' ELSE 'changed' END AS change"
        f" FROM {new} n FULL OUTER JOIN {old} o ON n.event_id = o.event_id"
        f" WHERE o.event_id IS NULL OR n.event_id IS NULL OR {differs}"
    )


def _change_counts(conn: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    counts = dict(conn.execute(f"SELECT change, count(*) FROM {CHANGES} GROUP BY change").fetchall())
    return counts.get("added", 0), counts.get("changed", 0), counts.get("removed", 0)


def _incremental(conn: duckdb.DuckDBPyConnection, taxonomy: Taxonomy) -> EventUpdate:
    conn.execute(f"CREATE OR REPLACE TEMP TABLE _touched AS SELECT DISTINCT {CHAIN_KEY} FROM {PENDING}").fetchall()
    n_chains = conn.execute("SELECT count(*) FROM _touched").fetchall()[0][0]
    records = conn.sql(_select_records(f"({CHAIN_KEY_SQL}) IN (SELECT {CHAIN_KEY} FROM _touched)")).pl()
    built = _keyed(build_keyed_events(records, taxonomy))
    del records
    old_ids = f"SELECT event_id FROM {CHAINS} WHERE {CHAIN_KEY} IN (SELECT {CHAIN_KEY} FROM _touched)"
    conn.execute(f"CREATE OR REPLACE TEMP TABLE _old AS SELECT * FROM {EVENTS} WHERE event_id IN ({old_ids})").fetchall()
    conn.register("_built", built.to_arrow())
    conn.execute(f"CREATE OR REPLACE TABLE {CHANGES} AS {_diff_sql('_old', '_built')} ORDER BY event_id").fetchall()
    # Untouched rows stay where they are; the touched chains' incidents are replaced.
    conn.execute(f"DELETE FROM {EVENTS} WHERE event_id IN (SELECT event_id FROM _old)").fetchall()
    conn.execute(f"DELETE FROM {CHAINS} WHERE {CHAIN_KEY} IN (SELECT {CHAIN_KEY} FROM _touched)").fetchall()
    event_cols = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
    conn.execute(f"INSERT INTO {EVENTS} BY NAME SELECT {event_cols} FROM _built").fetchall()
    conn.execute(f"INSERT INTO {CHAINS} BY NAME SELECT event_id, {CHAIN_KEY} FROM _built").fetchall()
    conn.unregister("_built")
    conn.execute("DROP TABLE _touched").fetchall()
    conn.execute("DROP TABLE _old").fetchall()
    n_events = conn.execute(f"SELECT count(*) FROM {EVENTS}").fetchall()[0][0]
    return EventUpdate("incremental", n_chains, n_events, *_change_counts(conn), rebuilt=built.drop(CHAIN_KEY))
