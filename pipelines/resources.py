"""Dagster resources: the DuckDB warehouse, the run's folders and the policy (rules, taxonomy, governance)."""
from __future__ import annotations

import contextlib
import contextvars
import os
import time
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
import polars as pl

from governance.config import GovernanceConfig, load_governance_config
from ingest.taxonomy import Taxonomy, load_taxonomy
from scoring.rules import Rules, load_rules

# Every asset and check that opens the warehouse runs in this concurrency pool; the shipped
# dagster.yaml (pipelines/dagster.yaml) limits it to one step at a time across all runs,
# because DuckDB allows one process on the file at a time.
WAREHOUSE_POOL = "warehouse"

WAREHOUSE_SCHEMAS = ("raw", "core", "marts", "ops")

# The read-only connection of an open `Warehouse.reading()` block: (file, connection).
_READER: contextvars.ContextVar[tuple[str, duckdb.DuckDBPyConnection] | None] = contextvars.ContextVar(
    "warehouse_reader", default=None)


class Warehouse(dg.ConfigurableResource):
    """The embedded DuckDB warehouse: one writer at a time, readers open it read-only."""

    path: str
    # How long to wait for another process to let go of the file before failing the step.
    lock_wait_seconds: float = 600.0

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        shared = _READER.get()
        if shared is not None and shared[0] == self.path:
            if not read_only:
                raise RuntimeError("a warehouse write inside Warehouse.reading(): end the reading block first")
            yield shared[1]
            return
        if read_only and not Path(self.path).exists():
            raise FileNotFoundError(f"no warehouse at {self.path}: run `safestar run` first")
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = self._open(read_only)
        try:
            if not read_only:
                for schema in WAREHOUSE_SCHEMAS:
                    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}").fetchall()
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Every read inside the block (read, query, count, has_table) shares one read-only
        connection: opening the file and loading its catalog costs tens of milliseconds, and
        a step reads many tables. No write may happen inside the block."""
        if _READER.get() is not None or not Path(self.path).exists():
            yield
            return
        with self.connect(read_only=True) as conn:
            token = _READER.set((self.path, conn))
            try:
                yield
            finally:
                _READER.reset(token)

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open the file, waiting (up to lock_wait_seconds) while another process holds it:
        the pool keeps SafeStar's own runs apart, but an analyst's DuckDB shell may not be."""
        deadline, logged = time.monotonic() + self.lock_wait_seconds, False
        while True:
            try:
                return duckdb.connect(self.path, read_only=read_only)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
                if not logged:
                    dg.get_dagster_logger().warning(f"waiting for the warehouse {self.path}: another process has it open")
                    logged = True
                time.sleep(0.2)

    def has_table(self, table: str) -> bool:
        if not Path(self.path).exists():
            return False
        with self.connect(read_only=True) as conn:
            return _has_table(conn, table)

    def read(self, table: str, where: str | None = None, params: list | None = None,
             columns: list[str] | None = None) -> pl.DataFrame | None:
        """The whole table (optionally filtered by a parameterised predicate, optionally only
        some columns: both pushed into DuckDB), or None when absent."""
        if not Path(self.path).exists():
            return None
        select = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        with self.connect(read_only=True) as conn:
            if not _has_table(conn, table):
                return None
            return conn.sql(f"SELECT {select} FROM {table}" + (f" WHERE {where}" if where else ""),
                            params=params or []).pl()

    def query(self, sql: str, params: list | None = None) -> pl.DataFrame:
        """A read-only query's rows (e.g. an aggregate computed in DuckDB, not in memory)."""
        with self.connect(read_only=True) as conn:
            return conn.sql(sql, params=params or []).pl()

    def count(self, table: str) -> int:
        """Rows of a table (0 when absent), counted in DuckDB."""
        if not Path(self.path).exists():
            return 0
        with self.connect(read_only=True) as conn:
            return conn.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0] if _has_table(conn, table) else 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Writer"]:
        """One write transaction: everything inside commits together or not at all."""
        with self.connect() as conn:
            conn.execute("BEGIN TRANSACTION").fetchall()
            try:
                yield Writer(conn)
            except BaseException:
                conn.execute("ROLLBACK").fetchall()
                raise
            conn.execute("COMMIT").fetchall()


def _has_table(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(conn.sql("SELECT 1 FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                         params=[schema, name]).fetchall())


class Writer:
    """Table writes inside one open transaction."""

    def __init__(self, conn: duckdb.DuckDBPyConnection):
        self.conn = conn

    def _incoming(self, table: str, frame: pl.DataFrame) -> None:
        self.conn.register("incoming", frame.to_arrow())
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM incoming WHERE false"
        ).fetchall()

    def replace_table(self, table: str, frame: pl.DataFrame) -> None:
        """Swap the whole table for the frame."""
        self.conn.register("incoming", frame.to_arrow())
        self.conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM incoming").fetchall()
        self.conn.unregister("incoming")

    def replace_partition(self, table: str, frame: pl.DataFrame, key_column: str, key) -> None:
        """Delete-then-insert the rows of one partition key."""
        self._incoming(table, frame)
        self.conn.execute(f"DELETE FROM {table} WHERE {key_column} = ?", [key]).fetchall()
        self.conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming").fetchall()
        self.conn.unregister("incoming")

    def upsert(self, table: str, frame: pl.DataFrame, keys: list[str]) -> None:
        """Rows of the frame replace the table's rows with the same keys; the others stay.
        Done in DuckDB: the table is never read into memory."""
        self._incoming(table, frame)
        match = " AND ".join(f't."{k}" = i."{k}"' for k in keys)
        self.conn.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM incoming i WHERE {match})").fetchall()
        self.conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming").fetchall()
        self.conn.unregister("incoming")

    def count(self, table: str) -> int:
        return self.conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]

    def append(self, table: str, frame: pl.DataFrame) -> None:
        self._incoming(table, frame)
        self.conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming").fetchall()
        self.conn.unregister("incoming")


class Policy(dg.ConfigurableResource):
    """The one typed place every rule, threshold and label is read from: the rules file
    (default config/rules.yaml, shipped in the package), the taxonomy and the governance
    policy, each parsed once per file content through `config.loader`."""

    rules_path: str = ""

    @property
    def rules(self) -> Rules:
        return load_rules(Path(self.rules_path) if self.rules_path else None)

    @property
    def taxonomy(self) -> Taxonomy:
        return load_taxonomy()

    @property
    def governance(self) -> GovernanceConfig:
        return load_governance_config()


class RunFolders(dg.ConfigurableResource):
    """Where a run reads its landing zone and writes its outputs, and how it publishes."""

    data_dir: str
    out_dir: str
    public_base_url: str = ""  # empty: SAFESTAR_PUBLIC_BASE_URL (checked by plaques.keys.base_url_of)
    intake_db: str = ""
    demo: bool = False

    @property
    def data(self) -> Path:
        return Path(self.data_dir)

    @property
    def out(self) -> Path:
        return Path(self.out_dir)

    def staging(self, as_of: str) -> Path:
        """Outputs of one rating date are written here first, then published in one rename."""
        path = self.out / ".staging" / as_of
        path.mkdir(parents=True, exist_ok=True)
        return path

    def published(self, as_of: str) -> Path:
        return self.out / as_of

    def intake_path(self) -> Path:
        return Path(self.intake_db) if self.intake_db else self.out / "intake.sqlite"


def default_resources(data_dir: str | Path, out_dir: str | Path, rules_path: str | Path | None = None,
                      **folders) -> dict:
    """Resources for a run on the given folders (used by the CLI and tests)."""
    out = Path(out_dir)
    return {
        "warehouse": Warehouse(path=str(out / "warehouse.duckdb")),
        "folders": RunFolders(data_dir=str(data_dir), out_dir=str(out), **folders),
        "policy": Policy(rules_path=str(rules_path or "")),
    }


def env_flag(name: str) -> bool:
    """A yes/no setting from the environment: only an explicit 1/true/yes/on is yes."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def env_resources() -> dict:
    """Resources for `dagster dev` and the daemon: folders from the environment, demo
    folders by default. Demo mode only when SAFESTAR_DEMO says so: unset means not demo."""
    data_dir = os.environ.get("SAFESTAR_DATA_DIR", "demo/data")
    out_dir = os.environ.get("SAFESTAR_OUT_DIR", "demo/out")
    return {
        "warehouse": Warehouse(path=dg.EnvVar("SAFESTAR_WAREHOUSE").get_value(str(Path(out_dir) / "warehouse.duckdb"))),
        "folders": RunFolders(
            data_dir=data_dir,
            out_dir=out_dir,
            public_base_url=os.environ.get("SAFESTAR_PUBLIC_BASE_URL", ""),
            intake_db=os.environ.get("SAFESTAR_INTAKE_DB", ""),
            demo=env_flag("SAFESTAR_DEMO"),  # demo only when asked for: unset is not demo
        ),
        "policy": Policy(rules_path=os.environ.get("SAFESTAR_RULES", "")),
    }
