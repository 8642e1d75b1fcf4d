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
