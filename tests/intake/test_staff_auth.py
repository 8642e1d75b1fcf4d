"""Authorisation of the staff pages on a real server: every staff route refuses a missing,
wrong, expired or withdrawn credential and another area's person, and a forged form
without its CSRF token; the resident's contact reaches only the handler."""
from __future__ import annotations

import hashlib
import sqlite3

import httpx
import pytest

from intake.staff_auth import SESSION_COOKIE
from intake.workflow_config import load_needs_config
from tests.intake.staff_live import act, csrf_of, sign_in, staff_server, submit  # noqa: F401 (fixture)

CFG = load_needs_config()


def _events(server) -> int:
    with sqlite3.connect(server.db) as conn:
        return conn.execute("SELECT count(*) FROM need_events").fetchone()[0]


def _routes(reference: str) -> list[tuple[str, str, dict]]:
    return [("GET", "/staff/queue", {}), ("GET", "/staff/area", {}), ("GET", f"/staff/needs/{reference}", {}),
            ("POST", f"/staff/needs/{reference}", {"action": "accept"}), ("POST", "/staff/logout", {})]


def _expired_session(server) -> str:
    """A real session of w1, moved past its expiry in the database."""
    client = sign_in(server, "w1")
    cookie = client.cookies[SESSION_COOKIE]
    with sqlite3.connect(server.db) as conn:
        conn.execute("UPDATE staff_sessions SET expires_at = '2000-01-01T00:00:00+08:00' WHERE session_hash = ?",
                     (hashlib.sha256(cookie.encode()).digest(),))
    client.close()
    return cookie


def test_every_staff_route_refuses_missing_wrong_and_expired_sessions(staff_server):
    need = submit(staff_server, text="暗号-missing-session")
    expired = _expired_session(staff_server)
    before = _events(staff_server)
    for cookie in (None, "not-a-session", "x" * 500, expired):
        with httpx.Client(base_url=staff_server.url, timeout=10) as c:
            if cookie:
                c.cookies.set(SESSION_COOKIE, cookie)
            for method, path, data in _routes(need["reference"]):
                # The right CSRF token cannot help without a session: there is none to match.
                r = c.request(method, path, data={**data, "csrf": "anything"} if method == "POST" else None)
                assert r.status_code == 401, (cookie, method, path, r.status_code)
                assert "请先登录" in r.text and "暗号-missing-session" not in r.text and "13912345678" not in r.text
                assert r.headers["cache-control"] == "no-store"
    assert _events(staff_server) == before


def test_sign_in_refuses_wrong_and_withdrawn_tokens_and_sets_a_strict_cookie(staff_server):
    with httpx.Client(base_url=staff_server.url, timeout=10) as c:
        form = c.get("/staff/login")
        login_cookie = form.headers["set-cookie"]
        assert "HttpOnly" in login_cookie and "SameSite=strict" in login_cookie
        wrong = staff_server.tokens["w1"][:-4] + "AAAA"
        for token in ("", "sss_nothing", wrong, staff_server.tokens["w1"] + "x"):
            r = c.post("/staff/login", data={"token": token, "csrf": csrf_of(c.get("/staff/login").text)})
            assert r.status_code == 401 and SESSION_COOKIE + "=" not in r.headers.get("set-cookie", "")
            assert "令牌无效" in r.text
        r = c.post("/staff/login", data={"token": staff_server.tokens["w2"], "csrf": csrf_of(c.get("/staff/login").text)})
        assert r.status_code == 303
        cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "=")][0]
        for flag in ("HttpOnly", "SameSite=strict", "Path=/staff", f"Max-Age={CFG.staff.session_minutes * 60}"):
            assert flag in cookie
    # Only hashes are stored: neither the token nor its secret is in the database.
    raw = staff_server.db.read_bytes()
    assert staff_server.tokens["w2"].encode() not in raw and staff_server.tokens["w2"][17:].encode() not in raw


def test_a_withdrawn_token_ends_its_sessions(staff_server):
    from intake.staff_auth import issue_token, revoke_token
    from intake.store import connect

    client = sign_in(staff_server, "c1")
    assert client.get("/staff/queue").status_code == 200
    conn = connect(staff_server.db)
    revoke_token(conn, "c1")
    assert client.get("/staff/queue").status_code == 401
    staff_server.tokens["c1"] = issue_token(conn, "c1", CFG)
    conn.close()
    client.close()


def test_forged_forms_without_their_csrf_token_are_refused(staff_server):
    need = submit(staff_server)
    ref = need["reference"]
    worker, other = sign_in(staff_server, "w1"), sign_in(staff_server, "w2")
    before = _events(staff_server)
    others_token = csrf_of(other.get("/staff/queue").text)
    for data in ({"action": "accept"}, {"action": "accept", "csrf": ""}, {"action": "accept", "csrf": "forged"},
                 {"action": "accept", "csrf": others_token}):
        r = worker.post(f"/staff/needs/{ref}", data=data)
        assert r.status_code == 403 and "表单已失效" in r.text
        r = worker.post("/staff/logout", data={"x": "1", **{k: v for k, v in data.items() if k == "csrf"}})
        assert r.status_code == 403
    assert _events(staff_server) == before
    assert worker.get("/staff/queue").status_code == 200  # still signed in: logout was refused too
    # The sign-in form: without the matching login cookie its token is worthless.
    with httpx.Client(base_url=staff_server.url, timeout=10) as fresh:
        token = csrf_of(httpx.get(staff_server.url + "/staff/login").text)
        r = fresh.post("/staff/login", data={"token": staff_server.tokens["w1"], "csrf": token})
        assert r.status_code == 403 and SESSION_COOKIE + "=" not in r.headers.get("set-cookie", "")
    # With the page's token the same action goes through.
    assert act(worker, ref, "accept").status_code == 303
    assert _events(staff_server) == before + 1
    worker.close(), other.close()


@pytest.mark.parametrize("outsider", ["w2", "w3", "s2", "m1", "p1"])
def test_other_areas_cannot_see_or_act(staff_server, outsider):
    """A need of grid Hd001 (鹭江街道, 思明区): another grid's worker, another street's
    supervisor and departments it was not routed to are refused, and their queues omit it."""
    need = submit(staff_server, text="暗号-other-area")
    ref = need["reference"]
    client = sign_in(staff_server, outsider)
    before = _events(staff_server)
    assert ref not in client.get("/staff/queue").text
    r = client.get(f"/staff/needs/{ref}")
    assert r.status_code == 403 and "暗号-other-area" not in r.text and "13912345678" not in r.text
    token = csrf_of(client.get("/staff/queue").text)
    for action in ("accept", "record", "resolve", "escalate", "transfer", "close", "send_back"):
        r = client.post(f"/staff/needs/{ref}", data={"csrf": token, "action": action, "note": "越权",
                                                      "target": "department:鹭江派出所"})
        assert r.status_code == 403, (outsider, action, r.status_code)
    assert _events(staff_server) == before
    if outsider.startswith("w") or outsider in ("m1", "p1"):
        assert client.get("/staff/area").status_code == 403
    client.close()


def test_contact_only_for_the_handler_never_on_public_pages_or_logs(staff_server):
    contact, text = "13700001111", "暗号-contact-check 五号楼消防通道堵塞"
    need = submit(staff_server, text=text, contact=contact)
    ref = need["reference"]
    worker, street, district = (sign_in(staff_server, s) for s in ("w1", "s1", "d1"))
    page = worker.get(f"/staff/needs/{ref}")
    assert contact in page.text and text in page.text
    for supervisor in (street, district):
        page = supervisor.get(f"/staff/needs/{ref}")
        assert page.status_code == 200 and text in page.text and contact not in page.text
    assert act(worker, ref, "accept").status_code == 303
    assert act(worker, ref, "record", note="已联系业主 内部记录").status_code == 303
    assert act(worker, ref, "resolve", note="已清理通道").status_code == 303
    receipt = httpx.get(staff_server.url + need["receipt_url"], timeout=10)
    assert receipt.status_code == 200 and "已清理通道" in receipt.text
    for secret in (contact, "网格员甲", "内部记录", "w1"):
        assert secret not in receipt.text
    again = act(worker, ref, "resolve", note="x")  # already resolved: refused with a clear message
    assert again.status_code == 409 and "不能执行" in again.text
    log = staff_server.log.read_text(encoding="utf-8")
    assert contact not in log and "暗号-contact-check" not in log and staff_server.tokens["w1"] not in log
    for c in (worker, street, district):
        c.close()
