"""The intake service's own SQLite store: safety needs, officer check-ins and officers.

The service never touches the DuckDB warehouse; the nightly run reads this file
read-only (see ``intake.export``).
"""
from __future__ import annotations

import os
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from intake.vocab import local_now, need_reference
from intake.workflow_schema import WORKFLOW_SCHEMA

DB_ENV = "SAFESTAR_INTAKE_DB"
_REFERENCE = re.compile(r"^N\d{8}-(\d{6,12})$")
DEFAULT_DB = "intake.sqlite"

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


def default_db_path() -> Path:
    """The intake database named by ``SAFESTAR_INTAKE_DB``, else ``intake.sqlite`` here."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


def connect(db_path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the intake database in WAL mode with its tables."""
    db_path = Path(db_path)
    if not db_path.parent.exists():
        raise FileNotFoundError(f"intake database folder {db_path.parent} does not exist; create it or pass --db")
    # isolation_level=None: autocommit; every write is one statement, so one commit.
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL").fetchall()
    # NORMAL in WAL mode survives a crash of the process (not of the machine) and keeps
    # a commit to a few tens of microseconds, so writes can run on the event loop.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.executescript(SCHEMA + WORKFLOW_SCHEMA)
    return conn


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
    """Store one need and give it a reference number (a single INSERT; callers register it
    in its workflow in the same transaction: ``intake.workflow.submit_need``)."""
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


def insert_checkin(conn: sqlite3.Connection, officer_id: str, compound_id: str, kind: str,
                   note: str | None, now: datetime | None = None) -> tuple[int, int]:
    """Store one check-in (one autocommitted INSERT); returns its id and the compound's
    check-ins this month (``now``: the check-in's time, for simulations; default the clock)."""
    now = now or local_now()
    day = now.date().isoformat()
    checkin_id = conn.execute(
        "INSERT INTO checkins (officer_id, compound_id, kind, note, created_at, local_date)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (officer_id, compound_id, kind, note, now.isoformat(timespec="seconds"), day),
    ).fetchall()[0][0]
    n = conn.execute(
        "SELECT count(*) FROM checkins WHERE compound_id = ? AND local_date >= ?",
        (compound_id, day[:8] + "01"),
    ).fetchall()[0][0]
    return checkin_id, n
