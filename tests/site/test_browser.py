"""The served public pages in a real headless Chromium at a phone's size, from uvicorn:
compound, plaque (genuine, replaced, withdrawn, forged), 404, 评定说明, appeal; contrast."""
from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from plaques.keys import SECRET_ENV
from reports.site_store import FILE_NAME, Publication
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
# The WCAG contrast ratio of every element's own text against the background it sits on.
CONTRAST_JS = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bg = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3); } return [255, 255, 255]; };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.offsetParent === null) continue;
    const a = lum(rgb(getComputedStyle(el).color).slice(0, 3)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) out.push([el.tagName, el.textContent.trim().slice(0, 20), ratio.toFixed(2)]);
  }
  return out;
}"""


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
    folder = tmp_path_factory.mktemp("out") / "2026-11-23"
    frames.publication(folder)
    db = tmp_path_factory.mktemp("db") / "intake.sqlite"
    log = tmp_path_factory.mktemp("log") / "server.jsonl"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_ENV, frames.SECRET)
        with live_server(folder, db, log) as srv:
            srv.pub = Publication(folder / FILE_NAME)
            yield srv


@pytest.fixture
def phone(browser):
    ctx = browser.new_context(**IPHONE)
    yield ctx.new_page()
    ctx.close()


def _open(page, url, status=200):
    response = page.goto(url)
    assert response.status == status, url
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), url  # fits the phone
    assert page.evaluate(CONTRAST_JS) == [], url
    return response


def test_compound_page_on_a_phone(phone, server):
    requested = []
    phone.on("request", lambda r: requested.append(r.url))
    _open(phone, server.url + "/c/XM-001.html")
    assert phone.locator("h1").inner_text() == "海湾花园"
    stars = phone.get_by_role("img", name="3星（满分5星）")
    assert stars.is_visible() and stars.inner_text().replace("\n", "") == "★★★☆☆"
    groups = phone.locator("section", has=phone.locator("#h-groups"))
    assert groups.get_by_role("cell", name="少量").count() == 2
    assert groups.get_by_role("cell", name="7", exact=True).is_visible()
    chart = phone.locator("img.chart")
    chart.scroll_into_view_if_needed()
    phone.wait_for_function("document.querySelector('img.chart').complete", timeout=30_000)
    assert phone.evaluate("document.querySelector('img.chart').naturalWidth") > 100
    assert "平安指数" in chart.get_attribute("alt")
    assert phone.locator("#checkin-form").count() == 0 and "令牌" not in phone.content()  # officers' page only

    phone.select_option("#need-category", "防范诈骗")
    phone.fill("#need-text", "有人在楼下发放可疑的理财传单。<script>x</script>")
    phone.click("#need-form button")
    result = phone.locator("#need-result")
    result.filter(has_text="受理编号").wait_for(timeout=10_000)
    ref = re.search(r"N\d{8}-\d{6}", result.inner_text()).group(0)
    shots = ROOT / "artifacts"
    shots.mkdir(exist_ok=True)
    phone.screenshot(path=str(shots / "site_compound_iphone.png"), full_page=True)
    assert all(u.startswith(server.url) for u in requested), requested  # nothing external
    with sqlite3.connect(server.db) as conn:
        assert conn.execute("SELECT category FROM needs WHERE reference = ?", (ref,)).fetchone() == ("防范诈骗",)

    # 评定说明 from every compound page: what each star level means, from the rules.
    phone.get_by_role("link", name="评定说明：各星级的含义和标准").click()
    phone.wait_for_url("**/about.html")
    assert phone.locator("h1").inner_text() == "评定说明"
    assert phone.get_by_role("cell", name="不低于 90 分").is_visible()


def test_appeal_and_reply_on_the_page(phone, server):
    _open(phone, server.url + "/c/XM-004.html")
    appeal = phone.locator("section", has=phone.locator("#h-appeal"))
    assert "复核中" in appeal.inner_text() and "<b>欢迎</b>" in appeal.locator(".reply").inner_text()
    assert "降星最早于2027年5月解除" in phone.locator(".note").inner_text()
    appeal.get_by_role("link", name="如何申诉").click()
    phone.wait_for_url("**/appeal.html")
    _open(phone, phone.url)
    assert phone.locator("h1").inner_text() == "申诉与回应" and "回应权" in phone.content()


def test_form_works_without_javascript(browser, server):
    ctx = browser.new_context(java_script_enabled=False, **IPHONE)
    page = ctx.new_page()
    page.goto(server.url + "/c/XM-002.html")
    page.fill("#need-text", "路灯不亮")
    page.click("#need-form button")
    page.wait_for_url("**/api/needs")
    assert re.fullmatch(r"N\d{8}-\d{6}", page.locator("#reference").inner_text())
    ctx.close()


def test_index_search_by_alias_and_street(phone, server):
    _open(phone, server.url + "/")
    phone.fill("#q", "海湾新村")
    phone.locator("#q-results li").first.wait_for(timeout=5_000)
    assert phone.locator("#q-results li").count() == 1 and "海湾花园" in phone.locator("#q-results").inner_text()
    phone.fill("#q", "")
    phone.select_option("#q-district", "集美区")
    phone.select_option("#q-street", "集美街道")
    assert phone.locator("#q-results li").count() == 2
    phone.locator("#q-results a").first.click()
    phone.wait_for_url("**/c/XM-004.html")


@pytest.mark.parametrize("serial, status, banner", [
    ("P000001", "current", "真品且有效"), ("P000004", "superseded", "已更换（现为3星）"),
    ("P000003", "withdrawn", "已收回"),
])
def test_plaque_pages(phone, server, serial, status, banner):
    path = server.pub.plaque(serial)["path"]
    _open(phone, server.url + path)
    assert phone.locator("[data-status]").get_attribute("data-status") == status
    assert phone.locator("h1").inner_text().startswith(banner)
    main = phone.locator("main").inner_text()
    assert "当前评定" in main and "2026年11月23日" in main
    if status != "current":  # never gold stars for a plaque that no longer stands
        assert "★" not in main and phone.locator(".stars").count() == 0
    else:
        assert phone.locator(".stars").is_visible()


def test_plaque_pages_render_chinese_in_a_cjk_font(phone, server):
    from tests.plaques.test_browser import CJK_FAMILIES, platform_fonts

    for path in [server.pub.plaque("P000001")["path"], "/p/P000001.FORGED.html", "/c/XM-001.html"]:
        phone.goto(server.url + path)
        used = platform_fonts(phone, "h1")
        assert used and all(f and f <= CJK_FAMILIES for f in used), (path, used)


def test_forged_plaque_and_mistyped_address(phone, server):
    path = server.pub.plaque("P000001")["path"]
    sig = path.rsplit(".", 2)[1]
    forged = path.replace(sig, sig[:-1] + ("A" if sig[-1] != "A" else "B"))
    _open(phone, server.url + forged, 404)
    assert phone.locator("h1").inner_text() == "非正品牌匾"
    _open(phone, server.url + "/c/XM-0001.html", 404)
    assert phone.locator("h1").inner_text() == "页面不存在" and "非正品牌匾" not in phone.content()


def test_no_internal_file_is_served(server):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for path in ["/public.sqlite", "/2026-11-23/public.sqlite", "/warehouse.duckdb", "/intake.sqlite",
                     "/.staging/2026-11-23/public.sqlite", "/.releases/", "/.env", "/.git/config", "/latest/",
                     "/%2e%2e/public.sqlite", "/c/../public.sqlite", "/p/../../public.sqlite"]:
            r = client.get(path)
            assert r.status_code == 404 and "SQLite" not in r.text, path


def test_hostile_text_does_not_run_in_the_browser(browser, tmp_path):
    from reports.site import render
    from tests.site.test_hostile import HOSTILE, hostile_publication

    pub = hostile_publication(tmp_path)
    page = browser.new_page()
    for path in ["/c/XM-001.html", "/c/XM-004.html", "/index.html"]:
        page.set_content(render(pub, path).body)
        assert page.evaluate("window.__pwned") is None, path
    page.set_content(render(pub, "/c/XM-001.html").body)
    assert page.locator("h1").inner_text() == HOSTILE.replace("\u202e", "").replace("\u2066", "") + "XM-001"
    page.close()
