"""The intake API against a real uvicorn server on loopback."""
from __future__ import annotations

from markupsafe import escape
import json
import re
import sqlite3

REF = re.compile(r"^N\d{8}-\d{6}$")


def need(**over):
    return {"compound_id": "XM-001", "category": "治安隐患", "text": "楼道灯坏了，晚上很黑。", **over}


def test_health(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["compounds"] == 5


def test_json_need_gets_reference_and_is_stored(client, server):
    r = client.post("/api/needs", json=need(contact="13912345678"))
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    assert REF.match(ref)
    with sqlite3.connect(server.db) as conn:
        row = conn.execute("SELECT compound_id, category, contact FROM needs WHERE reference = ?", (ref,)).fetchone()
    assert row == ("XM-001", "治安隐患", "13912345678")


def test_form_post_answers_html_receipt(client):
    r = client.post("/api/needs", data=need(category="防范诈骗"), headers={"Accept": "text/html"})
    assert r.status_code == 201
    assert r.headers["content-type"].startswith("text/html")
    ref = re.search(r'id="reference">([^<]+)<', r.text).group(1)
    assert REF.match(ref) and 'lang="zh-CN"' in r.text


def test_script_injection_comes_back_escaped(client):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = client.post("/api/needs", data=need(text=evil), headers={"Accept": "text/html"})
    assert r.status_code == 201
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    assert str(escape(evil)) in r.text
    # The stored text is raw; the receipt page escapes it again on every display.
    j = client.post("/api/needs", json=need(text=evil)).json()
    page = client.get(j["receipt_url"])
    assert page.status_code == 200 and str(escape(evil)) in page.text and "<script>alert" not in page.text
    wrong_key = client.get(j["receipt_url"].split("?")[0] + "?key=nope")
    assert wrong_key.status_code == 404 and wrong_key.json()["error"] == "unknown_reference"


def test_validation_refusals_are_json_4xx(client):
    cases = [
        (need(compound_id="NOPE-9"), 404, "unknown_compound"),
        (need(compound_id=""), 422, "missing_compound"),
        (need(category="外星人"), 422, "unknown_category"),
        (need(text=""), 422, "missing_text"),
        (need(text="长" * 501), 422, "text_too_long"),
        (need(contact="call me maybe"), 422, "bad_contact"),
        (need(text="a\x00b"), 422, "bad_text"),
    ]
    for body, status, error in cases:
        r = client.post("/api/needs", json=body)
        assert (r.status_code, r.json()["error"]) == (status, error), body
    # A text of exactly the limit is accepted.
    assert client.post("/api/needs", json=need(text="长" * 500)).status_code == 201


def test_malformed_bodies(client):
    assert client.post("/api/needs", content=b"{not json", headers={"Content-Type": "application/json"}).json()["error"] == "bad_json"
    r = client.post("/api/needs", content=b"x=1", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"
    r = client.post("/api/needs", json=["a"])
    assert r.status_code == 422


def test_oversized_body_413(client):
    r = client.post("/api/needs", json=need(text="x" * 20_000))
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"

    def chunks():  # no Content-Length: the limit holds on the stream too
        for _ in range(10):
            yield b"a" * 4096
    r = client.post("/api/needs", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_flood_from_one_client_gets_429(server):
    import httpx
    with httpx.Client(base_url=server.url, headers={"X-Forwarded-For": "192.0.2.77"}) as c:
        codes = [c.post("/api/needs", json=need()).status_code for _ in range(15)]
        assert codes[:10] == [201] * 10
        assert 429 in codes
        r = c.post("/api/needs", json=need())
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"] == "rate_limited"
    with httpx.Client(base_url=server.url, headers={"X-Forwarded-For": "192.0.2.78"}) as other:
        assert other.post("/api/needs", json=need()).status_code == 201


def test_checkin_needs_a_valid_token(client, officer_tokens, server):
    _, good, revoked = officer_tokens
    body = {"compound_id": "XM-002", "kind": "法治宣传"}
    assert client.post("/api/checkins", json=body).status_code == 401
    r = client.post("/api/checkins", json=body, headers={"Authorization": "Bearer sst_000000000000_" + "A" * 43})
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    r = client.post("/api/checkins", json=body, headers={"Authorization": "Bearer " + good[:-1] + ("A" if good[-1] != "A" else "B")})
    assert r.status_code == 401
    r = client.post("/api/checkins", json=body, headers={"Authorization": "Bearer " + revoked})
    assert r.status_code == 403 and r.json()["error"] == "revoked_token"
    ok = client.post("/api/checkins", json=body, headers={"Authorization": "Bearer " + good})
    assert ok.status_code == 201 and ok.json()["officer_id"] == "officer-1" and ok.json()["n_month"] >= 1
    bad_kind = client.post("/api/checkins", json={**body, "kind": "喝茶"}, headers={"Authorization": "Bearer " + good})
    assert bad_kind.status_code == 422 and bad_kind.json()["error"] == "unknown_kind"
    with sqlite3.connect(server.db) as conn:
        assert conn.execute("SELECT count(*) FROM checkins WHERE officer_id='officer-1'").fetchone()[0] >= 1
        # Tokens are stored only as salted hashes.
        blob = b"".join(bytes(str(v), "utf-8") if not isinstance(v, bytes) else v
                        for row in conn.execute("SELECT * FROM officers") for v in row)
    assert good.encode() not in blob and good.split("_", 2)[2].encode() not in blob


def test_site_pages_and_plaque_pages(client, site_dir):
    from reports.site_store import FILE_NAME, Publication

    r = client.get("/c/XM-001.html")
    assert r.status_code == 200 and "海湾花园" in r.text
    assert client.get("/").status_code == 200
    assert client.get("/search.json").json()["as_of"] == "2026-11-23"
    assert client.get("/c/XM-001.html", headers={"Accept-Encoding": "gzip"}).headers["content-encoding"] == "gzip"
    fake = client.get("/p/P000001.forged-signature.html")
    assert fake.status_code == 404 and "非正品牌匾" in fake.text
    path = Publication(site_dir / FILE_NAME).plaque("P000001")["path"]  # /p/P000001.<signature>.html
    serial, sig = path[3:-5].split(".")
    ok = client.get(path)
    assert ok.status_code == 200 and "真品且有效" in ok.text and "P000001" in ok.text
    other = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    for altered in (f"/p/P000008.{sig}.html", f"/p/P000001.{other}.html", f"/p/P000001.{sig.lower()}.html"):
        r = client.get(altered)
        assert r.status_code == 404 and "非正品牌匾" in r.text, altered
    for mistyped in (f"/p/P000001.{sig}", f"/p/P000001{sig}.html", "/c/XM-0001.html", "/nothing.html"):
        r = client.get(mistyped)  # not a plaque's address at all: a plain 404
        assert r.status_code == 404 and "页面不存在" in r.text and "非正品牌匾" not in r.text, mistyped
    # Plaques printed with the folder form of the URL still reach their page.
    assert "真品且有效" in client.get(f"/p/P000001/{sig}", follow_redirects=True).text
    old = client.get(f"/p/P000001/{sig}/")
    assert old.status_code == 308 and old.headers["location"] == path
    assert client.get("/p/P000001/forged-signature").status_code == 404
    assert client.get("/p/..%2F..%2Fetc/passwd").status_code == 404
    assert client.get("/p/..%2F..%2Fetc%2Fpasswd.x.html").status_code == 404
    r = client.get("/api/nothing")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.get("/api/needs")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_every_request_logged_as_one_json_line(client, server):
    client.get("/healthz?secret=should-not-be-logged")
    client.post("/api/needs", json=need(compound_id="NOPE-LOG"))
    lines = [json.loads(l) for l in server.log.read_text(encoding="utf-8").splitlines() if l.startswith("{")]
    reqs = [l for l in lines if l["msg"] == "request"]
    assert reqs and all({"method", "path", "status", "ms"} <= l.keys() for l in reqs)
    assert any(l["path"] == "/healthz" for l in reqs)
    assert "should-not-be-logged" not in server.log.read_text(encoding="utf-8")
    refused = [l for l in reqs if l["path"] == "/api/needs" and l["status"] == 404]
    assert refused and all(l["reason"] == "unknown_compound" for l in refused)


def test_browser_form_refusal_is_a_readable_page_with_the_same_status(client):
    r = client.post("/api/needs", data=need(contact="abc"), headers={"Accept": "text/html,*/*"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "联系电话格式不正确" in r.text and "bad_contact" in r.text
    r = client.post("/api/needs", data=need(contact="abc"))  # an API client: JSON
    assert r.status_code == 422 and r.json()["error"] == "bad_contact"
