"""Public pages served on request from a publication under concurrent clients.

    python -m bench.site_serve_bench [--compounds 100000] [--publication PATH] [--clients 50]
                                     [--seconds 20] [--think-ms 0,50] [--runs 1]
                                     [--cache-mib MIB] [--warm]

Builds a synthetic publication (``public_tables`` + ``write_publication``: compounds with
categories, 12 months and a plaque each; or reuses ``--publication`` when it exists), starts
the service as deployed (``python -m intake serve --site``: ``workers`` uvicorn processes of
config/intake.yaml, or ``--workers``), and loads
it with ``wrk`` (a C load generator: it costs the 2 shared cores little, where a Python
client costs more than the server it measures) holding ``--clients`` keep-alive connections.
Requests are drawn from the whole site, 80% compound pages, 15% plaque pages, 5% the index,
uniformly over the compounds: the worst case for the page cache (real traffic repeats
popular pages). Accept-Encoding: gzip, as phones send.

Each ``--think-ms`` value is one measured run: every client waits that long after each
answer before its next request (0: back to back, the server saturated, so latency is
clients ÷ throughput). Reported per run: requests per second, client-side latency
percentiles (wrk), server-side percentiles (the service's own request log over the same
window), CPU milliseconds per request of the server and of wrk, and the load average.
``--cache-mib`` runs the service with another page cache budget (a copy of the policy) and
``--warm`` requests every page of the pool once before measuring. Charts
(``*.trend.svg``) are timed on their own (first render and cached).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import polars as pl

from bench.loop_lag import schedstat

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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    return round(values[min(len(values) - 1, int(q * len(values)))], 2) if values else float("nan")


# wrk's script: a random path of the list per request, gzip accepted, an optional think time,
# and the percentiles printed as one JSON line.
WRK_SCRIPT = """
local paths = {}
for line in io.lines(%(paths)s) do paths[#paths + 1] = line end
wrk.headers["Accept-Encoding"] = "gzip"
math.randomseed(7)
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
%(delay)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %%d, "non_2xx": %%d, "socket_errors": %%d, "p50_ms": %%.2f, "p95_ms": %%.2f, "p99_ms": %%.2f, "max_ms": %%.2f}\\n',
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the service's worker processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").iterdir():
            todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def _tree_cpu(pids: list[int]) -> float:
    return sum(_cpu_seconds(p) for p in pids)


def _tree_sched(pids: list[int]) -> tuple[float, float]:
    got = [schedstat(p) for p in pids]
    return sum(g[0] for g in got), sum(g[1] for g in got)


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _server_ms(log: Path, offset: int) -> tuple[list[float], dict, int]:
    """The request durations the service logged after byte ``offset`` (sorted), the
    requests each worker process answered, and the new offset."""
    with open(log, "rb") as f:
        f.seek(offset)
        data = f.read()
    ms, pids = [], {}
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if "ms" in rec and rec.get("method") == "GET":
            ms.append(float(rec["ms"]))
            pids[rec.get("pid")] = pids.get(rec.get("pid"), 0) + 1
    return sorted(ms), pids, offset + len(data)


def wrk_run(url: str, script: Path, clients: int, seconds: float, server_pid: int, log: Path) -> dict:
    """One wrk run against ``url``: client- and server-side figures over the same window."""
    offset = log.stat().st_size
    load_before = os.getloadavg()[0]
    pids = _tree(server_pid)
    s0, c0, t0 = _tree_cpu(pids), _children_cpu(), time.perf_counter()
    sched0 = _tree_sched(pids)
    proc = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script), url],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    server_cpu, wrk_cpu = _tree_cpu(pids) - s0, _children_cpu() - c0
    sched1 = _tree_sched(pids)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRK ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed: {proc.stderr.strip()[-500:] or proc.stdout[-500:]}")
    client = json.loads(line[4:])
    time.sleep(0.5)  # the log's last lines
    ms, per_worker, _ = _server_ms(log, offset)
    n = client["requests"]
    return {"requests": n, "per_second": round(n / wall, 1), "failed": client["non_2xx"] + client["socket_errors"],
            "client_ms": {k[:-3]: client[k] for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")},
            "server_ms": {"n": len(ms), "p50": _pct(ms, 0.5), "p95": _pct(ms, 0.95), "p99": _pct(ms, 0.99)},
            "requests_per_worker": sorted(per_worker.values(), reverse=True),
            "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, n), 3),
            "wrk_cpu_ms_per_request": round(1000 * wrk_cpu / max(1, n), 3),
            # the server's main threads (every worker): seconds on a CPU, and runnable but waiting for one
            "server_sched_s": {"on_cpu": round(sched1[0] - sched0[0], 1),
                               "waiting_for_cpu": round(sched1[1] - sched0[1], 1)},
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)]}


def _serve(cmd: list[str], port: int, log: Path) -> subprocess.Popen:
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stderr=err, stdout=subprocess.DEVNULL,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {' '.join(cmd)}; see {log}")


async def _warm(port: int, paths: list[str], clients: int) -> None:
    from bench.http_client import Client

    todo = iter(paths)

    async def one() -> None:
        c = Client("127.0.0.1", port)
        for p in todo:
            (await c.get(p)).status
        await c.close()

    await asyncio.gather(*(one() for _ in range(clients)))


async def _chart_ms(url: str, paths: list[str]) -> float:
    lat = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        for p in paths:
            t0 = time.perf_counter()
            r = await c.get(p)
            r.raise_for_status()
            lat.append((time.perf_counter() - t0) * 1000)
    return _pct(sorted(lat), 0.5)


def main(argv: list[str] | None = None) -> int:
    from reports.site_store import Publication

    ap = argparse.ArgumentParser(prog="python -m bench.site_serve_bench")
    ap.add_argument("--compounds", type=int, default=100000)
    ap.add_argument("--publication", help="reuse this public.sqlite (built here first when missing)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--think-ms", default="0", help="comma-separated think times, one measured run each")
    ap.add_argument("--runs", type=int, default=1, help="repeat every think time this often")
    ap.add_argument("--charts", type=int, default=20, help="chart images timed on their own")
    ap.add_argument("--workers", type=int, help="the service's worker processes (default: config/intake.yaml)")
    ap.add_argument("--cache-mib", type=float, help="the service's page cache (default: config/intake.yaml)")
    ap.add_argument("--warm", action="store_true", help="request every page of the pool once before measuring")
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk not found: install it (apt-get install wrk) and run the bench again", file=sys.stderr)
        return 2
    out: dict = {"clients": args.clients, "seconds": args.seconds}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = Path(args.publication) if args.publication else tmp / "pub" / "public.sqlite"
        if not path.exists():
            t0 = time.perf_counter()
            path = synthetic_publication(path.parent, args.compounds)
            out["publication_seconds"] = round(time.perf_counter() - t0, 1)
        out["publication_mib"] = round(path.stat().st_size / 2**20, 1)
        pub = Publication(path)
        out["compounds"] = pub.count()
        rng = random.Random(1)
        slugs, plaques = pub.slugs(), pub.plaque_paths()
        paths = [("/index.html" if (x := rng.random()) < 0.05 else
                  rng.choice(plaques) if x < 0.20 else f"/c/{rng.choice(slugs)}.html") for _ in range(200_000)]
        (tmp / "paths.txt").write_text("\n".join(paths) + "\n", encoding="utf-8")
        port, log = free_port(), tmp / "server.log"
        cmd = [sys.executable, "-m", "intake", "serve", "--site", str(path), "--db", str(tmp / "i.sqlite"),
               "--no-rate-limit", "--port", str(port)]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
            out["workers"] = args.workers
        if args.cache_mib:
            import yaml

            from intake.settings import DEFAULT_INTAKE_CONFIG

            policy = yaml.safe_load(DEFAULT_INTAKE_CONFIG.read_text(encoding="utf-8"))
            policy["site"]["page_cache_mib"] = args.cache_mib
            (tmp / "intake.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
            cmd += ["--config", str(tmp / "intake.yaml")]
            out["cache_mib"] = args.cache_mib
        proc = _serve(cmd, port, log)
        url = f"http://127.0.0.1:{port}"
        try:
            runs = []
            if args.warm:  # every distinct page once, by --clients connections (not measured)
                distinct = sorted(set(paths))
                t0 = time.perf_counter()
                asyncio.run(_warm(port, distinct, args.clients))
                out["warm"] = {"pages": len(distinct), "seconds": round(time.perf_counter() - t0, 1)}
            for k in range(args.runs):
                for think in [float(t) for t in args.think_ms.split(",")]:
                    script = tmp / f"wrk_{think:g}.lua"
                    delay = f"delay = function() return {think:g} end" if think else ""
                    script.write_text(WRK_SCRIPT % {"paths": json.dumps(str(tmp / "paths.txt")), "delay": delay})
                    runs.append({"think_ms": think, **wrk_run(url, script, args.clients, args.seconds, proc.pid, log)})
                    print(json.dumps(runs[-1]), file=sys.stderr)
            out["runs"] = runs
            charts = [f"/c/{s}.trend.svg" for s in rng.sample(slugs, args.charts)]
            out["chart_first_ms_p50"] = asyncio.run(_chart_ms(url, charts))
            out["chart_cached_ms_p50"] = asyncio.run(_chart_ms(url, charts))
        finally:
            proc.terminate()
            proc.wait(30)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
