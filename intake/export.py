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

NEEDS_SCHEMA = {"compound_id": pl.String, "n_needs_month": pl.Int64, "n_needs_total": pl.Int64}
CHECKINS_SCHEMA = {"compound_id": pl.String, "n_month": pl.Int64}

_NEEDS_SQL = """
SELECT compound_id,
       sum(local_date >= :month_start) AS n_needs_month,
       count(*) AS n_needs_total
FROM needs WHERE local_date <= :as_of GROUP BY compound_id ORDER BY compound_id
"""
_CHECKINS_SQL = """
SELECT compound_id, count(*) AS n_month
FROM checkins WHERE local_date >= :month_start AND local_date <= :as_of
GROUP BY compound_id ORDER BY compound_id
"""


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


def read_intake(db_path: Path, as_of: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(needs per compound: compound_id, n_needs_month, n_needs_total), (check-ins per
    compound: compound_id, n_month), counting the calendar month of ``as_of`` up to and
    including that day (local time). A missing database means nothing was submitted yet
    and gives empty frames; the database is opened read-only."""
    db_path = Path(db_path)
    if not db_path.exists():
        return pl.DataFrame(schema=NEEDS_SCHEMA), pl.DataFrame(schema=CHECKINS_SCHEMA)
    params = {"month_start": as_of.replace(day=1).isoformat(), "as_of": as_of.isoformat()}
    conn = sqlite3.connect(f"file:{db_path.resolve()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"needs", "checkins"} <= tables:
            raise ValueError(f"{db_path} is not a SafeStar intake database (tables needs, checkins missing)")
        needs = conn.execute(_NEEDS_SQL, params).fetchall()
        checkins = conn.execute(_CHECKINS_SQL, params).fetchall()
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{db_path} could not be read as an intake database: {exc}") from None
    finally:
        conn.close()
    return (pl.DataFrame(needs, schema=NEEDS_SCHEMA, orient="row"),
            pl.DataFrame(checkins, schema=CHECKINS_SCHEMA, orient="row"))


__all__ = ["read_intake", "read_intake_tables", "NEEDS_SCHEMA", "CHECKINS_SCHEMA", "TABLE_SCHEMAS"]
