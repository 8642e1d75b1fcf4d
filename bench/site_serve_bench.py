"""Public pages served on request against the same pages as static files, side by side.

    python -m bench.site_serve_bench [--compounds 20000] [--clients 50] [--requests 20000]

Builds a synthetic publication (``public_tables`` + ``write_publication``: compounds with
categories, 12 months and a plaque each), then loads two real uvicorn servers in turn with
``--clients`` concurrent keep-alive clients requesting random compound pages (80%), plaque
pages (15%) and the index (5%):

- served: ``python -m intake serve --site <publication>`` (pages rendered on request);
- static: today's way, the same pages exported to files (``reports.site.render``) and served
  by Starlette's ``StaticFiles`` under the same uvicorn.

Prints the publication's build time and size and, per server, throughput and latency
percentiles as JSON. Charts (``*.trend.svg``) are a separate image request and are timed on
their own (first render and cached).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 23)
GROUPS = {"暴力": "暴力类", "盗窃": "盗窃类", "诈骗": "诈骗类", "黄赌毒": "黄赌毒类", "治安": "治安类", "纠纷": "纠纷类"}


def synthetic_publication(folder: Path, n: int, seed: int = 7) -> Path:
    """A publication of ``n`` compounds in ``folder`` (built through the real code path)."""
    from plaques.keys import DEMO_SECRET, Keyring, SigningKey
    from reports.site_data import public_rules, public_tables, trend_months
    from reports.site_store import FILE_NAME, write_publication
    from scoring.rules import load_rules

    rng = random.Random(seed)
    ids = [f"XM{i:06d}" for i in range(n)]
    districts = ["思明区", "湖里区", "集美区", "海沧区", "同安区", "翔安区"]
    compounds = pl.DataFrame({
        "compound_id": ids, "name": [f"小区{i}号" for i in range(n)], "aliases": [None] * n,
        "district": [districts[i % 6] for i in range(n)], "district_code": [None] * n,
        "street": [f"街道{i % 300}" for i in range(n)], "community": [f"社区{i % 1500}" for i in range(n)],
        "grid_code": [None] * n, "address": [f"某路{i}号" for i in range(n)], "households": [300] * n,
        "population": [900] * n, "lon": [118.1] * n, "lat": [24.5] * n, "coord_sys": ["WGS84"] * n,
    })
    stars = [rng.choice([3, 4, 5, 5]) for _ in ids]
    ratings = pl.DataFrame({
        "compound_id": ids, "name": compounds["name"], "district": compounds["district"], "street": compounds["street"],
        "safety_index": [55.0 + 8 * s + rng.random() for s in stars], "stars": stars, "status": ["rated"] * n,
        "rules": [None] * n, "ruleset_version": ["bench"] * n, "as_of": [AS_OF] * n,
    }, schema_overrides={"stars": pl.Int8, "rules": pl.String})
    stats = pl.DataFrame([(c, AS_OF, g, rng.choice([1, 2, 3, 5, 9])) for c in ids for g in rng.sample(list(GROUPS), 3)],
                         schema=["compound_id", "as_of", "category_group", "n"], orient="row")
    months = trend_months(AS_OF)
    monthly = pl.DataFrame([(c, AS_OF, m, rng.choice([0, 0, 1, 2, 4]), 70.0 + rng.random() * 20)
                            for c in ids for m in months],
                           schema=["compound_id", "as_of", "month", "n_events", "safety_index"], orient="row")
    serials = [f"350200-{c}-01" for c in ids]
    plaques = pl.DataFrame({
        "serial": serials, "compound_id": ids, "stars": stars, "rating_year": [2026] * n,
        "issued_on": [AS_OF - timedelta(days=90)] * n, "status": ["active"] * n,
        "status_changed_on": [AS_OF - timedelta(days=90)] * n, "reason": ["issued"] * n, "batch_id": ["B1"] * n,
        "issue_reason": [None] * n,
    }, schema_overrides={"stars": pl.Int8, "issue_reason": pl.String})
    rules = load_rules()
    tables = public_tables(
        as_of=AS_OF, ratings=ratings, compounds=compounds, stats=stats, monthly=monthly, history=ratings,
        suppress_below=rules.public.suppress_below, group_labels=GROUPS,
        downgrade_labels={k: v.label for k, v in rules.downgrade.items()}, plaques=plaques,
        plaque_paths={s: Keyring(SigningKey.of(DEMO_SECRET)).url("", s) for s in serials})
    folder.mkdir(parents=True, exist_ok=True)
    return write_publication(folder / FILE_NAME, tables, {
        "as_of": AS_OF.isoformat(), "suppress_below": str(rules.public.suppress_below), "demo": "1",
        "rules": public_rules(rules)})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    return round(values[min(len(values) - 1, int(q * len(values)))], 2) if values else float("nan")


async def _load(url: str, paths: list[str], clients: int) -> dict:
    todo = iter(paths)
    latencies: list[float] = []
    failed = 0

    async def client() -> None:
        nonlocal failed
        async with httpx.AsyncClient(base_url=url, timeout=30) as c:
            for path in todo:
                t0 = time.perf_counter()
                r = await c.get(path)
                latencies.append((time.perf_counter() - t0) * 1000)
                failed += r.status_code != 200

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    seconds = time.perf_counter() - start
    lat = sorted(latencies)
    return {"requests": len(lat), "failed": failed, "per_second": round(len(lat) / seconds, 1),
            "p50_ms": _pct(lat, 0.5), "p95_ms": _pct(lat, 0.95), "p99_ms": _pct(lat, 0.99)}


def _serve(cmd: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/index.html", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {' '.join(cmd)}")


# Today's static serving as `safestar serve --site` did it: StaticFiles behind the service's
# own middleware (gzip, the JSON request log).
STATIC_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from intake.logs import RequestLog, configure_logging
configure_logging()
app = Starlette(routes=[Mount("/", StaticFiles(directory=sys.argv[1], html=True))])
app.add_middleware(GZipMiddleware, minimum_size=1024)
app.add_middleware(RequestLog)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=False, log_level="warning")
"""


def main(argv: list[str] | None = None) -> int:
    from intake.app import create_app  # noqa: F401  (fail early when the service cannot load)
    from reports.site import render
    from reports.site_store import Publication

    ap = argparse.ArgumentParser(prog="python -m bench.site_serve_bench")
    ap.add_argument("--compounds", type=int, default=20000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--charts", type=int, default=20, help="chart images timed on their own")
    args = ap.parse_args(argv)
    out: dict = {"compounds": args.compounds, "clients": args.clients}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        path = synthetic_publication(tmp / "pub", args.compounds)
        out["publication_seconds"] = round(time.perf_counter() - t0, 1)
        out["publication_mib"] = round(path.stat().st_size / 2**20, 1)
        pub = Publication(path)
        rng = random.Random(1)
        slugs, plaques = pub.slugs(), pub.plaque_paths()
        paths = [("/index.html" if (x := rng.random()) < 0.05 else
                  rng.choice(plaques) if x < 0.20 else f"/c/{rng.choice(slugs)}.html") for _ in range(args.requests)]
        # Today's way: every page a file, served by StaticFiles (the same uvicorn).
        static = tmp / "static"
        t0 = time.perf_counter()
        for p in set(paths):
            f = static / p.lstrip("/")
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(render(pub, p).body, encoding="utf-8")
        out["static_files_written_seconds"] = round(time.perf_counter() - t0, 1)
        for name, cmd in (
            ("served", [sys.executable, "-m", "intake", "serve", "--site", str(path), "--db", str(tmp / "i.sqlite"),
                        "--no-rate-limit", "--port", "{port}"]),
            ("static", [sys.executable, "-c", STATIC_APP, str(static), "{port}"]),
        ):
            port = free_port()
            proc = _serve([c.replace("{port}", str(port)) for c in cmd], port)
            try:
                url = f"http://127.0.0.1:{port}"
                asyncio.run(_load(url, paths[:500], args.clients))  # warm up the connections
                out[name] = asyncio.run(_load(url, paths, args.clients))
                if name == "served":
                    charts = [f"/c/{s}.trend.svg" for s in rng.sample(slugs, args.charts)]
                    cold = asyncio.run(_load(url, charts, 1))
                    warm = asyncio.run(_load(url, charts, 1))
                    out["chart_first_ms_p50"], out["chart_cached_ms_p50"] = cold["p50_ms"], warm["p50_ms"]
            finally:
                proc.terminate()
                proc.wait(10)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
