"""Tonight's files into raw.case_records, one file at a time, inside the caller's transaction.

The rule is the one of `ingest.merge.merge_records`: per (source, record_id) the later
version wins — a later file of tonight over an earlier one, tonight over the warehouse.
Applying it file by file (delete the earlier versions of the file's ids, insert the file)
gives exactly that table, in the same row order, while holding one file in memory instead
of the night; DuckDB writes large uncommitted inserts to the database file as it goes.
Because everything happens in one transaction with the ledger, a run killed at any moment
leaves the warehouse as it was, and the next run loads the same files again.

When incidents are maintained incrementally (`ops.case_event_chains` exists), the chain
keys of every record version replaced or inserted here are appended to
`ops.case_event_pending`, for `core/case_events` to rebuild those chains only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from ingest.incidents import CHAIN_KEY, CHAIN_KEY_SQL
from ingest.landing import LEDGER_SCHEMA, QUARANTINE_SCHEMA, FileOutcome, _empty_records
from ingest.merge import validate_records
from schemas.quality import FileLedger, QuarantineRow

RECORDS = "raw.case_records"
QUARANTINE = "raw.quarantine"
LEDGER = "raw.file_ledger"
PENDING = "ops.case_event_pending"
CHAINS = "ops.case_event_chains"


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchall())


def create_table_like(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Create `table` (if absent) with the frame's columns and types, by explicit DDL.

    Not `CREATE TABLE … AS SELECT … WHERE false`: in DuckDB 2.0 a table created that way
    and then filled with more than a row group inside the same transaction scans as empty
    (filters, joins and copies of it find no rows) until the database is reopened.
    """
    conn.register("_like", frame.head(0).to_arrow())
    columns = conn.execute("DESCRIBE SELECT * FROM _like").fetchall()
    conn.unregister("_like")
    ddl = ", ".join(f'"{name}" {dtype}' for name, dtype, *_ in columns)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({ddl})").fetchall()


def insert_frame(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Append the frame's rows (by column name), creating the table first when absent."""
    create_table_like(conn, table, frame)
    if frame.height:
        conn.register("_incoming", frame.to_arrow())
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming").fetchall()
        conn.unregister("_incoming")


@dataclass
class NightWriter:
    """Writes each landing-zone file's outcome as it comes; `finish` adds the ledger rows.

    `conn` must be inside an open transaction (the caller commits or rolls back).
    """

    conn: duckdb.DuckDBPyConnection
    ledger: list[dict] = field(default_factory=list)
    loaded_hashes: list[str] = field(default_factory=list)
    track_chains: bool = False

    def __post_init__(self) -> None:
        self.track_chains = table_exists(self.conn, CHAINS)
        if self.track_chains:
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {PENDING} ({CHAIN_KEY} VARCHAR)").fetchall()

    def add(self, outcome: FileOutcome) -> None:
        """One file: its quarantine rows appended, its records replacing earlier versions."""
        self.ledger.append(outcome.ledger)
        if outcome.ledger["status"] != "loaded":
            return
        self.loaded_hashes.append(outcome.ledger["file_sha256"])
        for q in outcome.quarantine:
            insert_frame(self.conn, QUARANTINE, QuarantineRow.validate(q.cast(QUARANTINE_SCHEMA)))
        if not outcome.records:
            return
        # Ids are unique within a file (later repeats were quarantined), so no merge is needed here.
        records = validate_records(pl.concat(outcome.records, how="vertical_relaxed"), keys_unique=True)
        outcome.records.clear()  # the validated copy is the only one kept
        self._upsert_file(records, outcome.ledger["source"])

    def _upsert_file(self, records: pl.DataFrame, source: str) -> None:
        conn = self.conn
        create_table_like(conn, RECORDS, records)
        conn.register("_ids", records.select("record_id").to_arrow())
        earlier = f"FROM {RECORDS} t WHERE t.source = ? AND t.record_id IN (SELECT record_id FROM _ids)"
        if self.track_chains:
            # Both the replaced and the new version: a correction may move a record to another chain.
            conn.execute(f"INSERT INTO {PENDING} SELECT DISTINCT {CHAIN_KEY_SQL} {earlier}", [source]).fetchall()
        conn.execute(f"DELETE {earlier}", [source]).fetchall()
        conn.unregister("_ids")
        conn.register("_incoming", records.to_arrow())
        conn.execute(f"INSERT INTO {RECORDS} BY NAME SELECT * FROM _incoming").fetchall()
        if self.track_chains:
            conn.execute(f"INSERT INTO {PENDING} SELECT DISTINCT {CHAIN_KEY_SQL} FROM _incoming").fetchall()
        conn.unregister("_incoming")

    def finish(self, ledger_before: pl.DataFrame | None) -> pl.DataFrame:
        """Append the ledger rows not recorded yet; make sure every raw table exists.
        Returns the night's ledger (one row per file seen, as `ingest_sources` does)."""
        ledger = FileLedger.validate(pl.DataFrame(self.ledger, schema=LEDGER_SCHEMA))
        insert_frame(self.conn, RECORDS, validate_records(_empty_records(), keys_unique=True))
        insert_frame(self.conn, QUARANTINE, QuarantineRow.validate(pl.DataFrame(schema=QUARANTINE_SCHEMA)))
        insert_frame(self.conn, LEDGER, new_ledger_rows(ledger, ledger_before))
        return ledger

    def records_tonight(self) -> int:
        """Records standing after tonight that tonight's files brought (one per id)."""
        if not self.loaded_hashes:
            return 0
        return self.conn.execute(
            f"SELECT count(*) FROM {RECORDS} WHERE file_sha256 IN (SELECT unnest(?))", [self.loaded_hashes]
        ).fetchall()[0][0]

    def preview(self, n: int = 10) -> pl.DataFrame:
        """A few of tonight's records (for the run's metadata)."""
        return self.conn.sql(
            f"SELECT * FROM {RECORDS} WHERE file_sha256 IN (SELECT unnest(?)) LIMIT {int(n)}",
            params=[self.loaded_hashes or [""]],
        ).pl()


def new_ledger_rows(ledger: pl.DataFrame, before: pl.DataFrame | None) -> pl.DataFrame:
    """Ledger rows to append: each file (and each rejection of the same bytes) once."""
    fresh = ledger.filter(pl.col("status") != "skipped_duplicate")
    if before is None or before.is_empty():
        return fresh
    return fresh.join(before.select("file", "file_sha256", "status"), on=["file", "file_sha256", "status"], how="anti")
