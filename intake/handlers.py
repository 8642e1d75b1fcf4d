"""The intake service's endpoints, sharing one SQLite connection and the compound list.

SQLite writes take a few tens of microseconds in WAL mode, so they run on the event
loop; one connection serves the process (run one uvicorn worker per SQLite file).
"""
from __future__ import annotations

import sqlite3

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from intake import store
from intake.bodies import Refusal, clean_text, contact_ok, one_of, read_fields
from intake.compounds import CompoundList
from intake.ratelimit import TokenBuckets
from intake.siteroot import Publications
from intake.tokens import check_token
from intake.vocab import (CHECKIN_KINDS, CHECKIN_NOTE_MAX, CONTACT_MAX, NEED_CATEGORIES, NEED_TEXT_MAX,
                          REFUSAL_ZH)
from reports.templating import render_template



class Handlers:
    """Request handlers bound to the service's state."""

    def __init__(self, conn: sqlite3.Connection, compounds: CompoundList, root: Publications | None,
                 buckets: TokenBuckets | None, max_body: int, trust_forwarded: bool):
        self.conn, self.compounds, self.root = conn, compounds, root
        self.buckets, self.max_body, self.trust_forwarded = buckets, max_body, trust_forwarded

    # -- shared checks -------------------------------------------------------------
    def _client(self, request: Request) -> str:
        if self.trust_forwarded and (fwd := request.headers.get("x-forwarded-for")):
            return fwd.split(",")[0].strip()
        return request.client.host if request.client else "-"

    def _limit(self, request: Request) -> None:
        if self.buckets is None:
            return
        wait = self.buckets.take(self._client(request))
        if wait > 0:
            raise Refusal(429, "rate_limited", "too many requests from this client; retry later",
                          {"Retry-After": str(max(1, int(wait + 0.999)))})

    def _compound(self, fields: dict[str, str]) -> str:
        cid = (fields.get("compound_id") or "").strip()
        if not cid:
            raise Refusal(422, "missing_compound", "compound_id is required")
        if not self.compounds.has(cid):
            raise Refusal(404, "unknown_compound", f"no rated compound {cid[:40]!r}")
        return cid

    def _officer(self, request: Request) -> str:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise Refusal(401, "missing_token", "send Authorization: Bearer <officer token>",
                          {"WWW-Authenticate": 'Bearer realm="safestar"'})
        officer, why = check_token(self.conn, auth[7:].strip())
        if officer is None and why == "revoked":
            raise Refusal(403, "revoked_token", "this officer token has been revoked")
        if officer is None:
            raise Refusal(401, "invalid_token", "officer token not recognised",
                          {"WWW-Authenticate": 'Bearer realm="safestar", error="invalid_token"'})
        return officer

    # -- endpoints -----------------------------------------------------------------
    async def post_need(self, request: Request) -> Response:
        self._limit(request)
        fields, as_form = await read_fields(request, self.max_body)
        cid = self._compound(fields)
        category = one_of(fields.get("category"), NEED_CATEGORIES, "category")
        text = clean_text(fields.get("text"), "text", NEED_TEXT_MAX, required=True)
        contact = contact_ok(clean_text(fields.get("contact"), "contact", CONTACT_MAX, required=False))
        need = store.insert_need(self.conn, cid, category, text, contact)
        receipt = f"/api/needs/{need.reference}?key={need.receipt_key}"
        if as_form and "application/json" not in request.headers.get("accept", ""):
            return HTMLResponse(render_template("site_receipt.html", need=need, receipt_url=receipt), 201)
        return JSONResponse({"reference": need.reference, "compound_id": cid, "category": category,
                             "receipt_url": receipt}, 201)

    async def get_need(self, request: Request) -> Response:
        need = store.find_need(self.conn, request.path_params["reference"], request.query_params.get("key", ""))
        if need is None:
            raise Refusal(404, "unknown_reference", "no such reference, or the key does not match")
        return HTMLResponse(render_template("site_receipt.html", need=need, receipt_url=None))

    async def post_checkin(self, request: Request) -> Response:
        self._limit(request)  # before the token check, so guessing tokens is throttled too
        officer = self._officer(request)
        fields, _ = await read_fields(request, self.max_body)
        cid = self._compound(fields)
        kind = one_of(fields.get("kind"), CHECKIN_KINDS, "kind")
        note = clean_text(fields.get("note"), "note", CHECKIN_NOTE_MAX, required=False)
        checkin_id, n_month = store.insert_checkin(self.conn, officer, cid, kind, note)
        return JSONResponse({"checkin_id": checkin_id, "officer_id": officer, "compound_id": cid,
                             "kind": kind, "n_month": n_month}, 201)

    async def healthz(self, request: Request) -> Response:
        self.conn.execute("SELECT 1").fetchall()
        return JSONResponse({"status": "ok", "compounds": self.compounds.count(),
                             "site_as_of": self.compounds.as_of()})

    async def api_unknown(self, request: Request) -> Response:
        if request.url.path.rstrip("/") in ("/api/needs", "/api/checkins"):
            raise Refusal(405, "method_not_allowed", "use POST", {"Allow": "POST"})
        raise Refusal(404, "not_found", "no such API endpoint")

    # -- error pages ---------------------------------------------------------------
    async def on_refusal(self, request: Request, exc: Refusal) -> Response:
        request.state.refusal = exc.error
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded" and "text/html" in request.headers.get("accept", ""):
            # A browser posting the page's form without JavaScript: a readable page, same status.
            message = REFUSAL_ZH.get(exc.error, "提交未成功，请检查后重试。")
            return HTMLResponse(render_template("site_refusal.html", message=message, error=exc.error),
                                exc.status, headers=exc.headers)
        return JSONResponse({"error": exc.error, "detail": exc.detail}, exc.status, headers=exc.headers)

    async def on_http(self, request: Request, exc: HTTPException) -> Response:
        request.state.refusal = f"http_{exc.status_code}"
        if request.url.path.startswith("/api/") or self.root is None:
            return JSONResponse({"error": "method_not_allowed" if exc.status_code == 405 else "not_found",
                                 "detail": str(exc.detail)}, exc.status_code, headers=exc.headers)
        return HTMLResponse(render_template("site_404.html", not_genuine=False), exc.status_code)
