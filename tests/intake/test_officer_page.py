"""The officers' own check-in page: credentials never in script-readable storage, the public
pages without a check-in form and without inline script (issue 16, item 3)."""
from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from intake.tokens import add_officer, revoke_officer
from tests.intake.conftest import has_security_headers
from tests.intake.live import live_server

CHROMIUM = Path(os.environ.get("SAFESTAR_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def officer_server(site_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("officer")
    db = folder / "intake.sqlite"
    tokens = {"good": add_officer(db, "officer-9", "赵警官"), "gone": add_officer(db, "officer-8", "钱警官")}
    with live_server(site_dir, db, folder / "log.jsonl", "--no-rate-limit") as srv:
        yield srv, tokens


def _checkins(db, compound):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM checkins WHERE compound_id = ?", (compound,)).fetchone()[0]


def test_sign_in_sets_an_httponly_session_cookie_not_the_token(officer_server):
    srv, tokens = officer_server
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        page = c.get("/officer/?c=XM-003")
        assert page.status_code == 200 and 'name="token"' in page.text and "no-store" in page.headers["cache-control"]
        bad = c.post("/officer/login", data={"token": "sst_000000000000_" + "A" * 43, "c": "XM-003"})
        assert bad.status_code == 401 and "干警令牌无效" in bad.text and "set-cookie" not in bad.headers
        r = c.post("/officer/login", data={"token": tokens["good"], "c": "XM-003"})
        assert r.status_code == 303 and r.headers["location"] == "/officer/?c=XM-003"
        cookie = r.headers["set-cookie"]
        assert re.search(r"(?i)httponly", cookie) and re.search(r"(?i)samesite=lax", cookie)
        assert re.search(r"(?i)path=/officer", cookie) and "secure" not in cookie.lower()  # plain http here
        assert tokens["good"].split("_", 2)[2] not in cookie  # a session id, not the token
        form = c.get("/officer/?c=XM-003")
        assert 'id="checkin-form"' in form.text and 'value="XM-003"' in form.text and "officer-9" in form.text
        key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text).group(1)
        fields = {"compound_id": "XM-003", "kind": "法治宣传", "idempotency_key": key}
        done = c.post("/officer/checkin", data=fields)
        assert done.status_code == 201 and "报到成功" in done.text
        again = c.post("/officer/checkin", data=fields)  # the browser re-sends the form
        assert again.status_code == 200 and "不重复计数" in again.text
        assert _checkins(srv.db, "XM-003") == 1
        c.post("/officer/logout")
        assert c.post("/officer/checkin", data={"compound_id": "XM-003", "kind": "治安巡防"}).status_code == 401
    assert _checkins(srv.db, "XM-003") == 1


def test_a_revoked_officer_loses_the_session(officer_server):
    srv, tokens = officer_server
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        assert c.post("/officer/login", data={"token": tokens["gone"]}).status_code == 303
        revoke_officer(srv.db, "officer-8")
        r = c.post("/officer/checkin", data={"compound_id": "XM-004", "kind": "法治宣传"})
        assert r.status_code == 401 and "请先登录" in r.text
    assert _checkins(srv.db, "XM-004") == 0


def test_https_sign_in_cookie_is_secure(officer_server, tmp_path):
    """Behind a trusted TLS proxy the cookie is Secure and responses carry HSTS."""
    from starlette.testclient import TestClient

    from intake.app import create_app

    db = tmp_path / "i.sqlite"
    token = add_officer(db, "o", "o")
    app = create_app(site_dir=None, db_path=db, compound_ids=["A"], trusted_proxies=["testclient"])
    with TestClient(app, base_url="http://svc") as c:
        r = c.post("/officer/login", data={"token": token}, headers={"X-Forwarded-Proto": "https"},
                   follow_redirects=False)
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()
    assert r.headers["strict-transport-security"].startswith("max-age=")


def test_public_pages_have_no_inline_script_and_no_check_in_form(client):
    """Finding: the CSP allowed inline script while officer tokens sat in localStorage on
    every compound page."""
    pages = ["/", "/index.html", "/c/XM-001.html", "/c/XM-002.html", "/officer/", "/nope.html",
             "/p/P000001.forged.html"]
    receipt = client.post("/api/needs", data={"compound_id": "XM-001", "category": "其他", "text": "x"},
                          headers={"Accept": "text/html"})
    refusal = client.post("/api/needs", data={"compound_id": "XM-001", "category": "其他", "text": ""},
                          headers={"Accept": "text/html"})
    street = re.search(r'href="(s/[^"]+)"', client.get("/").text).group(1)
    responses = [client.get(p) for p in pages + ["/" + street]] + [receipt, refusal]
    for r in responses:
        assert r.headers["content-type"].startswith("text/html"), r.url
        assert has_security_headers(r), r.url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), r.url  # no inline script
        assert not re.search(r"\son[a-z]+=", r.text), r.url  # no inline event handlers
        assert "localStorage" not in r.text
    compound = client.get("/c/XM-002.html").text
    assert "checkin-form" not in compound and 'type="password"' not in compound
    assert 'href="../officer/?c=XM-002"' in compound  # relative: the exported site links alike
    for script in ("/static/need.js", "/static/search.js"):
        js = client.get(script)
        assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "localStorage" not in js.text


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing")
        pytest.skip(f"{CHROMIUM} missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.mark.browser
def test_officer_checks_in_on_a_phone_with_nothing_left_for_scripts(browser, officer_server):
    srv, tokens = officer_server
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    page = ctx.new_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(srv.url + "/c/XM-005.html")
    page.get_by_role("link", name="政法干警报到入口").click()
    page.wait_for_url("**/officer/?c=XM-005")
    page.fill("#ck-token", tokens["good"])
    page.click("#login-form button")
    page.locator("#checkin-form").wait_for(timeout=10_000)
    page.select_option("#ck-kind", "矛盾调解")
    page.click("#checkin-form button")
    page.locator("#ck-result").filter(has_text="报到成功").wait_for(timeout=10_000)
    page.reload()  # the browser offers to re-send the form: counted once all the same
    page.locator("#ck-result").wait_for(timeout=10_000)
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly
    [cookie] = ctx.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/officer"
    assert tokens["good"] not in cookie["value"]
    # The resident's form still works under the CSP (its script is a file now).
    page.goto(srv.url + "/c/XM-005.html")
    page.fill("#need-text", "单元门禁坏了")
    page.click("#need-form button")
    page.locator("#need-result").filter(has_text="受理编号").wait_for(timeout=10_000)
    assert violations == []
    assert _checkins(srv.db, "XM-005") == 1
    ctx.close()


@pytest.mark.browser
def test_a_form_on_another_site_cannot_post_to_the_service(browser, officer_server):
    srv, _ = officer_server
    ctx = browser.new_context()
    page = ctx.new_page()
    evil = ('<form id="f" method="post" action="%s/api/needs"><input name="compound_id" value="XM-001">'
            '<input name="category" value="其他"><input name="text" value="forged"></form>' % srv.url)
    page.route("http://evil.test/**", lambda route: route.fulfill(body=evil, content_type="text/html"))
    page.goto("http://evil.test/")
    with page.expect_response(lambda r: r.url.endswith("/api/needs")) as answer:
        page.evaluate("document.getElementById('f').submit()")
    assert answer.value.status == 403
    with sqlite3.connect(srv.db) as conn:
        assert conn.execute("SELECT count(*) FROM needs WHERE text = 'forged'").fetchone()[0] == 0
    ctx.close()
