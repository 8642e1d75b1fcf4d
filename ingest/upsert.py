"""Tonight's files into raw.case_records, one file (and one transaction) at a time.

The rule is the one of `ingest.merge.merge_records`: per (source, record_id) the later
version wins — a later file of tonight over an earlier one, tonight over the warehouse.
Applying it file by file (delete the earlier versions of the file's ids, insert the file)
gives exactly that table, in the same row order, while holding one file in memory instead
of the night. Each file commits with its ledger row, so a run killed at any moment leaves
whole files loaded (the next run skips them by their hash and loads the rest) or none.

Each file's digest is recorded in `ops.file_hashes` with the file's stamp (device, inode,
size, mtime), in the same transaction as its ledger row, so the next night takes the digest
of an unchanged file without reading it (`ingest.filehash`).

When incidents are maintained incrementally (`ops.case_event_chains` exists), the chain
keys of every record version replaced or inserted here are appended to
`ops.case_event_pending`, for `core/case_events` to rebuild those chains only.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb
import polars as pl

from ingest.filehash import FileStamp, KnownHash
from ingest.incidents import CHAIN_KEY, CHAIN_KEY_SQL
from ingest.landing import LEDGER_SCHEMA, QUARANTINE_SCHEMA, FileOutcome, _empty_records
from ingest.merge import validate_records
from schemas.quality import FileLedger, QuarantineRow

RECORDS = "raw.case_records"
QUARANTINE = "raw.quarantine"
LEDGER = "raw.file_ledger"
PENDING = "ops.case_event_pending"
CHAINS = "ops.case_event_chains"
HASHES = "ops.file_hashes"
HASHES_DDL = (f"CREATE TABLE IF NOT EXISTS {HASHES} (file VARCHAR, device UBIGINT, inode UBIGINT, "
              "size BIGINT, mtime_ns BIGINT, sha256 VARCHAR)")


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


@contextlib.contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT on an autocommit connection, ROLLBACK on any exception (or a kill)."""
    conn.execute("BEGIN TRANSACTION").fetchall()
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK").fetchall()
        raise
    conn.execute("COMMIT").fetchall()


class NightWriter:
    """Writes each landing-zone file as it comes, one transaction per file.

    `conn` is an autocommit connection (no transaction open): a file's records, quarantine
    rows, pending chain keys and ledger row commit together, so a run killed at any moment
    leaves whole files loaded (and skipped by the next run, by their hash) or not at all.
    One transaction per file, not per night, because DuckDB holds an open transaction's
    appended data in memory until it commits.

    `known_hashes` are the digests recorded by earlier nights (for `iter_landing`); a file's
    new digest is recorded with its ledger row, or alone when the file adds no ledger row.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection, ledger_before: pl.DataFrame | None) -> None:
        self.conn = conn
        self.ledger_before = ledger_before
        self.ledger: list[dict] = []
        self.loaded_hashes: list[str] = []
        with transaction(conn):
            conn.execute("CREATE SCHEMA IF NOT EXISTS ops").fetchall()
            conn.execute(HASHES_DDL).fetchall()
            self.known_hashes: dict[str, KnownHash] = {
                file: KnownHash(FileStamp(device, inode, size, mtime_ns), sha)
                for file, device, inode, size, mtime_ns, sha in conn.execute(
                    f"SELECT file, device, inode, size, mtime_ns, sha256 FROM {HASHES}").fetchall()
            }
            # Created (empty) and committed before any file, so the tables exist whatever happens next.
            create_table_like(conn, RECORDS, validate_records(_empty_records(), keys_unique=True))
            create_table_like(conn, QUARANTINE, QuarantineRow.validate(pl.DataFrame(schema=QUARANTINE_SCHEMA)))
            create_table_like(conn, LEDGER, FileLedger.validate(pl.DataFrame(schema=LEDGER_SCHEMA)))
            self.track_chains = table_exists(conn, CHAINS)
            if self.track_chains:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {PENDING} ({CHAIN_KEY} VARCHAR)").fetchall()

    def add(self, outcome: FileOutcome) -> None:
        """One file: its quarantine rows appended, its records replacing earlier versions,
        its ledger row (once per file and status) appended — in one transaction."""
        self.ledger.append(outcome.ledger)
        entry = FileLedger.validate(pl.DataFrame([outcome.ledger], schema=LEDGER_SCHEMA))
        fresh = new_ledger_rows(entry, self.ledger_before)
        if fresh.is_empty():  # a duplicate, or a rejection already recorded
            if outcome.new_hash is not None:
                with transaction(self.conn):
                    self._record_hash(outcome.ledger["file"], outcome.new_hash)
            return
        with transaction(self.conn) as conn:
            if outcome.ledger["status"] == "loaded":
                self.loaded_hashes.append(outcome.ledger["file_sha256"])
                for q in outcome.quarantine:
                    insert_frame(conn, QUARANTINE, QuarantineRow.validate(q.cast(QUARANTINE_SCHEMA)))
                if outcome.records:
                    self._upsert_file(outcome.records, outcome.ledger["source"])
            insert_frame(conn, LEDGER, fresh)
            if outcome.new_hash is not None:
                self._record_hash(outcome.ledger["file"], outcome.new_hash)

    def _record_hash(self, file: str, known: KnownHash) -> None:
        stamp = known.stamp
        self.conn.execute(f"DELETE FROM {HASHES} WHERE file = ?", [file]).fetchall()
        self.conn.execute(f"INSERT INTO {HASHES} VALUES (?, ?, ?, ?, ?, ?)",
                          [file, stamp.device, stamp.inode, stamp.size, stamp.mtime_ns, known.sha256]).fetchall()

    def _upsert_file(self, batches: list[pl.DataFrame], source: str) -> None:
        """Delete the earlier versions of the file's ids, then insert the file batch by batch
        (ids are unique within a file: later repeats were quarantined)."""
        conn = self.conn
        conn.register("_ids", pl.concat([b.select("record_id") for b in batches]).to_arrow())
        earlier = f"FROM {RECORDS} t WHERE t.source = ? AND t.record_id IN (SELECT record_id FROM _ids)"
        if self.track_chains:
            # Both the replaced and the new version: a correction may move a record to another chain.
            conn.execute(f"INSERT INTO {PENDING} SELECT DISTINCT {CHAIN_KEY_SQL} {earlier}", [source]).fetchall()
        conn.execute(f"DELETE {earlier}", [source]).fetchall()
        conn.unregister("_ids")
        while batches:
            batch = batches.pop(0)  # validated by `iter_landing`; each batch freed once written
            conn.register("_incoming", batch.to_arrow())
            conn.execute(f"INSERT INTO {RECORDS} BY NAME SELECT * FROM _incoming").fetchall()
            if self.track_chains:
                conn.execute(f"INSERT INTO {PENDING} SELECT DISTINCT {CHAIN_KEY_SQL} FROM _incoming").fetchall()
            conn.unregister("_incoming")
            del batch

    def finish(self) -> pl.DataFrame:
        """The night's ledger: one row per file seen.
        Recorded digests of files no longer in the landing zone are dropped."""
        seen = [entry["file"] for entry in self.ledger]
        self.conn.execute(f"DELETE FROM {HASHES} WHERE file NOT IN (SELECT unnest(?::VARCHAR[]))", [seen]).fetchall()
        return FileLedger.validate(pl.DataFrame(self.ledger, schema=LEDGER_SCHEMA))

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
