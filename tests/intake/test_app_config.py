"""create_app's configuration: errors for unusable folders, CORS for CDN-hosted pages."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from intake.app import create_app


def test_unusable_site_folders_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        create_app(site_dir=tmp_path / "nope", db_path=tmp_path / "i.sqlite")
    with pytest.raises(FileNotFoundError, match="search.json"):
        create_app(site_dir=tmp_path, db_path=tmp_path / "i.sqlite")
    (tmp_path / "search.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a SafeStar search index"):
        create_app(site_dir=tmp_path, db_path=tmp_path / "i.sqlite")
    with pytest.raises(ValueError, match="compound list"):
        create_app(site_dir=None, db_path=tmp_path / "i.sqlite")
    with pytest.raises(FileNotFoundError, match="folder"):
        create_app(site_dir=None, db_path=tmp_path / "no" / "i.sqlite", compound_ids=["A"])


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


def _site(out, as_of, ids):
    site = out / as_of / "site"
    site.mkdir(parents=True)
    (site / "index.html").write_text(f"<p>{as_of}</p>", encoding="utf-8")
    (site / "search.json").write_text(
        '{"as_of": "%s", "fields": ["id"], "rows": [%s]}' % (as_of, ",".join(f'["{i}"]' for i in ids)))
    return site


def test_following_the_output_folder_switches_to_the_newest_site(tmp_path):
    from intake.compounds import CompoundList
    from intake.siteroot import SiteRoot

    out = tmp_path / "out"
    old = _site(out, "2026-11-22", ["A"])
    now = [0.0]
    root = SiteRoot(out_dir=out, recheck_seconds=30, clock=lambda: now[0])
    known = CompoundList(lambda: root.current() / "search.json")
    assert root.current() == old and known.has("A") and not known.has("B")
    new = _site(out, "2026-11-23", ["A", "B"])
    now[0] += 10
    assert root.current() == old  # not re-resolved before the recheck interval
    now[0] += 30
    assert root.current() == new and known.has("B") and known.as_of() == "2026-11-23"


def test_app_serves_the_latest_site_of_an_output_folder(tmp_path):
    out = tmp_path / "out"
    _site(out, "2026-11-21", ["A"])
    _site(out, "2026-11-22", ["A", "B"])
    app = create_app(site_dir=None, out_dir=out, db_path=tmp_path / "i.sqlite")

    async def calls():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return (await c.get("/"), await c.post("/api/needs", json={"compound_id": "B", "category": "其他",
                                                                        "text": "x"}))

    index, need = asyncio.run(calls())
    assert "2026-11-22" in index.text and need.status_code == 201


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
