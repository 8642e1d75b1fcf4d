"""The intake service's own SQLite store: safety needs, officer check-ins and officers.

The service never touches the DuckDB warehouse; the nightly run reads this file
read-only (see ``intake.export``).
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import sqlite3
import stat
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from intake.vocab import local_now, need_reference
from intake.workflow_schema import WORKFLOW_SCHEMA

DB_ENV = "SAFESTAR_INTAKE_DB"
OUT_ENV = "SAFESTAR_OUT_DIR"
_REFERENCE = re.compile(r"^N\d{8}-(\d{6,12})$")
DB_NAME = "intake.sqlite"
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700

SCHEMA = """
CREATE TABLE IF NOT EXISTS needs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    compound_id TEXT NOT NULL,
    category TEXT NOT NULL,
    text TEXT NOT NULL,
    contact TEXT,
    receipt_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    local_date TEXT NOT NULL,
    -- N<yyyymmdd>-<id>: derived, so a need is one INSERT (one commit)
    reference TEXT GENERATED ALWAYS AS ('N' || replace(local_date, '-', '') || '-' || printf('%06d', id)) VIRTUAL
);
CREATE INDEX IF NOT EXISTS needs_by_compound ON needs (compound_id, local_date);
CREATE TABLE IF NOT EXISTS checkins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    officer_id TEXT NOT NULL,
    compound_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    local_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checkins_by_compound ON checkins (compound_id, local_date);
CREATE INDEX IF NOT EXISTS checkins_by_officer ON checkins (officer_id, compound_id, kind, created_at);
-- Idempotency-Key of a need or check-in: a retry with the same key and the same fields gets
-- the first answer (the row target_id); the same key with other fields is refused.
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fields_hash BLOB NOT NULL,
    target_id INTEGER NOT NULL,
    created_epoch REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency (created_epoch);
CREATE TABLE IF NOT EXISTS officer_sessions (
    sid_hash BLOB PRIMARY KEY,
    officer_id TEXT NOT NULL,
    expires_epoch REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS officers (
    officer_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    salt BLOB NOT NULL,
    token_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""


def default_db_path(db: str | Path | None = None, out: str | Path | None = None) -> Path:
    """The intake database every command uses: ``--db``, else ``$SAFESTAR_INTAKE_DB``, else
    ``intake.sqlite`` in the output folder (``--out``, else ``$SAFESTAR_OUT_DIR``, else
    ``./out``), the file the nightly run reads."""
    if db:
        return Path(db)
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV])
    return Path(out or os.environ.get(OUT_ENV) or "out") / DB_NAME


def make_private_folder(folder: Path) -> None:
    """Create the database's folder (owner only) when it does not exist yet."""
    folder = Path(folder)
    if not folder.exists():
        try:
            folder.mkdir(mode=PRIVATE_DIR, parents=True)
            os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
        except OSError as exc:
            raise ValueError(f"cannot create the intake database folder {folder} ({exc.strerror}); "
                             "create it or pass --db") from None


def _private(db_path: Path) -> None:
    """The database file (and SQLite's -wal/-shm beside it, which copy its mode) readable
    by the owner only: needs hold residents' contacts."""
    if not db_path.exists():
        os.close(os.open(db_path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                os.chmod(path, PRIVATE_FILE)


def connect(db_path: Path) -> sqlite3.Connection:
    """Open (creating if needed, owner-only) the intake database in WAL mode with its tables."""
    db_path = Path(db_path)
    if not db_path.parent.exists():
        raise FileNotFoundError(f"intake database folder {db_path.parent} does not exist; create it or pass --db")
    if db_path.is_dir():
        raise ValueError(f"intake database {db_path} is a folder; pass --db with a file path")
    try:
        _private(db_path)
        # isolation_level=None: autocommit; a write of one statement is one commit, several go
        # in one explicit transaction (``transaction``).
        conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False, timeout=10.0)
        conn.execute("PRAGMA journal_mode=WAL").fetchall()
    except (OSError, sqlite3.Error) as exc:
        raise ValueError(f"cannot open the intake database {db_path} ({getattr(exc, 'strerror', None) or exc}); "
                         "check its permissions or pass --db") from None
    # NORMAL in WAL mode survives a crash of the process (not of the machine) and keeps
    # a commit to a few tens of microseconds, so writes can run on the event loop.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.executescript(SCHEMA + WORKFLOW_SCHEMA)
    return conn


class Checkpointer:
    """Copies the write-ahead log back into the database file on a thread of its own, every
    ``seconds``, while the service runs (a context manager around the service's life).

    SQLite otherwise checkpoints inside whichever commit takes the log past 1,000 pages:
    that commit then writes and fsyncs megabytes on the event loop, and every request
    queued behind it waits. The service's connection has its automatic checkpoint turned
    off for as long as this runs. PASSIVE: never waits for, nor blocks, a reader or writer
    (the sqlite3 module releases the GIL while SQLite works). A checkpoint slower than
    ``slow_ms`` is logged."""

    def __init__(self, conn: sqlite3.Connection, db_path: Path, seconds: float, slow_ms: float = 100.0):
        self.conn, self.db_path, self.seconds, self.slow_ms = conn, Path(db_path), seconds, slow_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.copied = 0  # frames copied into the database so far

    def checkpoint(self, conn: sqlite3.Connection) -> tuple[int, int]:
        """One passive checkpoint: (frames in the log, frames copied)."""
        busy, log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
        self.runs += 1
        self.copied = max(self.copied, copied)
        return log, copied

    def _loop(self) -> None:
        from intake.logs import logger

        conn = sqlite3.connect(self.db_path, isolation_level=None, timeout=10.0)
        try:
            while not self._stop.wait(self.seconds):
                t0 = time.perf_counter()
                try:
                    log, copied = self.checkpoint(conn)
                except sqlite3.Error as exc:  # a locked or busy file: the next round retries
                    logger.warning("checkpoint failed", extra={"fields": {"error": str(exc)}})
                    continue
                ms = (time.perf_counter() - t0) * 1000
                if ms > self.slow_ms:
                    logger.info("slow checkpoint", extra={"fields": {"ms": round(ms, 1), "frames": log,
                                                                      "copied": copied}})
        finally:
            conn.close()

    def __enter__(self) -> Checkpointer:
        self.conn.execute("PRAGMA wal_autocheckpoint=0").fetchall()
        self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.conn.execute("PRAGMA wal_autocheckpoint=1000").fetchall()


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection):
    """One write transaction, taking the write lock at once (no check-then-insert race
    between processes); inside another one, a savepoint of it (so steps compose)."""
    if conn.in_transaction:
        name = f"sp_{secrets.token_hex(4)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class KeyReused(Exception):
    """An Idempotency-Key already used for other fields."""


def idempotent(conn: sqlite3.Connection, scope: str, key: str | None, fields_hash: bytes,
               keep_seconds: float) -> int | None:
    """The row an earlier request with this key made (same fields), else None; raises
    KeyReused when the key came with other fields. Call inside ``transaction``."""
    if key is None:
        return None
    now = time.time()
    conn.execute("DELETE FROM idempotency WHERE created_epoch < ?", (now - keep_seconds,))
    row = conn.execute("SELECT fields_hash, target_id FROM idempotency WHERE scope = ? AND key = ?",
                       (scope, key)).fetchall()
    if not row:
        return None
    if not secrets.compare_digest(row[0][0], fields_hash):
        raise KeyReused(key)
    return row[0][1]


def remember(conn: sqlite3.Connection, scope: str, key: str | None, fields_hash: bytes, target_id: int) -> None:
    """Record the row a keyed request made (inside the same ``transaction``)."""
    if key is not None:
        conn.execute("INSERT INTO idempotency (scope, key, fields_hash, target_id, created_epoch)"
                     " VALUES (?, ?, ?, ?, ?)", (scope, key, fields_hash, target_id, time.time()))


@dataclass(frozen=True)
class StoredNeed:
    """What the resident gets back after a need is stored."""

    reference: str
    receipt_key: str
    compound_id: str
    category: str
    text: str
    local_date: str


def insert_need(conn: sqlite3.Connection, compound_id: str, category: str, text: str,
                contact: str | None, now: datetime | None = None) -> StoredNeed:
    """Store one need and give it a reference number (a single INSERT; a caller that does
    more in the same transaction wraps both in ``transaction``)."""
    now = now or local_now()
    day = now.date().isoformat()
    key = secrets.token_urlsafe(12)
    # fetchall(): the statement must run to completion for the autocommit to happen.
    need_id = conn.execute(
        "INSERT INTO needs (compound_id, category, text, contact, receipt_key, created_at, local_date)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (compound_id, category, text, contact, key, now.isoformat(timespec="seconds"), day),
    ).fetchall()[0][0]
    return StoredNeed(need_reference(day, need_id), key, compound_id, category, text, day)


def need_by_id(conn: sqlite3.Connection, need_id: int) -> StoredNeed:
    """The need stored under this row id."""
    row = conn.execute("SELECT reference, receipt_key, compound_id, category, text, local_date FROM needs"
                       " WHERE id = ?", (need_id,)).fetchall()
    return StoredNeed(*row[0])


def need_id_of(reference: str) -> int:
    """The row id inside a reference number (``N20261123-000123`` -> 123)."""
    return int(reference.rsplit("-", 1)[1])


def find_need(conn: sqlite3.Connection, reference: str, receipt_key: str) -> StoredNeed | None:
    """The stored need behind a reference, only for the holder of its receipt key."""
    m = _REFERENCE.match(reference or "")
    if m is None:
        return None
    row = conn.execute(
        "SELECT reference, receipt_key, compound_id, category, text, local_date FROM needs WHERE id = ?",
        (int(m.group(1)),),
    ).fetchone()
    if row is None or row[0] != reference or not secrets.compare_digest(row[1], receipt_key):
        return None
    return StoredNeed(*row)


@dataclass(frozen=True)
class StoredCheckin:
    """A check-in as the officer gets it back; ``counted`` False when it repeats one
    already counted in the interval (or replays an Idempotency-Key)."""

    checkin_id: int
    counted: bool
    n_month: int


def insert_checkin(conn: sqlite3.Connection, officer_id: str, compound_id: str, kind: str,
                   note: str | None, interval: timedelta, key: str | None = None,
                   fields_hash: bytes = b"", keep_seconds: float = 86400.0,
                   now: datetime | None = None) -> StoredCheckin:
    """Store one check-in unless this officer already checked in at this compound for this
    kind within ``interval`` (one counted check-in); with the compound's check-ins this month
    (``now``: the check-in's time, for simulations; default the clock)."""
    now = now or local_now()
    day = now.date().isoformat()
    with transaction(conn):
        checkin_id = idempotent(conn, f"checkin:{officer_id}", key, fields_hash, keep_seconds)
        if checkin_id is None:
            same = conn.execute(
                "SELECT id FROM checkins WHERE officer_id = ? AND compound_id = ? AND kind = ? AND created_at > ?"
                " ORDER BY id DESC LIMIT 1",
                (officer_id, compound_id, kind, (now - interval).isoformat(timespec="seconds")),
            ).fetchall()
            counted = not same
            if same:
                checkin_id = same[0][0]
            else:
                checkin_id = conn.execute(
                    "INSERT INTO checkins (officer_id, compound_id, kind, note, created_at, local_date)"
                    " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (officer_id, compound_id, kind, note, now.isoformat(timespec="seconds"), day),
                ).fetchall()[0][0]
            remember(conn, f"checkin:{officer_id}", key, fields_hash, checkin_id)
        else:
            counted = False
        n = conn.execute(
            "SELECT count(*) FROM checkins WHERE compound_id = ? AND local_date >= ?",
            (compound_id, day[:8] + "01"),
        ).fetchall()[0][0]
    return StoredCheckin(checkin_id, counted, n)
