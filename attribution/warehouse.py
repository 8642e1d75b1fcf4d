"""Attribution run inside the warehouse: a night's changes found in DuckDB, events placed
in slices, and only the changed rows written back.

The placements of a city's whole history do not fit comfortably in memory, and most of
them do not change from one night to the next. So:

- the events to place are chosen in SQL: with the registry, outlines and code unchanged
  (the caller's `fingerprint` equals the one stored last time), an event is placed again
  only when its row changed (a DuckDB `hash` of all its columns differs from the one kept
  in `ops.attribution_keys`), when it is new, or when this run's or the last run's
  decisions file names one of its records; events that disappeared are dropped. A new
  fingerprint places everything again;
- the rows to compare are the incidents the incidents step logged as added, changed or
  removed since the log position this step stored with its last placements
  (`ingest.event_updates.changes_since`: every run since, even one whose attribution was
  killed). When the log cannot prove that (no position, another lineage after a full
  incidents build, generations dropped, no log), every row is hashed and compared — the
  same result, a few seconds slower on a large city;
- those events are read from `core.case_events` in slices of `chunk_rows`, ordered by
  `event_id`, placed with one `AddressMatcher` and written before the next slice is read;
- everything is applied with DELETE + INSERT inside the caller's transaction, so a failed
  run leaves the previous placements as they were.

A full run writes `core.attributed_events` and `core.review_queue` in `event_id` order; an
incremental run deletes the changed rows and appends their new placements. The rows are
the same as a full run's (`tests/attribution/test_warehouse.py`); readers that need an
order sort by `event_id`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from pandera.typing.polars import DataFrame

from attribution.attribute import _decisions_frame, attribute_events
from geo.address import AddressMatcher
from geo.polygons import CompoundPolygons
from ingest.event_updates import LogPosition, changes_since, log_position
from ingest.prefetch import overlapped
from schemas.events import METHODS, CaseEvent
from schemas.registry import Compound

EVENTS = "core.case_events"
ATTRIBUTED = "core.attributed_events"
REVIEW = "core.review_queue"
KEYS = "ops.attribution_keys"
DECISIONS = "ops.attribution_decisions"
STATE = "ops.attribution_state"
RATES = "marts.match_rates"
OUTLINES = "ops.attribution_outlines"
DECISION_SCHEMA = {"source": pl.String, "record_id": pl.String, "compound_id": pl.String}
CHUNK_ROWS = 1_000_000  # events attributed at a time: bounds the working memory of a large city
_CODE = [Path(__file__).resolve().parents[1] / d for d in ("attribution", "geo")]


def attribution_fingerprint(compounds: pl.DataFrame, polygons_file: Path | None, **params) -> str:
    """What every placement depends on besides the event and the decisions: the registry,
    the outlines file, the parameters and the placing code itself."""
    digest = hashlib.sha256()
    digest.update(compounds.sort(Compound.compound_id).write_csv().encode("utf-8"))
    if polygons_file is not None and Path(polygons_file).exists():
        digest.update(Path(polygons_file).read_bytes())
    # The evidence hashes are Polars (or DuckDB) row hashes: stable for one version only.
    digest.update(repr((sorted(params.items()), pl.__version__, duckdb.__version__)).encode("utf-8"))
    for folder in _CODE:
        for path in sorted(folder.glob("*.py")):
            digest.update(path.name.encode("utf-8"))
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _decided_keys(*decision_frames: pl.DataFrame | None) -> pl.Series:
    """`source:record_id` of every record any of the decision files names."""
    keys = [
        _decisions_frame(d).select(pl.format("{}:{}", "source", "record_id").alias("key"))
        for d in decision_frames
    ]
    return pl.concat(keys).get_column("key").unique()


def row_hash_sql(alias: str = "e") -> str:
    """DuckDB expression: a 64-bit hash of every column of a case event. Any change to the
    row (its evidence, or a column carried into the placement) places it again."""
    cols = ", ".join(f'{alias}."{c}"' for c in CaseEvent.to_schema().columns)
    return f"hash({cols})"


@dataclass(frozen=True)
class AttributionRun:
    """What one run did: events in the warehouse, placed afresh, dropped (gone from
    `core.case_events`), and whether everything was placed again."""

    events: int
    fresh: int
    removed: int
    full: bool
    logged: bool = False  # the rows compared came from the incidents' change log (not a hash of every row)


def _has_table(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchall())


def _scalar(conn: duckdb.DuckDBPyConnection, query: str, params: list | None = None):
    return conn.execute(query, params or []).fetchall()[0][0]


def _same_state(conn: duckdb.DuckDBPyConnection, fingerprint: str) -> bool:
    """The last run used this registry, outlines and code, and left all of its tables."""
    if not all(_has_table(conn, t) for t in (STATE, KEYS, ATTRIBUTED, REVIEW, DECISIONS, OUTLINES)):
        return False
    rows = conn.execute(f"SELECT fingerprint FROM {STATE}").fetchall()
    if rows != [(fingerprint,)]:
        return False
    # Keys and placements are written together; anything else means a table was touched.
    return _scalar(conn, f"SELECT count(*) FROM {KEYS}") == _scalar(conn, f"SELECT count(*) FROM {ATTRIBUTED}")


def _write(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, *, create: bool) -> None:
    conn.register("_incoming", frame.to_arrow())
    if create:
        conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _incoming").fetchall()
    else:
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming").fetchall()
    conn.unregister("_incoming")


def _slices(conn: duckdb.DuckDBPyConnection, source: str, chunk_rows: int) -> Iterator[tuple[str, str | None]]:
    """[low, high) bounds of `event_id` cutting `source` (a table or query with an
    `event_id` column) into slices of `chunk_rows` rows, in order."""
    starts = [r[0] for r in conn.execute(
        f"SELECT event_id FROM (SELECT event_id, row_number() OVER (ORDER BY event_id) - 1 AS rn FROM {source}) "
        f"WHERE rn % {int(chunk_rows)} = 0 ORDER BY event_id"
    ).fetchall()]
    for i, low in enumerate(starts):
        yield low, starts[i + 1] if i + 1 < len(starts) else None


def _rows_of(table: str, ids: str, where: str = "true") -> str:
    """`table`'s rows whose `event_id` is in the query `ids` (and `where` holds), as a
    subquery that finds them by `rowid`: only the id column is scanned in full, the other
    columns are read for the rows found — a few hundred ms less per pass over 10M events."""
    return (f"(SELECT * FROM {table} WHERE rowid IN "
            f"(SELECT rowid FROM {table} WHERE {where} AND event_id IN ({ids})))")


def _place(
    conn: duckdb.DuckDBPyConnection,
    compounds: DataFrame[Compound],
    polygons: CompoundPolygons | None,
    decisions: pl.DataFrame | None,
    *,
    only: str | None,
    create: bool,
    chunk_rows: int,
    **params,
) -> int:
    """Place the events of `core.case_events` (all, or those whose `event_id` is in the
    table `only`) slice by slice, appending to the placements and the review queue.
    Returns the number of events placed.

    The next slice is read and the last one's placements written while this one is placed
    (`overlapped`); the slices are written in order, as one after the other would be."""
    source = f"(SELECT event_id FROM {only})" if only else EVENTS

    def read(low, high) -> pl.DataFrame:
        bounds = "event_id >= ?" + (" AND event_id < ?" if high is not None else "")
        rows = _rows_of(EVENTS, f"SELECT event_id FROM {only}", bounds) if only else f"(SELECT * FROM {EVENTS} WHERE {bounds})"
        return conn.sql(f"SELECT * FROM {rows} ORDER BY event_id",
                        params=[low] + ([high] if high is not None else [])).pl()

    matcher = None
    placed = 0

    def place(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        nonlocal matcher, placed
        if matcher is None:
            matcher = AddressMatcher(compounds, threshold=params.get("fuzzy_threshold", 85.0))
        placed += events.height
        return attribute_events(events, compounds, polygons, decisions=decisions, matcher=matcher, **params)

    def write(i: int, placed_slice: tuple[pl.DataFrame, pl.DataFrame]) -> None:
        attributed, review = placed_slice
        _write(conn, ATTRIBUTED, attributed, create=create and i == 0)
        _write(conn, REVIEW, review, create=create and i == 0)

    bounds = list(_slices(conn, source, chunk_rows))
    overlapped(bounds, lambda b: read(*b), place, write, name="attribution-io")
    if create and not bounds:
        # No event at all: the tables still exist, empty, with their columns.
        empty = conn.sql(f"SELECT * FROM {EVENTS} LIMIT 0").pl()
        attributed, review = attribute_events(empty, compounds, polygons, decisions=decisions, **params)
        _write(conn, ATTRIBUTED, attributed, create=True)
        _write(conn, REVIEW, review, create=True)
    return placed


def _stored_position(conn: duckdb.DuckDBPyConnection) -> LogPosition | None:
    """The incidents' log position the last run's placements were made at (None if unknown)."""
    cols = {r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        STATE.split("."),
    ).fetchall()}
    if not {"log_lineage", "log_generation"} <= cols:
        return None
    rows = conn.execute(f"SELECT log_lineage, log_generation FROM {STATE}").fetchall()
    return LogPosition(*rows[0]) if len(rows) == 1 and None not in rows[0] else None


def _changed_events(conn: duckdb.DuckDBPyConnection, decided: pl.Series, logged: str | None = None) -> None:
    """Temporary table `_changed(event_id, present, evidence)`: events new, changed, named
    by a decision (present, with their row hash) or gone from `core.case_events` (not present).
    `logged` (a query of event ids) limits the rows compared to those the incidents step
    changed since the last run; without it every row is hashed."""
    if logged is None:
        current = f"SELECT event_id, {row_hash_sql('c')} AS h FROM {EVENTS} c"
        kept = KEYS
    else:
        conn.execute(f"CREATE OR REPLACE TEMP TABLE _logged AS {logged}").fetchall()
        current = f"SELECT event_id, {row_hash_sql('c')} AS h FROM {_rows_of(EVENTS, 'SELECT event_id FROM _logged')} c"
        kept = f"(SELECT * FROM {KEYS} WHERE event_id IN (SELECT event_id FROM _logged))"
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE _changed AS
        SELECT coalesce(e.event_id, k.event_id) AS event_id, e.event_id IS NOT NULL AS present, e.h AS evidence
        FROM ({current}) e
        FULL JOIN {kept} k ON k.event_id = e.event_id
        WHERE e.event_id IS NULL OR k.event_id IS NULL OR k.evidence <> e.h
    """).fetchall()
    if decided.len():
        # An event's own record or any record linked into it (see `_event_decisions`).
        conn.execute(f"""
            INSERT INTO _changed
            SELECT event_id, true, {row_hash_sql()} FROM {EVENTS} e
            WHERE list_has_any(list_prepend(source || ':' || record_id, string_split(coalesce(linked_records, ''), '|')),
                               ?::VARCHAR[])
              AND event_id NOT IN (SELECT event_id FROM _changed)
        """, [decided.to_list()]).fetchall()


def attribute_warehouse(
    conn: duckdb.DuckDBPyConnection,
    compounds: DataFrame[Compound],
    polygons: CompoundPolygons | Callable[[], CompoundPolygons | None] | None,
    *,
    fingerprint: str,
    decisions: pl.DataFrame | None = None,
    chunk_rows: int = CHUNK_ROWS,
    **params,
) -> AttributionRun:
    """Bring `core.attributed_events`, `core.review_queue`, `ops.attribution_keys` and
    `marts.match_rates` up to date with `core.case_events` on `conn` (inside the caller's
    transaction). `polygons` may be a loader, called only when some event is to be placed;
    `fingerprint` is `attribution_fingerprint` of the registry and outlines."""
    n_events = _scalar(conn, f"SELECT count(*) FROM {EVENTS}")
    full = not _same_state(conn, fingerprint)
    position = log_position(conn)  # read in this transaction: it matches the events it reads
    removed, logged = 0, None
    if full:
        fresh = n_events
    else:
        previous = conn.sql(f"SELECT * FROM {DECISIONS}").pl()
        logged = changes_since(conn, _stored_position(conn))
        _changed_events(conn, _decided_keys(decisions, previous), logged)
        removed = _scalar(conn, "SELECT count(*) FILTER (WHERE NOT present) FROM _changed")
        fresh = _scalar(conn, "SELECT count(*) FILTER (WHERE present) FROM _changed")
        for table in (ATTRIBUTED, REVIEW, KEYS):
            conn.execute(f"DELETE FROM {table} WHERE event_id IN (SELECT event_id FROM _changed)").fetchall()
        conn.execute("DELETE FROM _changed WHERE NOT present").fetchall()

    if full or fresh:
        outlines = _outlines(conn, polygons, full)
        _place(conn, compounds, outlines, decisions, only=None if full else "_changed", create=full,
               chunk_rows=chunk_rows, **params)
    if full:
        conn.execute(f"CREATE OR REPLACE TABLE {KEYS} AS SELECT event_id, {row_hash_sql()} AS evidence "
                     f"FROM {EVENTS} e ORDER BY event_id").fetchall()
    elif fresh:
        conn.execute(f"INSERT INTO {KEYS} SELECT event_id, evidence FROM _changed ORDER BY event_id").fetchall()
    _write(conn, DECISIONS, _decisions_or_empty(decisions), create=True)
    _write(conn, STATE, pl.DataFrame(
        {"fingerprint": [fingerprint], "log_lineage": [position.lineage if position else None],
         "log_generation": [position.generation if position else None]},
        schema={"fingerprint": pl.String, "log_lineage": pl.String, "log_generation": pl.Int64},
    ), create=True)
    conn.execute(f"CREATE OR REPLACE TABLE {RATES} AS {match_rates_sql()}").fetchall()
    return AttributionRun(events=n_events, fresh=fresh, removed=removed, full=full, logged=logged is not None)


def _outlines(conn: duckdb.DuckDBPyConnection, polygons, full: bool) -> CompoundPolygons | None:
    """The outlines: parsed from the file (the loader) on a full run and kept in the
    warehouse as WKB; read back from there by later runs with the same fingerprint (which
    covers the file), a hundred times faster than parsing GeoJSON for a large city."""
    if not full:
        rows = conn.sql(f"SELECT compound_id, outline FROM {OUTLINES} ORDER BY position").fetchall()
        return CompoundPolygons.from_wkb([r[0] for r in rows], [r[1] for r in rows]) if rows else None
    outlines = polygons() if callable(polygons) else polygons
    ids, wkb = (list(outlines.ids), outlines.to_wkb()) if outlines is not None else ([], [])
    _write(conn, OUTLINES, pl.DataFrame({"position": range(len(ids)), "compound_id": ids, "outline": wkb},
                                        schema={"position": pl.Int64, "compound_id": pl.String, "outline": pl.Binary}),
           create=True)
    return outlines


def match_rates_sql(table: str = ATTRIBUTED) -> str:
    """`attribution.quality.match_rates` as a DuckDB query over the placements table."""
    per_method = ", ".join(
        f"count(*) FILTER (WHERE method = '{m}')::BIGINT AS n_{m}" for m in METHODS
    )
    return f"""
        SELECT source, events, matched, excluded, review,
               CASE WHEN events - excluded > 0 THEN matched / (events - excluded) ELSE 1.0::DOUBLE END AS rate,
               {", ".join(f"n_{m}" for m in METHODS)}
        FROM (
            SELECT source,
                   count(*)::BIGINT AS events,
                   count(compound_id)::BIGINT AS matched,
                   count(*) FILTER (WHERE method = 'excluded')::BIGINT AS excluded,
                   count(*) FILTER (WHERE needs_review)::BIGINT AS review,
                   {per_method}
            FROM {table} GROUP BY source
        ) ORDER BY source
    """


def contract_problems(conn: duckdb.DuckDBPyConnection, run: AttributionRun) -> dict[str, int]:
    """Table-wide rules of `AttributedEvent` that per-slice validation cannot see: one row
    per event, and as many rows as events. After an incremental run only the rows written
    by it can break the first (the kept ones were checked when written)."""
    scope = "" if run.full else " WHERE event_id IN (SELECT event_id FROM _changed)"
    return {
        "duplicate_event_ids": _scalar(conn, f"SELECT count(*) - count(DISTINCT event_id) FROM {ATTRIBUTED}{scope}"),
        "missing_events": _scalar(conn, f"SELECT (SELECT count(*) FROM {EVENTS}) - count(*) FROM {ATTRIBUTED}"),
    }


def _decisions_or_empty(decisions: pl.DataFrame | None) -> pl.DataFrame:
    """The decisions this run applied, kept so the next run also re-places events whose decision was withdrawn."""
    if decisions is None:
        return pl.DataFrame(schema=DECISION_SCHEMA)
    return decisions.select([pl.col(c).cast(t) for c, t in DECISION_SCHEMA.items()])
