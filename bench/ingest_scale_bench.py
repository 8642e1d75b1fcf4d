"""Ingestion half of the nightly run at scale: before (in-memory) against after (streamed, incremental).

    python -m bench.ingest_scale_bench --landing /tmp/ss100/landing --night /tmp/ss100/held \\
        --work /tmp/ingest_bench [--subset-files 4] [--max-rss-gb 6]

Steps, each in a fresh child process (wall seconds, CPU seconds = user + system of the
child, peak RSS of the child):

1. Ingestion, before vs after, on a subset of the landing zone (`--subset-files` files per
   source, so that the in-memory "before" stays under the memory limit): `ingest_sources` +
   `merge_records` + one `Writer.upsert` (the old asset) against `NightWriter` file by file
   (the new asset). The two warehouses are compared (records in order, quarantine, ledger).
2. Ingestion after, on the whole landing zone (the full run), into WORK/full.duckdb.
3. Incidents on that warehouse: the old full rebuild (`build_case_events` on every record,
   `replace_table`) against the new full build (slices), then compared.
4. The night (`--night`: the held-back day's files) on copies of the warehouse: ingestion
   before vs after, then incidents before (full rebuild) vs after (touched chains only);
   the two `core.case_events` are compared.
5. `marts/data_quality` counts: Polars on the whole tables (before) vs DuckDB SQL (after).

Run under `nice`; `--max-rss-gb` kills a step whose memory passes the limit (shared machine).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

NOW = "2026-11-21T00:30:00"


# --- the measured steps (run in the child) ----------------------------------------------

def _bbox(data: Path):
    import polars as pl

    c = pl.read_csv(data / "compounds.csv", columns=["lon", "lat"]).drop_nulls()
    m = 0.2
    return (c["lon"].min() - m, c["lat"].min() - m, c["lon"].max() + m, c["lat"].max() + m)


def _warehouse(path: str):
    from pipelines.resources import Warehouse

    return Warehouse(path=path)


def _seen(wh) -> tuple[set[str], object]:
    import polars as pl

    before = wh.read("raw.file_ledger")
    seen = set(before.filter(pl.col("status") == "loaded")["file_sha256"]) if before is not None else set()
    return seen, before


def step_ingest_before(landing: str, db: str, bbox_from: str) -> dict:
    from tests.ingest.reference import ingest_sources
    from ingest.merge import KEY, merge_records
    from ingest.taxonomy import load_taxonomy
    from ingest.upsert import new_ledger_rows

    wh = _warehouse(db)
    seen, before = _seen(wh)
    result = ingest_sources(Path(landing), seen_hashes=seen, taxonomy=load_taxonomy(), bbox=_bbox(Path(bbox_from)),
                            now=datetime.fromisoformat(NOW))
    fresh = merge_records(None, result.records)
    with wh.transaction() as w:
        w.upsert("raw.case_records", fresh, KEY)
        w.append("raw.file_ledger", new_ledger_rows(result.ledger, before))
        w.append("raw.quarantine", result.quarantine)
    return {"records_tonight": fresh.height}


def step_ingest_after(landing: str, db: str, bbox_from: str) -> dict:
    from ingest.landing import iter_landing
    from ingest.taxonomy import load_taxonomy
    from ingest.upsert import NightWriter

    wh = _warehouse(db)
    seen, before = _seen(wh)
    files = iter_landing(Path(landing), seen_hashes=seen, taxonomy=load_taxonomy(), bbox=_bbox(Path(bbox_from)),
                         now=datetime.fromisoformat(NOW))
    with wh.connect() as conn:
        night = NightWriter(conn, before)
        for outcome in files:
            night.add(outcome)
            del outcome
        night.finish()
        return {"records_tonight": night.records_tonight()}


def step_events_before(db: str) -> dict:
    from ingest.event_updates import INCIDENT_COLUMNS
    from tests.ingest.reference import build_case_events
    from ingest.taxonomy import load_taxonomy

    wh = _warehouse(db)
    events = build_case_events(wh.read("raw.case_records", columns=INCIDENT_COLUMNS), load_taxonomy())
    with wh.transaction() as w:
        w.replace_table("core.case_events", events)
    return {"events": events.height}


def step_events_after(db: str) -> dict:
    from ingest.event_updates import update_case_events
    from ingest.taxonomy import load_taxonomy

    with _warehouse(db).connect() as conn:
        u = update_case_events(conn, load_taxonomy())
    return {"mode": u.mode, "chains": u.chains, "events": u.events, "added": u.added, "changed": u.changed,
            "removed": u.removed}


def step_quality_before(db: str) -> dict:
    from ingest.quality import data_quality

    wh = _warehouse(db)
    q = data_quality(wh.read("raw.file_ledger"), wh.read("raw.quarantine"),
                     wh.read("raw.case_records", columns=["source", "status"]), wh.read("core.case_events"))
    q.write_parquet(db + ".dq_before.parquet")
    return {"rows": q.height}


def step_quality_after(db: str) -> dict:
    from ingest.quality import (
        CHAIN_MEMBER_COUNTS_SQL,
        INCIDENT_COUNTS_SQL,
        RECORD_COUNTS_SQL,
        data_quality_from_counts,
    )

    wh = _warehouse(db)
    with wh.connect(read_only=True) as conn:
        counts = [conn.sql(q).pl() for q in (RECORD_COUNTS_SQL, INCIDENT_COUNTS_SQL, CHAIN_MEMBER_COUNTS_SQL)]
    q = data_quality_from_counts(wh.read("raw.file_ledger"), wh.read("raw.quarantine"), *counts)
    q.write_parquet(db + ".dq_after.parquet")
    return {"rows": q.height}


STEPS = {f.__name__[5:]: f for f in (step_ingest_before, step_ingest_after, step_events_before, step_events_after,
                                      step_quality_before, step_quality_after)}


# --- the driver ---------------------------------------------------------------------------

def measure(step: str, *args: str, limit_gb: float) -> dict:
    """Run one step in a child; wall, CPU and peak RSS (killed past `limit_gb`)."""
    argv = [sys.executable, "-m", "bench.ingest_scale_bench", "--step", step, *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True)
    peak, killed = [0], [False]

    def watch():
        while proc.poll() is None:
            try:
                rss = int(Path(f"/proc/{proc.pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except (FileNotFoundError, ProcessLookupError):
                return
            peak[0] = max(peak[0], rss)
            if rss > limit_gb * 2**30:
                killed[0] = True
                os.killpg(proc.pid, signal.SIGKILL)
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read()
    watcher.join()
    # Peak RSS as sampled every 0.2 s (ru_maxrss would include what the child inherited at fork).
    row = {"step": step, "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
           "peak_gb": round(peak[0] / 2**30, 2)}
    if killed[0]:
        row["result"] = f"killed above {limit_gb} GB"
    elif proc.returncode != 0:
        raise SystemExit(f"step {step} failed ({proc.returncode})")
    else:
        row["result"] = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def _link_landing(src: Path, dst: Path, subset: int | None, extra: Path | None = None) -> None:
    """A landing zone of symbolic links: every source's mapping and (the first `subset`) files."""
    if dst.exists():
        shutil.rmtree(dst)
    for folder in sorted((src / "sources").iterdir()):
        target = dst / "sources" / folder.name
        target.mkdir(parents=True)
        files = sorted(p for p in folder.iterdir() if p.name != "mapping.yaml")
        for p in [folder / "mapping.yaml", *(files[:subset] if subset else files)]:
            (target / p.name).symlink_to(p.resolve())
        if extra is not None and (extra / folder.name).is_dir():
            for p in sorted((extra / folder.name).iterdir()):
                (target / p.name).symlink_to(p.resolve())


def _drop_incidents(db: Path) -> None:
    import duckdb

    with duckdb.connect(str(db)) as conn:
        for table in ("core.case_events", "ops.case_event_chains", "ops.case_event_pending", "ops.case_events_state",
                      "ops.case_event_changes"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def _hold_back(db: Path, landing: Path, pattern: str) -> None:
    import duckdb

    from ingest.landing import file_sha256

    hashes = [file_sha256(p) for p in sorted((landing / "sources").rglob(pattern)) if p.is_file()]
    with duckdb.connect(str(db)) as conn:
        for table in ("raw.case_records", "raw.quarantine", "raw.file_ledger"):
            conn.execute(f"DELETE FROM {table} WHERE file_sha256 IN (SELECT unnest(?))", [hashes])
    _drop_incidents(db)
    print(json.dumps({"held_back_files": len(hashes)}), flush=True)


def _compare(db_a: str, db_b: str, tables: dict[str, str]) -> dict:
    """Whether each table holds the same rows (as a multiset) in both warehouses."""
    import duckdb

    out = {}
    with duckdb.connect() as conn:
        conn.execute(f"ATTACH '{db_a}' AS a (READ_ONLY)")
        conn.execute(f"ATTACH '{db_b}' AS b (READ_ONLY)")
        for table, cols in tables.items():
            # An order-independent fingerprint of the rows (count, sum of row hashes): streams,
            # where EXCEPT ALL of 10M wide rows would hold them all in a hash table.
            a, b = (conn.sql(f"SELECT count(*), sum(hash(s)::HUGEINT) FROM (SELECT {cols} FROM {db}.{table}) s")
                    .fetchall()[0] for db in ("a", "b"))
            out[table] = {"rows_before": a[0], "rows_after": b[0], "same_rows": a == b}
    print(json.dumps({"compare": out}), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--step")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--landing", type=Path, default=Path("/tmp/ss100/landing"))
    ap.add_argument("--night", type=Path, default=Path("/tmp/ss100/held"))
    ap.add_argument("--night-files", default="*_2026-11-19.*",
                    help="the night's files when they are already in the landing zone (holdback)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/ingest_bench"))
    ap.add_argument("--subset-files", type=int, default=2)
    ap.add_argument("--max-rss-gb", type=float, default=6.0)
    ap.add_argument("--only", default="subset,full,events,night,quality")
    opts = ap.parse_args()
    if opts.step:
        t0, c0 = time.perf_counter(), time.process_time()
        result = STEPS[opts.step](*opts.args)
        # The step alone, without the interpreter's start and imports.
        result.update(step_wall_s=round(time.perf_counter() - t0, 2), step_cpu_s=round(time.process_time() - c0, 2))
        print(json.dumps(result))
        return
    work, lim, only = opts.work, opts.max_rss_gb, set(opts.only.split(","))
    work.mkdir(parents=True, exist_ok=True)
    data = str(opts.landing)
    records = {"raw.case_records": "*", "raw.quarantine": "*", "raw.file_ledger": "* EXCLUDE (ingested_at)"}
    events = {"core.case_events": "*"}
    if "subset" in only:
        sub = work / "subset"
        _link_landing(opts.landing, sub, opts.subset_files)
        for name in ("sub_before.duckdb", "sub_after.duckdb"):
            (work / name).unlink(missing_ok=True)
        measure("ingest_before", str(sub), str(work / "sub_before.duckdb"), data, limit_gb=lim)
        measure("ingest_after", str(sub), str(work / "sub_after.duckdb"), data, limit_gb=lim)
        _compare(str(work / "sub_before.duckdb"), str(work / "sub_after.duckdb"), records)
    full = work / "full.duckdb"
    if "full" in only:
        everything = work / "all"
        _link_landing(opts.landing, everything, None)
        full.unlink(missing_ok=True)
        if "killed" in str(measure("ingest_after", str(everything), str(full), data, limit_gb=lim)["result"]):
            raise SystemExit("the full ingestion did not fit the memory limit")
    if "holdback" in only:
        # The landing zone may already hold the night's files (a nightly run dropped them
        # there): take their records, quarantine and ledger rows out again, as before the night.
        _hold_back(full, opts.landing, opts.night_files)
    if "events" in only:
        _drop_incidents(full)  # a full build, whatever an earlier bench run left
        old = work / "full_old_events.duckdb"
        shutil.copy(full, old)
        before = measure("events_before", str(old), limit_gb=lim)
        measure("events_after", str(full), limit_gb=lim)
        if "killed" not in str(before["result"]):
            _compare(str(old), str(full), events)
        old.unlink()
    if "night" in only:
        tonight = work / "night"
        _link_landing(opts.landing, tonight, None, extra=opts.night)
        before, after = work / "night_before.duckdb", work / "night_after.duckdb"
        shutil.copy(full, before)
        shutil.copy(full, after)
        measure("ingest_before", str(tonight), str(before), data, limit_gb=lim)
        measure("ingest_after", str(tonight), str(after), data, limit_gb=lim)
        _compare(str(before), str(after), records)
        rebuilt = measure("events_before", str(before), limit_gb=lim)
        measure("events_after", str(after), limit_gb=lim)
        if "killed" not in str(rebuilt["result"]):
            _compare(str(before), str(after), events)
        else:  # the old full rebuild does not fit: compare with the new full build instead
            _drop_incidents(before)
            measure("events_after", str(before), limit_gb=lim)
            _compare(str(before), str(after), events)
    if "quality" in only:
        db = str(work / "night_after.duckdb") if (work / "night_after.duckdb").exists() else str(full)
        measure("quality_before", db, limit_gb=lim)
        measure("quality_after", db, limit_gb=lim)
        import polars as pl

        same = pl.read_parquet(db + ".dq_before.parquet").equals(pl.read_parquet(db + ".dq_after.parquet"))
        print(json.dumps({"data_quality_equal": same}), flush=True)


if __name__ == "__main__":
    main()
