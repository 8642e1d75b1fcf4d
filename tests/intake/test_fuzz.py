"""Thousands of generated requests over every route and method of the real app find no 5xx
and no response without the security headers (issue 16, item 3)."""
from __future__ import annotations

import asyncio
import json
import string
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.app import create_app
from intake.tokens import add_officer
from intake.vocab import CHECKIN_KINDS, NEED_CATEGORIES
from tests.intake.conftest import has_security_headers

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
COMPOUNDS = ["XM-001", "XM-002", "XM-005"]
state: dict = {}


class Client:
    """The app in process on one event loop (httpx's ASGI transport: no threads, no sockets,
    so thousands of requests fit in seconds)."""

    def __init__(self, app):
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")

    def request(self, *args, **kwargs) -> httpx.Response:
        self.http.cookies.clear()  # each example sends only the cookies it chose
        return self.loop.run_until_complete(self.http.request(*args, **kwargs))

    def close(self):
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def fuzz_client(site_dir, tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "intake.sqlite"
    state["token"] = add_officer(db, "fuzz-1", "测试")
    client = Client(create_app(site_dir=site_dir, db_path=db, rate_limit=None))
    login = client.request("POST", "/officer/login", data={"token": state["token"]}, follow_redirects=False)
    assert login.status_code == 303
    state["cookie"] = login.cookies["ss_officer"]
    yield client
    client.close()


ascii_text = st.text(alphabet=string.printable.strip() + " ", max_size=40)
segment = st.one_of(st.sampled_from(["XM-001", "N20261123-000001", "P000001.sig.html", "..", "%2e%2e", "",
                                     "index.html", "p", "c", "s"]),
                    st.text(max_size=20).map(lambda t: quote(t, safe="")))
path = st.one_of(
    st.sampled_from(["/", "/healthz", "/api/needs", "/api/checkins", "/api/needs/N20261123-000001",
                     "/officer", "/officer/", "/officer/login", "/officer/checkin", "/officer/logout",
                     "/static/need.js", "/static/search.js", "/search.json", "/c/XM-001.html", "/index.html",
                     "/p/P000001.sig.html", "/p/P000001/sig", "/p/P000001/sig/", "/api/x"]),
    st.lists(segment, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    st.sampled_from(["/api/", "/officer/", "/p/", "/c/", "/static/"]).flatmap(lambda p: segment.map(lambda s: p + s)),
)
value = st.one_of(
    st.sampled_from(COMPOUNDS + list(NEED_CATEGORIES) + list(CHECKIN_KINDS) + ["13912345678", "a@b.cn"]),
    st.text(max_size=30), st.sampled_from(["长" * 500, "长" * 501, "x" * 20_000, "a\x00b", "<script>x</script>"]),
    st.integers(), st.floats(allow_nan=False), st.none(), st.booleans(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
fields = st.dictionaries(
    st.sampled_from(["compound_id", "category", "text", "contact", "kind", "note", "token", "c",
                     "idempotency_key"]) | st.text(max_size=10),
    value, max_size=7)


@st.composite
def body(draw):
    kind = draw(st.sampled_from(["json", "form", "raw", "none"]))
    data = draw(fields)
    if kind == "json":
        return json.dumps(data, ensure_ascii=draw(st.booleans())).encode(), "application/json"
    if kind == "form":
        return urlencode({k: "" if v is None else str(v) for k, v in data.items()}).encode(), \
            "application/x-www-form-urlencoded"
    if kind == "raw":
        return draw(st.binary(max_size=300)), draw(st.sampled_from(
            ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "multipart/form-data"]))
    return b"", None


@st.composite
def headers(draw):
    h = {}
    if draw(st.booleans()):
        h["Authorization"] = draw(st.sampled_from([f"Bearer {state['token']}", "Bearer x", "Basic eA==", ""])
                                  | ascii_text)
    if draw(st.booleans()):
        h["Origin"] = draw(st.sampled_from(["http://svc", "https://evil.example", "null"]) | ascii_text)
    if draw(st.booleans()):
        h["Idempotency-Key"] = draw(st.sampled_from(["3f6c1b8e-2d4a-4f1e-9a7b-5c2d8e1f0a93"]) | ascii_text)
    if draw(st.booleans()):
        h["Cookie"] = "ss_officer=" + draw(st.sampled_from([state["cookie"]]) | ascii_text)
    if draw(st.booleans()):
        h["Accept"] = draw(st.sampled_from(["text/html", "application/json", "*/*"]))
    for name in draw(st.lists(st.sampled_from(["X-Forwarded-For", "X-Forwarded-Proto", "Sec-Fetch-Site",
                                                "Referer", "Content-Length", "Range", "If-None-Match"]),
                              max_size=3, unique=True)):
        h[name] = draw(ascii_text)
    return h


@settings(max_examples=2000, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=st.sampled_from(METHODS), path=path, body=body(), extra=headers(),
       query=st.dictionaries(st.sampled_from(["key", "c", "q"]) | st.text(max_size=5), st.text(max_size=30),
                             max_size=2))
def test_no_generated_request_gets_a_5xx(fuzz_client, method, path, body, extra, query):
    content, ctype = body
    hdrs = dict(extra)
    if ctype is not None:
        hdrs["Content-Type"] = ctype
    if "Content-Length" in hdrs:  # a lying length would only hang the in-process transport
        del hdrs["Content-Length"]
    r = fuzz_client.request(method, "http://svc" + path, content=content if method not in ("GET", "HEAD") else None,
                            headers=hdrs, params=query, follow_redirects=False)
    assert r.status_code < 500, (method, path, hdrs, content[:80], r.status_code, r.text[:200])
    assert has_security_headers(r), (method, path, r.status_code)
