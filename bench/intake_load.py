"""Load test of the intake service: N needs from C concurrent clients on loopback.

    python -m bench.intake_load [--n 2000] [--concurrency 20] [--compounds 2300]
    python -m bench.intake_load --url http://host:8000 --compound-id XM-001 [--n ...]

Starts a real ``python -m intake serve`` (rate limit off: every client is 127.0.0.1),
submits the needs, then counts the rows in SQLite: none may be lost. Prints throughput
and latency percentiles as JSON.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx


@dataclass
class LoadResult:
    """What one load run measured (latencies in milliseconds)."""

    n: int
    concurrency: int
    ok: int
    failed: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    references: list[str]


def _pct(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


async def _load(base_url: str, n: int, concurrency: int, compound_ids: list[str]) -> LoadResult:
    counter = iter(range(n))
    latencies: list[float] = []
    refs: list[str] = []
    failed = 0

    async def worker(w: int) -> None:
        nonlocal failed
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            for i in counter:
                body = {"compound_id": compound_ids[i % len(compound_ids)], "category": "治安隐患",
                        "text": f"负载测试第{i}条：楼道照明损坏，请物业维修。", "contact": "13800000000"}
                t0 = time.perf_counter()
                try:
                    r = await client.post("/api/needs", json=body)
                    ok = r.status_code == 201
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                if ok:
                    refs.append(r.json()["reference"])
                else:
                    failed += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    seconds = time.perf_counter() - start
    lat = sorted(latencies)
    return LoadResult(n, concurrency, len(refs), failed, round(seconds, 3), round(n / seconds, 1),
                      round(_pct(lat, 0.50), 2), round(_pct(lat, 0.99), 2), round(lat[-1], 2), refs)


def run_load(base_url: str, n: int = 2000, concurrency: int = 20,
             compound_ids: list[str] | None = None) -> LoadResult:
    """Submit ``n`` needs from ``concurrency`` concurrent httpx clients and time them."""
    return asyncio.run(_load(base_url, n, concurrency, compound_ids or ["C0001"]))


def count_needs(db: Path) -> int:
    """Rows in the intake database's needs table."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM needs").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.intake_load")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--compounds", type=int, default=2300)
    ap.add_argument("--url", help="load a running server instead (its rate limit applies; rows not counted)")
    ap.add_argument("--compound-id", action="append", help="with --url: compound ids to submit for")
    args = ap.parse_args(argv)
    if args.url:
        result = run_load(args.url, args.n, args.concurrency, args.compound_id)
        print(json.dumps({k: v for k, v in asdict(result).items() if k != "references"}, ensure_ascii=False))
        return 0 if result.failed == 0 else 1
    with tempfile.TemporaryDirectory() as tmp:
        from bench.site_serve_bench import synthetic_publication
        from tests.intake.live import live_server

        db = Path(tmp) / "intake.sqlite"
        site = synthetic_publication(Path(tmp) / "pub", args.compounds)  # the compounds a need may name
        ids = [f"XM{i:06d}" for i in range(args.compounds)]
        with live_server(site, db, Path(tmp) / "server.log", "--no-rate-limit") as srv:
            result = run_load(srv.url, args.n, args.concurrency, ids)
        stored = count_needs(db)
    out = {k: v for k, v in asdict(result).items() if k != "references"}
    out.update(stored=stored, lost=args.n - stored, unique_refs=len(set(result.references)))
    print(json.dumps(out, ensure_ascii=False))
    return 0 if stored == args.n and result.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
