"""Review export benchmark: `write_review_queue` (CSV + xlsx) before (the attribution package
at ``--before``, a git commit) and after (this tree), side by side on the same frame, with
CPU and wall seconds and peak memory of each, each run in a fresh child process.

The frame is the real queue of a 100k-compound city, read from a COPY of a warehouse (never
the live file: DuckDB locks it), or a synthetic one of the same shape:

    cp /tmp/ssM/snap/out/warehouse.duckdb /tmp/s3small/wh.duckdb
    nice python -m bench.review_export_bench --warehouse /tmp/s3small/wh.duckdb
    nice python -m bench.review_export_bench --queue q.parquet      # the queue saved as Parquet
    nice python -m bench.review_export_bench --rows 317000          # synthetic

The queue is kept as Parquet beside the warehouse copy (or in a temporary folder), so the
children read the same rows. The check at the end compares what both wrote: the CSV bytes,
and every zip member's uncompressed bytes (the sheet XML byte for byte), and that the new
writer gives the same bytes twice.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
BASE = "61ff5c6"  # main before the faster export


def _module_at(commit: str, rel: str, name: str, replace: dict[str, object] | None = None):
    """The module `rel` as it was at `commit`, with some of its imports swapped in."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{rel}"], check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    saved = {k: sys.modules.get(k) for k in (replace or {})}
    sys.modules.update(replace or {})
    try:
        exec(compile(source, f"{commit}:{rel}", "exec"), module.__dict__)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return module


def _writer(variant: str, before: str):
    if variant == "new":
        from attribution.review import write_review_queue

        return write_review_queue
    old_xlsx = _module_at(before, "attribution/xlsx.py", "old_xlsx")
    old_review = _module_at(before, "attribution/review.py", "old_review", {"attribution.xlsx": old_xlsx})
    return old_review.write_review_queue


def synthetic_queue(rows: int, seed: int = 1) -> pl.DataFrame:
    """A queue shaped like a city's: Chinese addresses, a third without a point, candidate lists."""
    rng = random.Random(seed)
    reasons = ["unmatched", "disagreement", "low_confidence"]
    sources = ["police", "procuratorate", "court", "justice", "petition"]
    return pl.DataFrame({
        "event_id": [f"E{i:09d}" for i in range(rows)],
        "source": [rng.choice(sources) for _ in range(rows)],
        "record_id": [f"R{rng.randrange(10**9):09d}" for _ in range(rows)],
        "reason": [rng.choice(reasons) for _ in range(rows)],
        "address": [f"思明区某某路{rng.randrange(999)}号{rng.randrange(30)}栋<{rng.randrange(9)}>&" for _ in range(rows)],
        "lon_wgs84": [118 + rng.random() if rng.random() < 0.7 else None for _ in range(rows)],
        "lat_wgs84": [24 + rng.random() if rng.random() < 0.7 else None for _ in range(rows)],
        "chosen_compound_id": [f"C{rng.randrange(10**5):06d}" if rng.random() < 0.5 else None for _ in range(rows)],
        "candidates": [";".join(f"C{rng.randrange(10**5):06d}:{rng.random():.2f}:name" for _ in range(rng.randrange(4)))
                       for _ in range(rows)],
    })


def child(variant: str, queue: Path, out: Path, before: str) -> None:
    """One measured export (run in a fresh process); prints its figures as JSON."""
    write = _writer(variant, before)
    frame = pl.read_parquet(queue)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, wall = time.process_time(), time.perf_counter()
    write(frame, out)
    figures = {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
               "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_before_mib": rss0 / 1024}
    print(json.dumps(figures))


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, help="a COPY of a warehouse with core.review_queue")
    parser.add_argument("--queue", type=Path, help="core.review_queue saved as Parquet (instead of --warehouse)")
    parser.add_argument("--rows", type=int, default=317_000, help="synthetic queue length (without --warehouse)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", default=BASE, help="git commit of the old writer")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "QUEUE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]), args.before)
        return
    work = Path(tempfile.mkdtemp(prefix="review_export_"))
    queue = work / "queue.parquet"
    if args.warehouse:
        import duckdb

        with duckdb.connect(str(args.warehouse), read_only=True) as conn:
            conn.sql("SELECT * FROM core.review_queue ORDER BY event_id").pl().write_parquet(queue)
    elif args.queue:
        queue.write_bytes(args.queue.read_bytes())
    else:
        synthetic_queue(args.rows).write_parquet(queue)
    print(f"queue: {pl.scan_parquet(queue).select(pl.len()).collect().item():,} rows ({'synthetic' if not (args.warehouse or args.queue) else 'real'})")
    results: dict[str, list[dict]] = {"old": [], "new": []}
    for i in range(args.repeat):
        for variant in ("old", "new"):
            cmd = [sys.executable, "-m", "bench.review_export_bench", "--before", args.before,
                   "--child", variant, str(queue), str(work / f"{variant}{i}")]
            proc = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
            results[variant].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"{'':4} {'cpu s (best/median)':>22} {'wall s (best/median)':>22} {'peak MiB':>9}")
    for variant, runs in results.items():
        cpu = sorted(r["cpu"] for r in runs)
        wall = sorted(r["wall"] for r in runs)
        peak = max(r["peak_mib"] for r in runs)
        print(f"{variant:4} {cpu[0]:10.2f} / {cpu[len(cpu) // 2]:<10.2f} {wall[0]:10.2f} / {wall[len(wall) // 2]:<10.2f}"
              f" {peak:9.0f}")
    old, new = work / "old0", work / "new0"
    assert (old / "review_queue.csv").read_bytes() == (new / "review_queue.csv").read_bytes(), "CSV differs"
    assert _members(old / "review_queue.xlsx") == _members(new / "review_queue.xlsx"), "workbook contents differ"
    same = all((work / f"new{i}" / "review_queue.xlsx").read_bytes() == (new / "review_queue.xlsx").read_bytes()
               for i in range(args.repeat))
    sizes = {v: (work / f"{v}0" / "review_queue.xlsx").stat().st_size / 2**20 for v in ("old", "new")}
    print(f"same CSV bytes, same workbook members; new writer deterministic: {same}; "
          f"xlsx MiB old {sizes['old']:.1f}, new {sizes['new']:.1f}")
    print(f"outputs kept in {work}")


if __name__ == "__main__":
    main()
