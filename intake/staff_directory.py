"""Who answers for what: staff.csv and the compounds' grids, copied into the intake database.

The intake service never reads the data folder while it runs: ``safestar staff load`` copies
``DATA_DIR/staff.csv`` (contract: ``schemas/staff.py``) and each compound's grid, community,
street and district (from the registry) into the intake SQLite file, in one transaction.
Sign-in credentials stay with the staff row across reloads; a person no longer in staff.csv
loses access (``removed_at``).
"""
from __future__ import annotations

import json

import sqlite3
from pathlib import Path

import pandera.errors
import polars as pl

from intake.store import transaction
from intake.vocab import NEED_CATEGORIES, local_now
from intake.workflow_rules import Location, StaffView
from schemas.staff import SEPARATOR, STAFF_COLUMNS, StaffMember



class DirectoryError(ValueError):
    """A staff or registry file that cannot be loaded; the message names the file and rows."""


def _split(value: str | None) -> frozenset[str]:
    return frozenset(p.strip() for p in (value or "").split(SEPARATOR) if p.strip())


def read_staff(path: Path) -> pl.DataFrame:
    """staff.csv validated against its contract, or a :class:`DirectoryError` naming rows."""
    try:
        frame = pl.read_csv(path, infer_schema_length=0)
    except FileNotFoundError:
        raise DirectoryError(f"{path}: no staff file; put staff.csv (see schemas/staff.py) in the data folder") from None
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise DirectoryError(f"{path}: cannot read the staff file ({str(exc)[:120]}); save it as UTF-8 CSV") from None
    for column in STAFF_COLUMNS:
        if column not in frame.columns:
            if column in ("staff_id", "name", "role"):
                raise DirectoryError(f"{path}: column {column!r} is missing; columns are {', '.join(STAFF_COLUMNS)}")
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    try:
        frame = StaffMember.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        rows = sorted({int(i) + 2 for i in cases["index"].drop_nulls().to_list()})[:5]
        checks = sorted({str(c) for c in cases["check"].to_list()})[:3]
        raise DirectoryError(f"{path}: rows {rows} (line numbers) break the staff contract ({'; '.join(checks)});"
                             " fix them (see schemas/staff.py)") from None
    bad = [(i + 2, c) for i, cats in enumerate(frame["categories"].to_list())
           for c in _split(cats) if c not in NEED_CATEGORIES]
    if bad:
        raise DirectoryError(f"{path}: line {bad[0][0]}: category {bad[0][1]!r} is not one of "
                             f"{'、'.join(NEED_CATEGORIES)}; fix the row")
    return frame


def load_directory(conn: sqlite3.Connection, staff: pl.DataFrame, registry: pl.DataFrame) -> tuple[int, int]:
    """Replace the staff roster and compound areas in one transaction; returns (staff, compounds).

    Grid codes named in staff.csv must exist in the registry."""
    known_grids = set(registry["grid_code"].drop_nulls().to_list())
    for line, grids in enumerate(staff["grids"].to_list(), start=2):
        unknown = sorted(_split(grids) - known_grids)
        if unknown:
            raise DirectoryError(f"staff.csv line {line}: grid {unknown[0]} is not in the compound registry;"
                                 " fix the grid code or the registry")
    now = local_now().isoformat(timespec="seconds")
    rows = staff.select(STAFF_COLUMNS).rows()
    areas = registry.select("compound_id", "grid_code", "community", "street", "district").rows()
    with transaction(conn):
        conn.executemany(
            "INSERT INTO staff (staff_id, name, role, unit, grids, streets, districts, categories, loaded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (staff_id) DO UPDATE SET name = excluded.name,"
            " role = excluded.role, unit = excluded.unit, grids = excluded.grids, streets = excluded.streets,"
            " districts = excluded.districts, categories = excluded.categories, loaded_at = excluded.loaded_at,"
            " removed_at = NULL",
            [(*r, now) for r in rows])
        # Whoever is not in this file is removed (by id: two loads can share a second).
        conn.execute("UPDATE staff SET removed_at = ? WHERE removed_at IS NULL"
                     " AND staff_id NOT IN (SELECT value FROM json_each(?))", (now, json.dumps([r[0] for r in rows])))
        conn.execute("DELETE FROM compound_areas")
        conn.executemany("INSERT INTO compound_areas VALUES (?, ?, ?, ?, ?)", areas)
    return len(rows), len(areas)


def location_of(conn: sqlite3.Connection, compound_id: str) -> Location:
    """The compound's grid, street and district (all unknown for a compound not loaded)."""
    row = conn.execute("SELECT grid_code, street, district FROM compound_areas WHERE compound_id = ?",
                       (compound_id,)).fetchone()
    return Location(*row) if row else Location(None, None, None)


_VIEW = "SELECT staff_id, role, unit, grids, streets, districts, categories FROM staff"


def _view(row) -> StaffView:
    return StaffView(row[0], row[1], row[2], _split(row[3]), _split(row[4]), _split(row[5]), _split(row[6]))


def staff_view(conn: sqlite3.Connection, staff_id: str) -> StaffView | None:
    """A current staff member's role and area (None when unknown or removed)."""
    row = conn.execute(_VIEW + " WHERE staff_id = ? AND removed_at IS NULL", (staff_id,)).fetchone()
    return _view(row) if row else None


def departments(conn: sqlite3.Connection) -> list[StaffView]:
    """Every current department handler (to route categories that belong to a department)."""
    return [_view(r) for r in conn.execute(_VIEW + " WHERE role = 'department' AND removed_at IS NULL"
                                           " ORDER BY staff_id").fetchall()]


def staff_name(conn: sqlite3.Connection, staff_id: str) -> str | None:
    row = conn.execute("SELECT name FROM staff WHERE staff_id = ?", (staff_id,)).fetchone()
    return row[0] if row else None
