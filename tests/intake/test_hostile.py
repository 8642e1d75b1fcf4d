"""The intake service against a hostile client, on a real uvicorn server (issue 16, item 3):
spoofed forwarding headers, malformed bodies, wrong methods, slow senders, cross-site posts."""
from __future__ import annotations

import json
import select
import socket
import time

import httpx
import pytest

from tests.intake.conftest import config_with, has_security_headers
from tests.intake.live import live_server

NEED = {"compound_id": "XM-001", "category": "治安隐患", "text": "楼道灯坏了"}


def _log(server) -> list[dict]:
    return [json.loads(l) for l in server.log.read_text(encoding="utf-8").splitlines() if l.startswith("{")]


def test_spoofed_first_forwarded_entry_does_not_escape_the_rate_limit(server):
    """Finding: with --trust-forwarded the limit keyed on the client-supplied first
    X-Forwarded-For entry, so 60 of 60 posts passed a burst of 20 (here: 10) and the log hid it.
    Now the key is the right-most entry the trusted hop (loopback) did not add."""
    codes = []
    with httpx.Client(base_url=server.url, timeout=10) as c:
        for i in range(60):
            fwd = f"198.51.{i // 250}.{i % 250 + 1}, 203.0.113.60"  # first entry forged each time
            codes.append(c.post("/api/needs", json=NEED, headers={"X-Forwarded-For": fwd}).status_code)
    assert codes[:10] == [201] * 10
    assert codes.count(201) <= 13 and codes.count(429) >= 47, codes  # refill is 1/s
    logged = [l for l in _log(server) if l.get("path") == "/api/needs" and l.get("client") == "203.0.113.60"]
    assert len(logged) >= 60 and {l["status"] for l in logged} == {201, 429}
    assert not any(l.get("client", "").startswith("198.51.") for l in _log(server))


def test_malformed_bodies_are_4xx_with_the_security_headers(client, officer_tokens):
    """Finding: a lone surrogate, 1,000 nested [ and a 5,000-digit integer gave bare 500s."""
    token = officer_tokens[1]  # the active one
    js = {"Content-Type": "application/json"}
    bodies = [
        (b'{"compound_id":"XM-001","category":"\\u6cbb\\u5b89\\u9690\\u60a3","text":"\\ud800"}', js),
        (b'{"text":"\\udfff\\ud800"}', js),
        (b"[" * 1000, js),
        (b'{"a":' * 1000 + b"1" + b"}" * 1000, js),
        (b'{"compound_id":"XM-001","text":' + b"9" * 5000 + b"}", js),
        (b'{"text":1e999}', js),
        (b'{"compound_id":"XM-001","text":"\xff\xfe"}', js),
        (b"\xed\xa0\x80", js),
        (b"", js),
        (b"null", js),
        (b'"x"', js),
        (b'{"compound_id":{"a":1}}', js),
        ('{"compound_id":"XM-001","category":"治安隐患","text":NaN}'.encode(), js),
        (b"text=%ED%A0%80&compound_id=XM-001", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b"text=%FF", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b"&".join(b"f%d=1" % i for i in range(100)), {"Content-Type": "application/x-www-form-urlencoded"}),
        (b'{"text":"x"}', {"Content-Type": "text/plain"}),
        (b'{"text":"x"}', {"Content-Type": "multipart/form-data; boundary=x"}),
        (b'{"text":"x"}', {}),
    ]
    for path, auth in (("/api/needs", {}), ("/api/checkins", {"Authorization": f"Bearer {token}"})):
        for body, headers in bodies:
            r = client.post(path, content=body, headers={**headers, **auth})
            assert 400 <= r.status_code < 500, (path, body[:40], r.status_code, r.text[:200])
            assert r.headers["content-type"].startswith("application/json"), (path, body[:40], r.text[:100])
            assert r.json()["error"] and has_security_headers(r), (path, body[:40], r.text[:100])


def test_every_refusal_carries_the_security_headers(client, server):
    refusals = [client.get("/nope.html"), client.get("/api/nothing"), client.put("/api/needs"),
                client.post("/api/needs", json={**NEED, "text": "x" * 20_000})]
    with httpx.Client(base_url=server.url, headers={"X-Forwarded-For": "192.0.2.201"}) as c:
        refusals += [c.post("/api/needs", json=NEED) for _ in range(12)][-1:]
    assert [r.status_code for r in refusals] == [404, 404, 405, 413, 429]
    assert all(has_security_headers(r) for r in refusals)


# (method, path) -> the methods the service accepts there
ALLOWED = {
    ("POST", "/healthz"): "GET, HEAD",
    ("DELETE", "/"): "GET, HEAD",
    ("PUT", "/c/XM-001.html"): "GET, HEAD",
    ("GET", "/api/needs"): "POST",
    ("PATCH", "/api/checkins"): "POST",
    ("POST", "/api/needs/N20261123-000001"): "GET, HEAD",
    ("POST", "/p/P000001.sig.html"): "GET, HEAD",
    ("POST", "/p/P000001/sig"): "GET, HEAD",
    ("GET", "/officer/login"): "POST",
    ("PUT", "/officer/"): "GET, HEAD",
    ("DELETE", "/static/need.js"): "GET, HEAD",
}


def test_405_names_exactly_the_methods_allowed(client):
    """Finding: the Allow header of a 405 was wrong (or missing)."""
    for (method, path), allow in ALLOWED.items():
        r = client.request(method, path)
        assert r.status_code == 405, (method, path, r.status_code)
        assert r.headers.get("allow") == allow, (method, path, r.headers.get("allow"))
        assert has_security_headers(r)
        for ok in allow.split(", "):  # each method named is in fact accepted there
            assert client.request(ok, path).status_code != 405, (ok, path)


def test_cross_origin_form_posts_are_refused(client, server):
    """Finding: cross-origin form posts were accepted. Rules in intake/security.py."""
    own = server.url
    cases = [
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Origin": own.replace("127.0.0.1", "localhost")}, 403),
        ({"Sec-Fetch-Site": "cross-site", "Origin": own}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Referer": "https://evil.example/page.html"}, 403),
        ({"Referer": "not a url"}, 403),
        ({"Origin": own}, 201),
        ({"Sec-Fetch-Site": "same-origin", "Origin": "null"}, 201),
        ({"Referer": own + "/c/XM-001.html"}, 201),
        ({}, 201),  # an API client: no browser, no ambient credentials to abuse
    ]
    with sqlite3_count(server.db) as before:
        pass
    for headers, status in cases:
        r = client.post("/api/needs", data=NEED, headers=headers)
        assert r.status_code == status, (headers, r.status_code, r.text[:100])
        if status == 403:
            assert r.json()["error"] == "cross_origin" and has_security_headers(r)
    with sqlite3_count(server.db) as after:
        pass
    assert after.n - before.n == sum(1 for _, s in cases if s == 201)
    r = client.post("/officer/login", data={"token": "x"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


class sqlite3_count:
    """Counts the stored needs (a context manager so the connection is closed at once)."""

    def __init__(self, db):
        self.db = db

    def __enter__(self):
        import sqlite3

        with sqlite3.connect(self.db) as conn:
            self.n = conn.execute("SELECT count(*) FROM needs").fetchone()[0]
        return self

    def __exit__(self, *exc):
        return False


def test_hsts_only_over_https_through_a_trusted_hop(client):
    assert "strict-transport-security" not in client.get("/healthz").headers
    r = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert r.headers["strict-transport-security"].startswith("max-age=")


@pytest.fixture(scope="module")
def tight_server(site_dir, tmp_path_factory):
    """Small limits so slow clients show in seconds: 1.5 s for a body and for headers, 6
    requests in progress."""
    folder = tmp_path_factory.mktemp("tight")
    cfg = config_with(folder, limits={"body_deadline_seconds": 1.5, "header_deadline_seconds": 1.5,
                                      "max_concurrent_requests": 6, "max_connections": 200})
    with live_server(site_dir, folder / "intake.sqlite", folder / "log.jsonl", "--config", cfg,
                     "--no-rate-limit") as srv:
        yield srv


def _slow_post(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"POST /api/needs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 200\r\n\r\n{")
    return s


def _answer(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def test_slow_bodies_time_out_and_requests_in_progress_are_capped(tight_server):
    """Finding: 900 slow-body sockets stayed open for over a minute, with no cap."""
    started = time.monotonic()
    slow = [_slow_post(tight_server.url) for _ in range(14)]
    time.sleep(0.5)
    answers = [_answer(s) for s in slow]  # each ends with the server closing the connection
    took = time.monotonic() - started
    for s in slow:
        s.close()
    statuses = [a.split(b" ", 2)[1] for a in answers]
    assert statuses.count(b"408") == 6 and statuses.count(b"503") == 8, statuses
    assert all(b"x-content-type-options: nosniff" in a.lower() for a in answers)
    assert took < 5, took  # closed by the 1.5 s deadline, not held open
    assert httpx.post(tight_server.url + "/api/needs", json=NEED).status_code == 201  # healthy again


def test_connections_that_never_finish_their_headers_are_closed(tight_server):
    host, port = tight_server.url.removeprefix("http://").split(":")
    started = time.monotonic()
    socks = [socket.create_connection((host, int(port)), timeout=10) for _ in range(30)]
    for i, s in enumerate(socks):
        if i % 2:
            s.sendall(b"POST /api/needs HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # trickles, never ends
    for s in socks:
        assert s.recv(100) == b""  # closed by the server
        s.close()
    assert time.monotonic() - started < 5
    assert httpx.get(tight_server.url + "/healthz").status_code == 200


def test_connections_past_the_cap_are_closed_at_once(site_dir, tmp_path):
    """13 connections to a cap of 12: one of them (the last any worker process counts, which
    need not be the last opened when two workers accept) is closed at once, the other 12 held."""
    cfg = config_with(tmp_path, limits={"header_deadline_seconds": 60, "max_connections": 12})
    with live_server(site_dir, tmp_path / "intake.sqlite", tmp_path / "log.jsonl", "--config", cfg) as srv:
        host, port = srv.url.removeprefix("http://").split(":")
        socks = [socket.create_connection((host, int(port)), timeout=10) for _ in range(13)]
        started = time.monotonic()
        closed: list[socket.socket] = []
        while not closed and time.monotonic() - started < 5:  # not held for the 60 s header deadline
            readable, _, _ = select.select(socks, [], [], 0.2)
            closed = [s for s in readable if s.recv(100) == b""]
        assert len(closed) == 1
        time.sleep(1.0)
        assert select.select([s for s in socks if s not in closed], [], [], 0)[0] == []  # the 12 are held
        for s in socks:
            s.close()
        time.sleep(0.5)
        assert httpx.get(srv.url + "/healthz").status_code == 200


def test_a_request_the_parser_refuses_still_carries_the_headers(tight_server):
    host, port = tight_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /\x01 HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        answer = _answer(s)
    assert answer.startswith(b"HTTP/1.1 400") and b"x-content-type-options: nosniff" in answer.lower()
