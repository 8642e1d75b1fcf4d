"""Per-officer check-in tokens: issued once, stored only as a salted hash.

A token reads ``sst_<key_id>_<secret>``: the key id finds the officer's row without
scanning, the 32-byte secret is what proves it; only ``sha256(salt + secret)`` is kept.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from intake.store import connect
from intake.vocab import local_now

_OFFICER_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_TOKEN = re.compile(r"^sst_([0-9a-f]{12})_([A-Za-z0-9_\-]{43})$")


@dataclass(frozen=True)
class Officer:
    """One officer as listed for administrators (never with the token)."""

    officer_id: str
    display_name: str
    created_at: str
    revoked_at: str | None


def _hash(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("ascii")).digest()


def add_officer(db_path: Path, officer_id: str, display_name: str) -> str:
    """Register an officer (or re-issue a revoked one's token); returns the token once."""
    if not _OFFICER_ID.match(officer_id or ""):
        raise ValueError(f"officer id {officer_id!r} must be 1-64 letters, digits, '_', '-' or '.'")
    if not display_name or len(display_name) > 64:
        raise ValueError("display name must be 1-64 characters")
    key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_bytes(16)
    conn = connect(db_path)
    try:
        row = conn.execute("SELECT revoked_at FROM officers WHERE officer_id = ?", (officer_id,)).fetchone()
        if row is not None and row[0] is None:
            raise ValueError(f"officer {officer_id} already has an active token; revoke it first")
        conn.execute(
            "INSERT OR REPLACE INTO officers (officer_id, display_name, key_id, salt, token_hash, created_at, revoked_at)"
            " VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (officer_id, display_name, key_id, salt, _hash(salt, secret),
             local_now().isoformat(timespec="seconds")),
        )
    finally:
        conn.close()
    return f"sst_{key_id}_{secret}"


def _existing(db_path: Path) -> Path:
    if not Path(db_path).is_file():
        raise FileNotFoundError(f"intake database {db_path} not found; add an officer first or pass --db")
    return Path(db_path)


def revoke_officer(db_path: Path, officer_id: str) -> None:
    """Revoke an officer's token; their past check-ins stay counted."""
    conn = connect(_existing(db_path))
    try:
        cur = conn.execute(
            "UPDATE officers SET revoked_at = ? WHERE officer_id = ? AND revoked_at IS NULL",
            (local_now().isoformat(timespec="seconds"), officer_id),
        )
        if cur.rowcount == 0:
            raise ValueError(f"no active officer {officer_id!r}; see `safestar officers list`")
    finally:
        conn.close()


def list_officers(db_path: Path) -> list[Officer]:
    """All officers ever registered, active and revoked, by id."""
    conn = connect(_existing(db_path))
    try:
        rows = conn.execute(
            "SELECT officer_id, display_name, created_at, revoked_at FROM officers ORDER BY officer_id"
        ).fetchall()
    finally:
        conn.close()
    return [Officer(*r) for r in rows]


def check_token(conn: sqlite3.Connection, token: str) -> tuple[str | None, str]:
    """The officer id a token belongs to, or None with the reason (``invalid``/``revoked``)."""
    m = _TOKEN.match(token or "")
    if not m:
        return None, "invalid"
    row = conn.execute(
        "SELECT officer_id, salt, token_hash, revoked_at FROM officers WHERE key_id = ?", (m.group(1),)
    ).fetchone()
    if row is None or not hmac.compare_digest(_hash(row[1], m.group(2)), row[2]):
        return None, "invalid"
    if row[3] is not None:
        return None, "revoked"
    return row[0], "ok"


# -- the officer page's sign-in ---------------------------------------------------------
# The page keeps no token in the browser: after the officer types it once, the service
# opens a session and the browser holds only its random id, in an HttpOnly cookie that no
# script can read. Only sha256(id) is stored; revoking the officer ends every session.

def open_session(conn: sqlite3.Connection, officer_id: str, max_age_seconds: float) -> str:
    """A new session id for a signed-in officer (expired sessions are dropped)."""
    sid = secrets.token_urlsafe(32)
    now = time.time()
    conn.execute("DELETE FROM officer_sessions WHERE expires_epoch < ?", (now,))
    conn.execute("INSERT INTO officer_sessions (sid_hash, officer_id, expires_epoch) VALUES (?, ?, ?)",
                 (hashlib.sha256(sid.encode("ascii")).digest(), officer_id, now + max_age_seconds))
    return sid


def session_officer(conn: sqlite3.Connection, sid: str | None) -> str | None:
    """The active officer a live session id belongs to, else None."""
    if not sid or len(sid) > 128:
        return None
    row = conn.execute(
        "SELECT s.officer_id FROM officer_sessions s JOIN officers o USING (officer_id)"
        " WHERE s.sid_hash = ? AND s.expires_epoch >= ? AND o.revoked_at IS NULL",
        (hashlib.sha256(sid.encode("utf-8", "replace")).digest(), time.time()),
    ).fetchall()
    return row[0][0] if row else None


def close_session(conn: sqlite3.Connection, sid: str | None) -> None:
    """Sign out: forget the session."""
    if sid:
        conn.execute("DELETE FROM officer_sessions WHERE sid_hash = ?",
                     (hashlib.sha256(sid.encode("utf-8", "replace")).digest(),))
