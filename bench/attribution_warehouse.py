"""Benchmark: the attribution step on a real warehouse, full and nightly, before and after.

    python -m bench.attribution_warehouse WAREHOUSE DATA_DIR [--limit N] [--before | --only-before] [--chunk-rows N]

WAREHOUSE is copied to a scratch file first (never opened in place); it needs
`core.case_events` and `core.compounds`; DATA_DIR holds `compounds.geojson`. The newest
events (`--nightly`, default 25,000 by `occurred_at`) are held back, as a nightly export would bring them:

1. full: every other event attributed on an empty state;
2. nightly: the held-back events put back (and logged as `added` in the incidents' change
   log, `ingest.event_updates.log_changes`, as the incidents step does) and attributed
   incrementally.

"after" is `attribution.warehouse.attribute_warehouse` (changes found in DuckDB, events
placed in slices): its nightly run reads the change log; "after-hash" is the same nightly
run on a copy whose log position is gone, so it hashes every row (the fallback, and the
way before the log) — the two must leave the same placements. "before" (`--before`) is
the earlier asset's way — every event, the
previous placements and keys read into Polars, `attribute_incremental`, whole tables
replaced — and holds the whole history in memory (about 1.5 GB per million events).
Each step runs in a forked child: wall and CPU seconds, and its peak memory (max RSS).
`--limit N` keeps the first N events (by event_id) for a quicker look.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

from assets.attribution import DUCKDB_MEMORY_LIMIT
from attribution.incremental import (
    attribute_incremental,
    attribution_fingerprint,
    evidence_keys,
)
from attribution.quality import match_rates
from geo.polygons import CompoundPolygons
from ingest.event_updates import CHANGES, LOG_STATE, log_changes


def _child(fn, args, queue):
    t, cpu = time.perf_counter(), time.process_time()
    extra = fn(*args)
    queue.put((time.perf_counter() - t, time.process_time() - cpu,
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, extra))


def measure(fn, *args):
    """(wall s, CPU s, peak RSS MiB, fn's small result) of fn run in a forked child."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn, args, q))
    p.start()
    out = q.get()
    p.join()
    return out


def after(db: str, polygons_path: Path, chunk_rows: int) -> dict:
    from attribution.warehouse import (
        attribute_warehouse,  # absent from older code: `--ways before` runs there too
    )

    with duckdb.connect(db) as conn:
        compounds = conn.sql("SELECT * FROM core.compounds").pl()
        fingerprint = attribution_fingerprint(compounds, polygons_path)
        conn.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'").fetchall()  # as the asset does
        conn.execute("BEGIN TRANSACTION").fetchall()
        run = attribute_warehouse(conn, compounds, lambda: CompoundPolygons.from_geojson(polygons_path),
                                  fingerprint=fingerprint, chunk_rows=chunk_rows)
        conn.execute("COMMIT").fetchall()
    return {"fresh": run.fresh, "removed": run.removed, "full": run.full, "logged": run.logged}


def _replace(conn, table: str, frame: pl.DataFrame) -> None:
    conn.register("incoming", frame.to_arrow())
    conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM incoming").fetchall()
    conn.unregister("incoming")


def before(db: str, polygons_path: Path, chunk_rows: int) -> dict:
    """The asset as it was: whole tables through Polars."""
    def read(conn, table):
        schema, name = table.split(".")
        present = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                               [schema, name]).fetchall()
        return conn.sql(f"SELECT * FROM {table}").pl() if present else None

    with duckdb.connect(db) as conn:
        compounds = read(conn, "core.compounds")
        events = read(conn, "core.case_events")
        fingerprint = attribution_fingerprint(compounds, polygons_path)
        state = read(conn, "ops.old_attribution_state")
        same = state is not None and state.height == 1 and state["fingerprint"][0] == fingerprint
        attributed, review, fresh = attribute_incremental(
            events, compounds, lambda: CompoundPolygons.from_geojson(polygons_path),
            previous=read(conn, "core.old_attributed_events") if same else None,
            previous_keys=read(conn, "ops.old_attribution_keys") if same else None,
            previous_review=read(conn, "core.old_review_queue") if same else None,
            chunk_rows=chunk_rows,
        )
        conn.execute("BEGIN TRANSACTION").fetchall()
        _replace(conn, "core.old_attributed_events", attributed)
        _replace(conn, "core.old_review_queue", review)
        _replace(conn, "marts.old_match_rates", match_rates(attributed))
        _replace(conn, "ops.old_attribution_keys", evidence_keys(events))
        _replace(conn, "ops.old_attribution_state", pl.DataFrame({"fingerprint": [fingerprint]}))
        conn.execute("COMMIT").fetchall()
    return {"fresh": fresh}


def prepare(src: Path, work: Path, limit: int | None, nightly: int) -> tuple[str, int, int]:
    """Scratch copy with the `nightly` most recent events held back (in `ops.bench_all` only)."""
    db = work / "warehouse.duckdb"
    shutil.copyfile(src, db)
    with duckdb.connect(str(db)) as conn:
        for table in ("core.attributed_events", "core.review_queue", "ops.attribution_keys",
                      "ops.attribution_state", "ops.attribution_decisions"):
            conn.execute(f"DROP TABLE IF EXISTS {table}").fetchall()
        conn.execute("CREATE TABLE ops.bench_all AS SELECT * FROM core.case_events ORDER BY event_id"
                     + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        # The night's new incidents: the most recent ones (a generated city's last day may
        # hold only a few late records).
        conn.execute("CREATE OR REPLACE TABLE core.case_events AS SELECT * FROM ops.bench_all "
                     "WHERE event_id NOT IN (SELECT event_id FROM ops.bench_all "
                     f"ORDER BY occurred_at DESC, event_id LIMIT {int(nightly)}) ORDER BY event_id").fetchall()
        log_changes(conn, full=True)  # as after an incidents full build: a new lineage
        total = conn.execute("SELECT count(*) FROM ops.bench_all").fetchall()[0][0]
        first = conn.execute("SELECT count(*) FROM core.case_events").fetchall()[0][0]
        conn.execute("CHECKPOINT").fetchall()
    return str(db), total, first


def put_back(db: str, *, logged: bool = True) -> None:
    """The night's incidents back in `core.case_events`, logged as the incidents step logs
    them (`logged`), or with the log's state dropped (attribution then hashes every row)."""
    with duckdb.connect(db) as conn:
        conn.execute(f"CREATE OR REPLACE TABLE {CHANGES} AS SELECT event_id, 'added' AS change FROM ops.bench_all "
                     "WHERE event_id NOT IN (SELECT event_id FROM core.case_events) ORDER BY event_id").fetchall()
        conn.execute("CREATE OR REPLACE TABLE core.case_events AS SELECT * FROM ops.bench_all ORDER BY event_id").fetchall()
        if logged:
            log_changes(conn, full=False)
        else:
            conn.execute(f"DROP TABLE {LOG_STATE}").fetchall()
        conn.execute("CHECKPOINT").fetchall()


def _differing(db: str, table: str, other_table: str, other: str | None = None) -> int:
    """Rows of `table` and `other_table` (in the file `other`, if given) not matched one to one."""
    with duckdb.connect(db) as conn:
        if other:
            conn.execute(f"ATTACH '{other}' AS o (READ_ONLY)").fetchall()
            other_table = f"o.{other_table}"
        return sum(conn.sql(f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})").fetchall()[0][0]
                   for a, b in ((table, other_table), (other_table, table)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("data", type=Path)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--before", action="store_true", help="also run the earlier whole-table way (memory hungry)")
    ap.add_argument("--only-before", action="store_true", help="only the earlier way (e.g. run from an older checkout)")
    ap.add_argument("--chunk-rows", type=int, default=1_000_000)
    ap.add_argument("--nightly", type=int, default=25_000, help="most recent events held back for the nightly run")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="attr_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    polygons = args.data / "compounds.geojson"
    db, total, first = prepare(args.warehouse, work, args.limit, args.nightly)
    print(f"events: {first:,} before the night, {total:,} with it; chunk {args.chunk_rows:,}", flush=True)
    ways = ([] if args.only_before else [("after", after)]) + ([("before", before)] if args.before or args.only_before else [])
    hashed = str(work / "warehouse_hash.duckdb")
    results: dict[tuple[str, str], tuple] = {}
    for step in ("full", "nightly"):
        if step == "nightly":
            if not args.only_before:
                shutil.copyfile(db, hashed)
                put_back(hashed, logged=False)
                ways.insert(1, ("after-hash", lambda _db, *rest: after(hashed, *rest)))
            put_back(db)
        for name, fn in ways:
            results[(name, step)] = measure(fn, db, polygons, args.chunk_rows)
            wall, cpu, rss, extra = results[(name, step)]
            print(f"{name:10s} {step:7s}  wall {wall:7.1f} s  cpu {cpu:7.1f} s  peak {rss / 1024:5.2f} GB  {extra}",
                  flush=True)
    if not args.only_before:
        for table in ("core.attributed_events", "core.review_queue", "ops.attribution_keys"):
            print(f"{table} rows differing between after and after-hash: {_differing(db, table, table, hashed)}")
    if args.before and not args.only_before:
        print("placements differing between before and after: "
              f"{_differing(db, 'core.attributed_events', 'core.old_attributed_events')}")
    shutil.rmtree(work, ignore_errors=True) if args.work is None else None


if __name__ == "__main__":
    main()
