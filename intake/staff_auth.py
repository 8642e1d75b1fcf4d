"""Staff sign-in: one token per person (scrypt-hashed), sessions that expire, CSRF tokens.

A token reads ``sss_<key id>_<secret>``; the key id finds the staff row, ``scrypt(secret,
salt)`` proves it. Signing in trades the token for a session: a random id kept in an
HttpOnly, SameSite=Strict cookie scoped to ``/staff`` (Secure over https), stored only as
its sha256, with its own CSRF token that every staff form carries back.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from intake.vocab import local_now
from intake.store import transaction
from intake.workflow import stamp
from intake.workflow_config import NeedsConfig

_TOKEN = re.compile(r"^sss_([0-9a-f]{12})_([A-Za-z0-9_\-]{43})$")
SESSION_COOKIE = "safestar_staff"


def _scrypt(secret: str, salt: bytes, log2_n: int) -> bytes:
    return hashlib.scrypt(secret.encode("ascii"), salt=salt, n=2 ** log2_n, r=8, p=1, dklen=32,
                          maxmem=2 ** (log2_n + 11))


def issue_token(conn: sqlite3.Connection, staff_id: str, cfg: NeedsConfig) -> str:
    """A new sign-in token for a current staff member (the old one stops working and their
    sessions end); returned once, stored only hashed."""
    key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_bytes(16)
    digest = _scrypt(secret, salt, cfg.staff.scrypt_log2_n)
    with transaction(conn):
        updated = conn.execute(
            "UPDATE staff SET key_id = ?, salt = ?, token_hash = ?, token_created_at = ?"
            " WHERE staff_id = ? AND removed_at IS NULL",
            (key_id, salt, digest, stamp(local_now()), staff_id)).rowcount
        if updated == 0:
            raise ValueError(f"no current staff member {staff_id!r}; add them to staff.csv and run"
                             " `safestar staff load --data DATA_DIR` first")
        conn.execute("DELETE FROM staff_sessions WHERE staff_id = ?", (staff_id,))
    return f"sss_{key_id}_{secret}"


def revoke_token(conn: sqlite3.Connection, staff_id: str) -> None:
    """Withdraw a staff member's token and end their sessions."""
    with transaction(conn):
        n = conn.execute("UPDATE staff SET key_id = NULL, salt = NULL, token_hash = NULL WHERE staff_id = ?"
                         " AND key_id IS NOT NULL", (staff_id,)).rowcount
        conn.execute("DELETE FROM staff_sessions WHERE staff_id = ?", (staff_id,))
    if n == 0:
        raise ValueError(f"staff member {staff_id!r} has no active token; see `safestar staff list`")


def check_token(conn: sqlite3.Connection, token: str, cfg: NeedsConfig) -> str | None:
    """The staff id a token belongs to (current staff only), else None."""
    m = _TOKEN.match((token or "").strip())
    if not m:
        return None
    row = conn.execute("SELECT staff_id, salt, token_hash FROM staff WHERE key_id = ? AND removed_at IS NULL",
                       (m.group(1),)).fetchone()
    if row is None or not hmac.compare_digest(_scrypt(m.group(2), row[1], cfg.staff.scrypt_log2_n), row[2]):
        return None
    return row[0]


@dataclass(frozen=True)
class Session:
    staff_id: str
    csrf: str
    expires_at: str


def _session_hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode("ascii", "replace")).digest()


def open_session(conn: sqlite3.Connection, staff_id: str, now: datetime, cfg: NeedsConfig) -> tuple[str, Session]:
    """A new session for a signed-in staff member: (the cookie value, the session)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = stamp(now + timedelta(minutes=cfg.staff.session_minutes))
    with transaction(conn):
        conn.execute("DELETE FROM staff_sessions WHERE expires_at < ?", (stamp(now),))
        conn.execute("INSERT INTO staff_sessions VALUES (?, ?, ?, ?, ?)",
                     (_session_hash(session_id), staff_id, csrf, stamp(now), expires))
    return session_id, Session(staff_id, csrf, expires)


def find_session(conn: sqlite3.Connection, session_id: str | None, now: datetime) -> Session | None:
    """The live session behind a cookie value (None: missing, unknown, expired, or its
    person removed or their token withdrawn)."""
    if not session_id or len(session_id) > 128:
        return None
    row = conn.execute(
        "SELECT s.staff_id, s.csrf, s.expires_at FROM staff_sessions s JOIN staff t ON t.staff_id = s.staff_id"
        " WHERE s.session_hash = ? AND t.removed_at IS NULL AND t.key_id IS NOT NULL",
        (_session_hash(session_id),)).fetchone()
    if row is None or row[2] <= stamp(now):
        return None
    return Session(*row)


def close_session(conn: sqlite3.Connection, session_id: str | None) -> None:
    if session_id:
        conn.execute("DELETE FROM staff_sessions WHERE session_hash = ?", (_session_hash(session_id),))


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), given.encode())
