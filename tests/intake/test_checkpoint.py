"""The service's WAL checkpoints run on their own thread: while it runs, no commit of the
service's connection checkpoints (SQLite's automatic checkpoint is off), yet the log is
copied back into the database."""
from __future__ import annotations

import sqlite3
import time

from intake import store


def _autocheckpoint(conn) -> int:
    return conn.execute("PRAGMA wal_autocheckpoint").fetchall()[0][0]


def test_the_log_is_copied_by_the_thread_not_by_commits(tmp_path):
    db = tmp_path / "intake.sqlite"
    conn = store.connect(db)
    with store.Checkpointer(conn, db, 0.05) as cp:
        assert _autocheckpoint(conn) == 0
        for i in range(300):  # more pages than one automatic checkpoint would let pass
            store.insert_need(conn, f"XM{i:05d}", "其他", "楼道灯坏了" * 40, None)
        deadline = time.monotonic() + 10
        while cp.copied == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cp.runs >= 1 and cp.copied > 0
    assert _autocheckpoint(conn) == 1000  # back to SQLite's own once the service stops
    conn.close()
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT count(*) FROM needs").fetchone()[0] == 300

