"""The resident's view in a real headless Chromium at a phone's size, served by uvicorn."""
from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest

from reports.site import render_site
from tests.intake.live import ROOT, live_server
from tests.site import frames

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("SAFESTAR_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
IPHONE = dict(
    viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True, has_touch=True,
    locale="zh-CN",
    user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} missing: apt-get install chromium fonts-noto-cjk"
        if os.environ.get("CI"):
            pytest.fail(msg)  # on CI a browser test must never skip silently
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    site = tmp_path_factory.mktemp("out") / "site"
    render_site(site, **frames.render_kwargs())
    db = tmp_path_factory.mktemp("db") / "intake.sqlite"
    log = tmp_path_factory.mktemp("log") / "server.jsonl"
    with live_server(site, db, log) as srv:
        yield srv


def test_compound_page_on_a_phone(browser, server):
    ctx = browser.new_context(**IPHONE)
    page = ctx.new_page()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(server.url + "/c/XM-001.html")
    assert page.locator("h1").inner_text() == "海湾花园"
    stars = page.get_by_role("img", name="3星（满分5星）")
    assert stars.is_visible() and stars.inner_text().replace("\n", "") == "★★★☆☆"
    groups = page.locator("section", has=page.locator("#h-groups"))
    assert groups.get_by_role("cell", name="少量").count() == 2
    assert groups.get_by_role("cell", name="7", exact=True).is_visible()
    # Fits the phone: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.select_option("#need-category", "防范诈骗")
    page.fill("#need-text", "有人在楼下发放可疑的理财传单。<script>x</script>")
    page.click("#need-form button")
    result = page.locator("#need-result")
    result.filter(has_text="受理编号").wait_for(timeout=10_000)
    ref = re.search(r"N\d{8}-\d{6}", result.inner_text()).group(0)

    shots = ROOT / "artifacts"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "site_compound_iphone.png"), full_page=True)
    assert all(u.startswith(server.url) for u in requested), requested  # nothing external
    with sqlite3.connect(server.db) as conn:
        assert conn.execute("SELECT category FROM needs WHERE reference = ?", (ref,)).fetchone() == ("防范诈骗",)
    ctx.close()


def test_form_works_without_javascript(browser, server):
    ctx = browser.new_context(java_script_enabled=False, **IPHONE)
    page = ctx.new_page()
    page.goto(server.url + "/c/XM-002.html")
    page.fill("#need-text", "路灯不亮")
    page.click("#need-form button")
    page.wait_for_url("**/api/needs")
    assert re.fullmatch(r"N\d{8}-\d{6}", page.locator("#reference").inner_text())
    page.screenshot(path=str(ROOT / "artifacts" / "site_receipt_nojs.png"))
    ctx.close()


def test_index_search_by_alias_and_street(browser, server):
    ctx = browser.new_context(**IPHONE)
    page = ctx.new_page()
    page.goto(server.url + "/")
    page.fill("#q", "海湾新村")
    page.locator("#q-results li").first.wait_for(timeout=5_000)
    assert page.locator("#q-results li").count() == 1 and "海湾花园" in page.locator("#q-results").inner_text()
    page.fill("#q", "")
    page.select_option("#q-district", "集美区")
    page.select_option("#q-street", "集美街道")
    assert page.locator("#q-results li").count() == 2
    page.locator("#q-results a").first.click()
    page.wait_for_url("**/c/XM-004.html")
    ctx.close()
