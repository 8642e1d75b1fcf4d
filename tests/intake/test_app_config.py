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
