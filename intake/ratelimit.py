"""A per-client token bucket: bursts are allowed, a sustained flood is refused with 429.

The buckets live in SQLite: in memory for one process, or in one file that every worker
process of the service opens (``intake.server``), so a client's allowance is the same
whichever worker its connections reach. Only the rate-limited requests (posts) touch it.
"""
from __future__ import annotations

import math
import sqlite3
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """``capacity`` requests at once, refilled at ``per_second`` requests per second."""

    capacity: float = 20.0
    per_second: float = 0.5


class TokenBuckets:
    """Buckets keyed by client in the SQLite database ``path`` (shared by processes; the
    clock must then be one they share: ``time.monotonic`` is). Idle full buckets are
    dropped after ``max_clients`` new clients, so the table stays bounded."""

    def __init__(self, limit: RateLimit, path: str = ":memory:", clock=time.monotonic, max_clients: int = 100_000):
        self.limit, self.clock, self.max_clients = limit, clock, max_clients
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL").fetchall()
            self._conn.execute("PRAGMA synchronous=OFF")  # a crash loses allowances, nothing else
        self._conn.execute("CREATE TABLE IF NOT EXISTS buckets (client TEXT PRIMARY KEY, tokens REAL NOT NULL, "
                           "last REAL NOT NULL) WITHOUT ROWID")
        self._new = 0  # clients this process added since it last pruned

    def take(self, client: str) -> float:
        """Spend one token for ``client``; 0 when allowed, else seconds until one is free."""
        cap, rate = self.limit.capacity, self.limit.per_second
        self._conn.execute("BEGIN IMMEDIATE")  # one process at a time reads and writes a bucket
        try:
            now = self.clock()
            row = self._conn.execute("SELECT tokens, last FROM buckets WHERE client = ?", (client,)).fetchone()
            tokens, last = row if row is not None else (cap, now)
            tokens = min(cap, tokens + max(0.0, now - last) * rate)
            wait = 0.0 if tokens >= 1.0 else ((1.0 - tokens) / rate if rate > 0 else math.inf)
            self._conn.execute("INSERT OR REPLACE INTO buckets VALUES (?, ?, ?)",
                               (client, tokens - 1.0 if wait == 0.0 else tokens, now))
            if row is None:
                self._new += 1
                if self._new > self.max_clients:
                    self._prune(now)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return wait

    def _prune(self, now: float) -> None:
        # A bucket that would be full again carries no state worth keeping.
        rate = self.limit.per_second
        full_after = self.limit.capacity / rate if rate > 0 else math.inf
        if full_after != math.inf:
            self._conn.execute("DELETE FROM buckets WHERE last <= ?", (now - full_after,))
        self._new = 0

    def __len__(self) -> int:
        return self._conn.execute("SELECT count(*) FROM buckets").fetchone()[0]
