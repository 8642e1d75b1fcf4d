"""Load benchmark of the needs workflow: staff and residents at once on a large intake database.

    python -m bench.staff_load [--needs 1000000] [--staff 50] [--residents 200] [--seconds 60]
                               [--staff-think 1.0] [--resident-think 2.0] [--db PATH] [--keep]
                               [--checkpoint-seconds S]

Builds an intake database holding ``--needs`` needs (with their events and cached state,
in SQL: a recursive CTE, no Python loop per need) on a city of 600 grids in 60 streets and
6 districts, 20,000 compounds; starts a real uvicorn server on it (one process, the
service's own uvicorn configuration, as in production); then ``--staff`` signed-in staff
(grid workers, street and district supervisors) work their queues — queue page, a need's
page, an action — while ``--residents`` residents submit needs, open their receipts and
rate closed needs. Afterwards every acknowledged action is counted in the database:
nothing may be lost. Prints latency percentiles per kind of request as JSON.

The model: each person is a closed loop with think time (a uniform 0.5–1.5 × the mean
between steps), as people work: a grid worker does not open the next page before this one
has loaded. While requests stay far shorter than the think times (≈1 s, ≈2 s) the loop
hardly holds arrivals back, and 250 people make ≈130 requests a second; when answers take
seconds (a starved server) fewer requests are offered, which the requests/s figure shows. The clients are ``bench.http_client`` (keep-alive connections, the C
parser): a load generator in Python shares the machine's 2 cores with the server, and
with httpx it spent more CPU per request than the server did. The figures say how much of
the time was the machine's: CPU milliseconds per request of server and client, and how late
each process's event loop ran (``bench.loop_lag``).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httptools
import httpx

from bench.http_client import Client
from bench.loop_lag import LoopLag, load as load_lag, schedstat, summary as lag_summary
from tests.intake.live import server_process

DISTRICTS = [("S", "思明区"), ("H", "湖里区"), ("J", "集美区"), ("X", "翔安区"), ("T", "同安区"), ("Q", "海沧区")]
STREETS_PER_DISTRICT, GRIDS_PER_STREET, COMPOUNDS = 10, 10, 20_000
CATEGORIES = ["治安隐患", "消防安全", "防范诈骗", "矛盾纠纷", "邻里求助", "法律咨询", "其他"]
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_REF = re.compile(r'/staff/needs/(N\d{8}-\d+)')
_ACTION = re.compile(r'name="action" value="([a-z_]+)"')
# A connection error, a timeout or a garbled answer: counted, never fatal to the run.
TRANSPORT = (OSError, asyncio.TimeoutError, httptools.HttpParserError)


def _grids() -> list[tuple[str, str, str]]:
    """(grid code, street, district) for the bench city."""
    out = []
    for letter, district in DISTRICTS:
        for s in range(STREETS_PER_DISTRICT):
            street = f"{district[:2]}第{s + 1}街道"
            out += [(f"{letter}{chr(97 + s)}{g + 1:03d}", street, district) for g in range(GRIDS_PER_STREET)]
    return out


def cls(x: str) -> str:
    """A need's class 0..32 from its id, scattered so every grid gets some of each."""
    return f"(({x}) * 2654435761 % 4294967291 % 33)"


def build(db: Path, n_needs: int) -> dict:
    """Create the database: directory, staff, ``n_needs`` needs with consistent events."""
    import polars as pl

    from intake import store, workflow
    from intake.staff_directory import load_directory
    from intake.vocab import local_now

    grids = _grids()
    registry = pl.DataFrame({
        "compound_id": [f"B{i:05d}" for i in range(COMPOUNDS)],
        "grid_code": [grids[i % len(grids)][0] for i in range(COMPOUNDS)],
        "community": [f"{grids[i % len(grids)][1]}社区" for i in range(COMPOUNDS)],
        "street": [grids[i % len(grids)][1] for i in range(COMPOUNDS)],
        "district": [grids[i % len(grids)][2] for i in range(COMPOUNDS)],
    })
    streets = sorted({(s, d) for _, s, d in grids})
    staff = pl.DataFrame(
        [(f"g_{code}", f"网格员{code}", "grid_worker", None, code, None, None, None) for code, _, _ in grids]
        + [(f"s_{i:02d}", f"街道督办{i}", "street_supervisor", None, None, s, None, None) for i, (s, _) in enumerate(streets)]
        + [(f"d_{letter}", f"区督办{letter}", "district_supervisor", None, None, None, d, None) for letter, d in DISTRICTS]
        + [("c_1", "市督办", "city_supervisor", None, None, None, None, None)]
        + [(f"p_{letter}", f"{d}派出所", "department", f"{d}公安分局", None, None, d, "消防安全|防范诈骗")
           for letter, d in DISTRICTS],
        schema={c: pl.String for c in ("staff_id", "name", "role", "unit", "grids", "streets", "districts", "categories")},
        orient="row")
    conn = store.connect(db)
    load_directory(conn, staff, registry)
    now = local_now().replace(microsecond=0)
    params = {"n": n_needs, "now": now.strftime("%Y-%m-%d %H:%M:%S"), "compounds": COMPOUNDS}
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    # 3% open (the last two days; due in three days), 3% resolved (waiting for a check),
    # 3% closed (waiting for a rating), the rest rated, spread over the past year.
    conn.execute(f"""
        WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n),
        t AS (SELECT i, CASE WHEN {cls('i')} = 0 THEN (i * 7919) % 172800 ELSE 172800 + (i * 7919) % 31363200 END AS age
              FROM seq)
        INSERT INTO needs (id, compound_id, category, text, contact, receipt_key, created_at, local_date)
        SELECT i, 'B' || printf('%05d', i % :compounds),
               CASE i % 7 {' '.join(f"WHEN {k} THEN '{c}'" for k, c in enumerate(CATEGORIES))} END,
               '楼道灯坏了，请尽快处理', CASE WHEN i % 5 = 0 THEN '13800000000' END, lower(hex(randomblob(9))),
               strftime('%Y-%m-%dT%H:%M:%S+08:00', :now, '-' || age || ' seconds'),
               date(:now, '-' || age || ' seconds')
        FROM t""", params)
    conn.execute(f"""
        INSERT INTO need_state (need_id, state, level, unit, deadline, reopen_count, resolved_by, category,
                                grid_code, street, district, escalations, last_event_id)
        SELECT n.id,
               CASE WHEN {cls('n.id')} = 0 THEN CASE WHEN n.id % 2 = 0 THEN 'assigned' ELSE 'in_progress' END
                    WHEN {cls('n.id')} = 1 THEN 'resolved' WHEN {cls('n.id')} = 2 THEN 'closed' ELSE 'rated' END,
               'grid', a.grid_code,
               strftime('%Y-%m-%dT%H:%M:%S+08:00', substr(n.created_at, 1, 19), '+3 days'),
               0, CASE WHEN {cls('n.id')} <> 0 THEN 'g_' || a.grid_code END, n.category, a.grid_code, a.street,
               a.district, 0, 0
        FROM needs n JOIN compound_areas a ON a.compound_id = n.compound_id""")
    steps = [("register", None, "registered", "1"), ("assign", "registered", "assigned", "1"),
             ("accept", "assigned", "in_progress", "s.state <> 'assigned'"),
             ("resolve", "in_progress", "resolved", "s.state IN ('resolved', 'closed', 'rated')"),
             ("close", "resolved", "closed", "s.state IN ('closed', 'rated')"),
             ("rate", "closed", "rated", "s.state = 'rated'")]
    for k, (action, frm, to, where) in enumerate(steps):
        actor = {"register": "'system'", "assign": "'system'", "rate": "'resident'"}.get(action, "'g_' || s.grid_code")
        role = {"register": "'system'", "assign": "'system'", "rate": "'resident'"}.get(action, "'grid_worker'")
        if action == "close":
            actor, role = "'s_bench'", "'street_supervisor'"
        capacity = {"register": "system", "assign": "system", "rate": "resident", "close": "supervisor"}.get(
            action, "handler")
        conn.execute(f"""
            INSERT INTO need_events (need_id, at, actor_id, actor_role, capacity, action, from_state, to_state,
                                     level, unit, deadline, reopen_count, resolved_by, note, rating)
            SELECT s.need_id, strftime('%Y-%m-%dT%H:%M:%S+08:00', substr(n.created_at, 1, 19), '+{k} hours'),
                   {actor}, {role}, '{capacity}', '{action}', {f"'{frm}'" if frm else 'NULL'}, '{to}',
                   'grid', s.grid_code, s.deadline, 0, {"s.resolved_by" if k >= 3 else "NULL"},
                   {"'已处理'" if action == "resolve" else "NULL"}, {"'满意'" if action == "rate" else "NULL"}
            FROM need_state s JOIN needs n ON n.id = s.need_id WHERE {where} ORDER BY s.need_id""")
    conn.execute("UPDATE need_state SET last_event_id = (SELECT max(id) FROM need_events e"
                 " WHERE e.need_id = need_state.need_id)")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    build_s = time.perf_counter() - t0
    sample = [r[0] for r in conn.execute("SELECT need_id FROM need_state ORDER BY random() LIMIT 200").fetchall()]
    for need_id in sample:
        workflow.check_cache(conn, need_id)
    conn.close()
    return {"needs": n_needs, "build_seconds": round(build_s, 1), "grids": len(grids),
            "staff": staff.height, "compounds": COMPOUNDS}


def serve(db: Path, port: int, checkpoint_seconds: float | None = None, lag_file: Path | None = None) -> None:
    """The server process: the real app on the bench database (no site, no rate limit) under
    the service's own uvicorn configuration, one process as in production.
    ``checkpoint_seconds`` overrides the config (0: SQLite's automatic checkpoint inside
    commits). The event loop's lateness is written to ``lag_file`` every second."""
    import uvicorn
    from uvicorn._compat import asyncio_run

    from intake.app import create_app
    from intake.logs import configure_logging
    from intake.server import uvicorn_config
    from intake.settings import DatabaseSettings, load_intake_settings

    configure_logging()
    settings = load_intake_settings()
    if checkpoint_seconds is not None:
        settings = settings.model_copy(update={"database": DatabaseSettings(checkpoint_seconds=checkpoint_seconds)})
    app = create_app(site_dir=None, db_path=db, rate_limit=None, settings=settings,
                     compound_ids=[f"B{i:05d}" for i in range(COMPOUNDS)])
    config = uvicorn_config(app, "127.0.0.1", port, settings)
    lag = LoopLag(save_to=lag_file)

    async def main():
        watch = asyncio.create_task(lag.watch())
        await uvicorn.Server(config).serve()
        watch.cancel()

    asyncio_run(main(), loop_factory=config.get_loop_factory())


class Stats:
    def __init__(self):
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.acked: Counter = Counter()
        self.errors: Counter = Counter()

    async def timed(self, kind: str, call):
        t = time.perf_counter()
        r = await call
        self.ms[kind].append((time.perf_counter() - t) * 1000)
        return r


async def _sign_in(port: int, token: str, stats: Stats) -> Client | None:
    c = Client("127.0.0.1", port)
    form = await c.get("/staff/login")
    r = await stats.timed("login", c.post_form("/staff/login", {"token": token,
                                                                "csrf": _CSRF.search(form.text).group(1)}))
    if r.status != 303:
        stats.errors["login"] += 1
        await c.close()
        return None
    return c


async def _staff_client(c: Client, stop, stats: Stats, think: float, rng: random.Random):
    try:
        while time.monotonic() < stop:
            try:
                await _staff_step(c, stats, think, rng)
            except TRANSPORT as exc:
                stats.errors[f"transport_{type(exc).__name__}"] += 1
    finally:
        await c.close()


async def _staff_step(c: Client, stats: Stats, think: float, rng: random.Random):
    await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
    q = await stats.timed("queue", c.get("/staff/queue"))
    refs = _REF.findall(q.text)
    if q.status != 200 or not refs:
        stats.errors["queue"] += q.status != 200
        return
    await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
    ref = rng.choice(refs[:20])
    d = await stats.timed("detail", c.get(f"/staff/needs/{ref}"))
    actions = _ACTION.findall(d.text)
    if d.status != 200 or not actions:
        return
    action = next((a for a in ("accept", "close") if a in actions), None) or rng.choice(
        [a for a in actions if a in ("record", "resolve")] or actions)
    data = {"csrf": _CSRF.search(d.text).group(1), "action": action, "note": "压测处置记录"}
    await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
    r = await stats.timed("action", c.post_form(f"/staff/needs/{ref}", data))
    if r.status == 303:
        stats.acked[action] += 1
    else:
        stats.errors[f"action_{r.status}"] += 1


async def _resident(port: int, keys, stop, stats: Stats, think: float, rng: random.Random):
    c = Client("127.0.0.1", port)
    try:
        while time.monotonic() < stop:
            try:
                await _resident_step(c, keys, stats, think, rng)
            except TRANSPORT as exc:
                stats.errors[f"transport_{type(exc).__name__}"] += 1
    finally:
        await c.close()


async def _resident_step(c: Client, keys, stats: Stats, think: float, rng: random.Random):
    await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
    body = {"compound_id": f"B{rng.randrange(COMPOUNDS):05d}", "category": rng.choice(CATEGORIES),
            "text": "压测：小区路灯不亮"}
    r = await stats.timed("submit", c.post_json("/api/needs", body))
    if r.status != 201:
        stats.errors[f"submit_{r.status}"] += 1
        return
    stats.acked["submit"] += 1
    await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
    r = await stats.timed("receipt", c.get(r.json()["receipt_url"]))
    stats.errors["receipt"] += r.status != 200
    if keys:
        ref, key = keys.pop()
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
        r = await stats.timed("rate", c.post_form(f"/api/needs/{ref}/rating", {"key": key, "rating": "满意"}))
        if r.status == 303:
            stats.acked["rate"] += 1
        else:
            stats.errors[f"rate_{r.status}"] += 1


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else float("nan")


def run(db: Path, n_staff: int, n_residents: int, seconds: float, staff_think: float, resident_think: float,
        checkpoint_seconds: float | None = None) -> dict:
    from intake.staff_auth import issue_token
    from intake.store import connect
    from intake.vocab import need_reference
    from intake.workflow_config import load_needs_config

    rng = random.Random(7)
    conn = connect(db)
    workers = [r[0] for r in conn.execute("SELECT staff_id FROM staff WHERE role = 'grid_worker' ORDER BY staff_id")]
    streets = [r[0] for r in conn.execute("SELECT staff_id FROM staff WHERE role = 'street_supervisor' ORDER BY staff_id")]
    districts = [r[0] for r in conn.execute("SELECT staff_id FROM staff WHERE role = 'district_supervisor'")]
    n_sup = max(1, n_staff // 8)
    chosen = rng.sample(workers, n_staff - n_sup - 1) + rng.sample(streets, n_sup) + districts[:1]
    cfg = load_needs_config()
    tokens = {s: issue_token(conn, s, cfg) for s in chosen}
    keys = [(need_reference(day, i), k) for i, day, k in conn.execute(
        "SELECT n.id, n.local_date, n.receipt_key FROM needs n JOIN need_state s ON s.need_id = n.id"
        " WHERE s.state = 'closed' ORDER BY n.id DESC LIMIT 5000")]
    before_event = conn.execute("SELECT max(id) FROM need_events").fetchall()[0][0]
    before_need = conn.execute("SELECT max(id) FROM needs").fetchall()[0][0]
    conn.close()
    log, lag_file = db.with_suffix(".server.log"), db.with_suffix(".server-lag.json")
    lag_file.unlink(missing_ok=True)
    cmd = ["bench.staff_load", "serve", "--db", str(db), "--lag-file", str(lag_file)]
    if checkpoint_seconds is not None:
        cmd += ["--checkpoint-seconds", str(checkpoint_seconds)]
    with server_process(cmd, log, start_seconds=60) as (url, server):
        port = httpx.URL(url).port
        stats = Stats()

        async def main():
            # Staff sign in first, a few at a time (scrypt is deliberately slow); the
            # measured window starts when everyone is in.
            sem = asyncio.Semaphore(4)

            async def one(s):
                async with sem:
                    return await _sign_in(port, tokens[s], stats)

            clients = [c for c in await asyncio.gather(*(one(s) for s in chosen)) if c is not None]
            window.update(t0=time.perf_counter(), c0=time.process_time(), s0=_cpu_seconds(server.pid),
                          e0=time.time())
            window["sched0"] = schedstat(server.pid)
            watch = asyncio.create_task(client_lag.watch())
            stop = time.monotonic() + seconds
            tasks = [_staff_client(c, stop, stats, staff_think, random.Random(i)) for i, c in enumerate(clients)]
            tasks += [_resident(port, keys, stop, stats, resident_think, random.Random(1000 + i))
                      for i in range(n_residents)]
            await asyncio.gather(*tasks)
            watch.cancel()
            window["e1"] = time.time()
            window["sched1"] = schedstat(server.pid)

        window: dict[str, float] = {}
        client_lag = LoopLag()
        asyncio.run(main())
        wall = time.perf_counter() - window["t0"]
        client_cpu = time.process_time() - window["c0"]
        server_cpu = _cpu_seconds(server.pid) - window["s0"]
    conn = sqlite3.connect(db)
    stored = Counter(dict(conn.execute(
        "SELECT action, count(*) FROM need_events WHERE id > ? AND action NOT IN ('register', 'assign', 'overdue')"
        " GROUP BY action", (before_event,)).fetchall()))
    stored["submit"] = conn.execute("SELECT count(*) FROM needs WHERE id > ?", (before_need,)).fetchone()[0]
    registered = conn.execute("SELECT count(*) FROM need_events WHERE id > ? AND action = 'register'",
                              (before_event,)).fetchone()[0]
    conn.close()
    requests = sum(len(v) for k, v in stats.ms.items() if k != "login")
    server_ms = _server_ms(log)
    return {
        "staff": n_staff, "residents": n_residents, "seconds": round(wall, 1),
        "requests": requests, "per_second": round(requests / wall, 1),
        # CPU the server and this client process used (the machine is shared: wall-clock
        # latencies include waiting for a core).
        "server_cpu_seconds": round(server_cpu, 1), "client_cpu_seconds": round(client_cpu, 1),
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, requests), 2),
        "client_cpu_ms_per_request": round(1000 * client_cpu / max(1, requests), 2),
        "load_average": os.getloadavg(),
        # How late each event loop ran a 5 ms timer during the window: a request arriving
        # then waited that long before its handler started (server), or before its
        # response was read (client).
        "server_loop_lag_ms": lag_summary(load_lag(lag_file), window["e0"], window["e1"]),
        "client_loop_lag_ms": lag_summary(client_lag.samples, window["e0"], window["e1"]),
        "slow_checkpoints": _slow_checkpoints(log),
        # The server's main thread: seconds on a CPU, and runnable but waiting for one.
        "server_sched_s": {"on_cpu": round(window["sched1"][0] - window["sched0"][0], 1),
                           "waiting_for_cpu": round(window["sched1"][1] - window["sched0"][1], 1)},
        "latency_ms": {k: {"n": len(v), "p50": _pct(v, 0.5), "p95": _pct(v, 0.95), "p99": _pct(v, 0.99),
                           "max": round(max(v), 1)} for k, v in sorted(stats.ms.items())},
        # The same requests as timed inside the server (RequestLog): without the client's own
        # scheduling delays on a shared machine.
        "server_ms": {k: {"n": len(v), "p50": _pct(v, 0.5), "p95": _pct(v, 0.95), "p99": _pct(v, 0.99)}
                      for k, v in sorted(server_ms.items())},
        "acknowledged": dict(stats.acked), "stored": dict(stored), "registered_new": registered,
        "lost": {k: v - stored.get(k, 0) for k, v in stats.acked.items() if v != stored.get(k, 0)},
        "errors": {k: v for k, v in stats.errors.items() if v},
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _slow_checkpoints(log: Path) -> dict:
    """The checkpoints the server logged as slow (over 100 ms), on its own thread."""
    ms = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if '"slow checkpoint"' in line:
            ms.append(json.loads(line)["ms"])
    return {"n": len(ms), "max_ms": max(ms, default=0)}


def _kind(method: str, path: str) -> str | None:
    if path == "/staff/queue":
        return "queue"
    if path.startswith("/staff/needs/"):
        return "detail" if method == "GET" else "action"
    if path == "/api/needs" and method == "POST":
        return "submit"
    if path.startswith("/api/needs/"):
        return "rate" if path.endswith("/rating") else "receipt"
    return None


def _server_ms(log: Path) -> dict[str, list[float]]:
    """Per kind of request, the durations the server logged (one JSON line per request)."""
    out: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        kind = _kind(rec.get("method", ""), rec.get("path", ""))
        if kind and "ms" in rec:
            out[kind].append(float(rec["ms"]))
    return out


def probe(db: Path, rounds: int = 200) -> dict:
    """Service time per kind of request, one at a time through the real app in-process
    (no network, no queueing): what a request costs the server on this database."""
    from starlette.testclient import TestClient

    from intake.app import create_app
    from intake.staff_auth import issue_token
    from intake.store import connect
    from intake.workflow_config import load_needs_config

    rng = random.Random(11)
    conn = connect(db)
    workers = [r[0] for r in conn.execute("SELECT staff_id FROM staff WHERE role = 'grid_worker'")]
    supervisors = [r[0] for r in conn.execute("SELECT staff_id FROM staff WHERE role = 'street_supervisor'")]
    cfg = load_needs_config()
    people = rng.sample(workers, 20) + rng.sample(supervisors, 5)
    tokens = {s: issue_token(conn, s, cfg) for s in people}
    conn.close()
    ms: dict[str, list[float]] = defaultdict(list)
    app = create_app(site_dir=None, db_path=db, rate_limit=None, compound_ids=[f"B{i:05d}" for i in range(COMPOUNDS)])

    def timed(kind, fn):
        t = time.perf_counter()
        r = fn()
        ms[kind].append((time.perf_counter() - t) * 1000)
        return r

    with TestClient(app) as c:
        for i in range(rounds):
            who = people[i % len(people)]
            c.cookies.clear()
            form = c.get("/staff/login")
            c.post("/staff/login", data={"token": tokens[who], "csrf": _CSRF.search(form.text).group(1)},
                   follow_redirects=False)
            q = timed("queue", lambda: c.get("/staff/queue"))
            if who in supervisors:
                timed("area", lambda: c.get("/staff/area"))
            refs = _REF.findall(q.text)
            if refs:
                ref = rng.choice(refs[:20])
                d = timed("detail", lambda: c.get(f"/staff/needs/{ref}"))
                actions = [a for a in _ACTION.findall(d.text) if a != "transfer"]
                if actions:
                    data = {"csrf": _CSRF.search(d.text).group(1), "action": rng.choice(actions), "note": "探测"}
                    timed("action", lambda: c.post(f"/staff/needs/{ref}", data=data, follow_redirects=False))
            body = {"compound_id": f"B{rng.randrange(COMPOUNDS):05d}", "category": rng.choice(CATEGORIES),
                    "text": "探测：路灯不亮"}
            r = timed("submit", lambda: c.post("/api/needs", json=body))
            timed("receipt", lambda: c.get(r.json()["receipt_url"]))
    return {k: {"n": len(v), "p50": _pct(v, 0.5), "p95": _pct(v, 0.95), "p99": _pct(v, 0.99)}
            for k, v in sorted(ms.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.staff_load", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    srv = sub.add_parser("serve")
    srv.add_argument("--db", required=True)
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--lag-file")
    srv.add_argument("--checkpoint-seconds", type=float)
    parser.add_argument("--needs", type=int, default=1_000_000)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--staff-think", type=float, default=1.0, help="mean seconds between a staff member's steps")
    parser.add_argument("--resident-think", type=float, default=2.0, help="mean seconds between a resident's steps")
    parser.add_argument("--db", help="build (or reuse, if it exists) the database here")
    parser.add_argument("--checkpoint-seconds", type=float,
                        help="the server's WAL checkpoint period (default: config; 0: SQLite's automatic checkpoint)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    parser.add_argument("--probe", type=int, metavar="ROUNDS",
                        help="instead of the load run: service time per request, one at a time in-process")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(Path(args.db), args.port, args.checkpoint_seconds, Path(args.lag_file) if args.lag_file else None)
        return 0
    tmp = None
    if args.db:
        db = Path(args.db)
    else:
        tmp = tempfile.mkdtemp(prefix="staff_load_")
        db = Path(tmp) / "intake.sqlite"
    built = None
    if not db.exists():
        print(f"building {args.needs:,} needs in {db} ...", file=sys.stderr)
        built = build(db, args.needs)
        print(json.dumps(built), file=sys.stderr)
    if args.probe:
        print(json.dumps({"probe_ms": probe(db, args.probe), "load_average": os.getloadavg(), "build": built},
                         ensure_ascii=False, indent=1))
        return 0
    result = run(db, args.staff, args.residents, args.seconds, args.staff_think, args.resident_think,
                 args.checkpoint_seconds)
    result["build"] = built
    result["db_mb"] = round(db.stat().st_size / 2**20)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if tmp and not args.keep:
        import shutil
        shutil.rmtree(tmp)
    return 0 if not result["lost"] else 1


if __name__ == "__main__":
    sys.exit(main())
