"""The nightly run's sixth input: needs and check-ins counted per compound.

Counts go on the public page and into the analysts' report, never into the index.
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


__all__ = ["read_intake", "NEEDS_SCHEMA", "CHECKINS_SCHEMA"]
