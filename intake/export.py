"""The nightly run's sixth input: the intake database, read read-only.

Needs, their workflow events and officers' check-ins are copied into the warehouse (without
the residents' text and contact, the staff's notes or any receipt key) and counted per
compound, grid, community, street and district: on the public page, in the report and in
the monthly ranking, never in the safety index.
"""
from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import polars as pl

# What leaves the intake database: no free text (the need's text, staff notes, check-in
# notes), no contact, no receipt key, no staff or officer id.
_TABLES_SQL = {
    "needs": "SELECT id AS need_id, compound_id, category, created_at FROM needs WHERE created_at <= :until ORDER BY id",
    "need_events": "SELECT id AS seq, need_id, at, actor_role, capacity, action, from_state, to_state, level, unit,"
                   " deadline, reopen_count, rating FROM need_events WHERE at <= :until ORDER BY id",
    "checkins": "SELECT id AS checkin_id, compound_id, kind, created_at AS at FROM checkins WHERE created_at <= :until"
                " ORDER BY id",
}
TABLE_SCHEMAS = {
    "needs": {"need_id": pl.Int64, "compound_id": pl.String, "category": pl.String, "created_at": pl.String},
    "need_events": {"seq": pl.Int64, "need_id": pl.Int64, "at": pl.String, "actor_role": pl.String,
                    "capacity": pl.String, "action": pl.String, "from_state": pl.String, "to_state": pl.String,
                    "level": pl.String, "unit": pl.String, "deadline": pl.String, "reopen_count": pl.Int64,
                    "rating": pl.String},
    "checkins": {"checkin_id": pl.Int64, "compound_id": pl.String, "kind": pl.String, "at": pl.String},
}


def read_intake_tables(db_path: Path, as_of: date) -> dict[str, pl.DataFrame]:
    """The needs, their events and the check-ins recorded up to the end of ``as_of`` (local
    time), as text timestamps with their offset. One read transaction on a read-only
    connection (``mode=ro``): the service keeps writing meanwhile (WAL), and the three tables
    are one consistent snapshot. A missing database gives empty tables; a database from
    before the workflow (no need_events) gives needs without events."""
    db_path = Path(db_path)
    empty = {name: pl.DataFrame(schema=schema) for name, schema in TABLE_SCHEMAS.items()}
    if not db_path.exists():
        return empty
    until = {"until": f"{as_of.isoformat()}T23:59:59+08:00"}
    conn = sqlite3.connect(f"file:{db_path.resolve()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"needs", "checkins"} <= tables:
            raise ValueError(f"{db_path} is not a SafeStar intake database (tables needs, checkins missing); "
                             f"point SAFESTAR_INTAKE_DB at the service's intake.sqlite")
        conn.execute("BEGIN").fetchall()
        out = {}
        for name, sql in _TABLES_SQL.items():
            if name not in tables:
                out[name] = empty[name]
                continue
            rows = conn.execute(sql, until).fetchall()
            out[name] = pl.DataFrame(rows, schema=TABLE_SCHEMAS[name], orient="row")
        conn.execute("COMMIT").fetchall()
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{db_path} could not be read as an intake database ({exc}); "
                         f"check the file or restore it from the service's backup") from None
    finally:
        conn.close()
    return out


__all__ = ["read_intake_tables", "TABLE_SCHEMAS"]
