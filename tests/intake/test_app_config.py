"""create_app's configuration: errors for unusable folders, CORS for CDN-hosted pages."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from intake.app import create_app


def test_unusable_publications_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        create_app(site_dir=tmp_path / "nope", db_path=tmp_path / "i.sqlite")
    with pytest.raises(FileNotFoundError, match="no publication"):
        create_app(site_dir=tmp_path, db_path=tmp_path / "i.sqlite")
    (tmp_path / "public.sqlite").write_text("not a database")
    with pytest.raises(ValueError, match="not a SafeStar publication"):
        create_app(site_dir=tmp_path, db_path=tmp_path / "i.sqlite")
    with pytest.raises(ValueError, match="compound list"):
        create_app(site_dir=None, db_path=tmp_path / "i.sqlite")
    with pytest.raises(FileNotFoundError, match="folder"):
        create_app(site_dir=None, db_path=tmp_path / "no" / "i.sqlite", compound_ids=["A"])


def test_a_publication_of_an_older_version_is_refused_in_one_line(tmp_path):
    """Finding: a publication written before the needs columns opened, and then every
    compound page was a 500 with a logged traceback (80% of a load test's answers)."""
    import sqlite3
    import subprocess
    import sys

    from tests.intake.live import ROOT
    from tests.site import frames

    path = frames.publication(tmp_path / "pub")
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE compounds DROP COLUMN needs_received")
    with pytest.raises(ValueError, match="another version of SafeStar .*compounds.needs_received"):
        create_app(site_dir=path, db_path=tmp_path / "i.sqlite")
    run = subprocess.run([sys.executable, "-m", "intake", "serve", "--site", str(path), "--db", str(tmp_path / "i.sqlite")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0, run.stderr
    assert run.stderr.startswith("error: ") and "safestar run" in run.stderr and "Traceback" not in run.stderr


def test_cors_only_for_configured_origins(tmp_path):
    app = create_app(site_dir=None, db_path=tmp_path / "i.sqlite", compound_ids=["A"],
                     cors_origins=["https://cdn.example.cn"])
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}

    async def calls():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return (await c.options("/api/needs", headers={"Origin": "https://cdn.example.cn", **pre}),
                    await c.options("/api/needs", headers={"Origin": "https://evil.example", **pre}),
                    await c.post("/api/needs", json={"compound_id": "A", "category": "其他", "text": "测试"}))

    ok, bad, r = asyncio.run(calls())
    assert ok.headers.get("access-control-allow-origin") == "https://cdn.example.cn"
    assert "access-control-allow-origin" not in bad.headers
    assert r.status_code == 201 and r.headers["x-content-type-options"] == "nosniff"


def _publish(out, as_of, ids):
    """Publish a date whose publication knows the compounds ``ids`` (of the five in frames)."""
    from datetime import date

    import polars as pl

    from pipelines.publish import publish
    from tests.site import frames

    d = date.fromisoformat(as_of)
    frames.publication(out / ".staging" / as_of, as_of=d, ratings=frames.ratings(d).filter(pl.col("compound_id").is_in(ids)),
                       compounds=frames.compounds().filter(pl.col("compound_id").is_in(ids)))
    publish(out, as_of)


def test_the_app_follows_the_latest_publication_without_a_restart(tmp_path):
    out = tmp_path / "out"
    _publish(out, "2026-11-22", ["XM-001"])
    app = create_app(site_dir=None, out_dir=out, db_path=tmp_path / "i.sqlite")

    async def calls():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            before = (await c.get("/"), await c.get("/c/XM-002.html"),
                      await c.post("/api/needs", json={"compound_id": "XM-002", "category": "其他", "text": "x"}))
            _publish(out, "2026-11-23", ["XM-001", "XM-002"])
            after = (await c.get("/"), await c.get("/c/XM-002.html"),
                     await c.post("/api/needs", json={"compound_id": "XM-002", "category": "其他", "text": "x"}))
            return before, after

    (index, page, need), (index2, page2, need2) = asyncio.run(calls())
    assert "2026年11月22日" in index.text and page.status_code == 404 and need.status_code == 404
    assert "2026年11月23日" in index2.text and page2.status_code == 200 and need2.status_code == 201
    assert index.headers["etag"] != index2.headers["etag"]


def test_a_route_that_fails_answers_a_json_500_with_the_headers_and_logs_it(tmp_path):
    """Finding: unhandled errors were bare 500s without the security headers. Any route,
    including ones other modules add later, gets the JSON 500 and the headers."""
    import io
    import json

    from starlette.routing import Route

    from intake.logs import configure_logging, logger
    from tests.intake.conftest import has_security_headers

    def boom(request):
        raise RuntimeError("a bug in a route")

    app = create_app(site_dir=None, db_path=tmp_path / "i.sqlite", compound_ids=["A"])
    app.router.routes.insert(0, Route("/boom", boom))
    stream = io.StringIO()
    configure_logging()
    handler = logger.handlers[-1]
    old = handler.setStream(stream)  # this test's stream, whichever test configured logging first

    async def call():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.get("/boom")

    try:
        r = asyncio.run(call())
    finally:
        handler.setStream(old)
    assert r.status_code == 500 and r.json()["error"] == "internal" and has_security_headers(r)
    [line] = [json.loads(l) for l in stream.getvalue().splitlines() if "/boom" in l]
    assert line["status"] == 500 and line["level"] == "error" and "a bug in a route" in line["exc"]


def test_forwarded_headers_are_ignored_without_trusted_proxies(tmp_path):
    from intake.ratelimit import RateLimit

    app = create_app(site_dir=None, db_path=tmp_path / "i.sqlite", compound_ids=["A"],
                     rate_limit=RateLimit(3, 0.01), trusted_proxies=[])
    need = {"compound_id": "A", "category": "其他", "text": "测试"}

    async def calls():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return [(await c.post("/api/needs", json=need, headers={"X-Forwarded-For": f"10.9.0.{i}"})).status_code
                    for i in range(6)]

    assert asyncio.run(calls()) == [201, 201, 201, 429, 429, 429]


def test_settings_errors_name_the_key(tmp_path):
    from intake.settings import DEFAULT_INTAKE_CONFIG, load_intake_settings

    assert load_intake_settings().checkins.count_interval_hours > 0
    bad = tmp_path / "intake.yaml"
    bad.write_text(DEFAULT_INTAKE_CONFIG.read_text(encoding="utf-8").replace("count_interval_hours: 4",
                                                                              "count_interval_hours: -1"))
    with pytest.raises(ValueError, match=r"checkins\.count_interval_hours"):
        load_intake_settings(bad)
    bad.write_text("trusted_proxies: [nonsense]\n" + DEFAULT_INTAKE_CONFIG.read_text(encoding="utf-8")
                   .replace("trusted_proxies: []", ""))
    with pytest.raises(ValueError, match="trusted_proxies"):
        load_intake_settings(bad)
    with pytest.raises(ValueError, match="cannot read"):
        load_intake_settings(tmp_path / "missing.yaml")
