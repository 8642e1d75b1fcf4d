"""The intake service's endpoints, sharing one SQLite connection and the compound list.

SQLite writes take a few tens of microseconds in WAL mode, so they run on the event
loop; one connection serves the process (run one uvicorn worker per SQLite file).
"""
from __future__ import annotations

import sqlite3
from datetime import timedelta

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from intake import store, workflow
from intake.bodies import Refusal, clean_text, contact_ok, fields_digest, idempotency_key, one_of, read_fields
from intake.compounds import CompoundList
from intake.ratelimit import TokenBuckets
from intake.settings import IntakeSettings
from intake.siteroot import Publications
from intake.tokens import check_token
from intake.workflow_config import load_needs_config
from intake.vocab import (CHECKIN_KINDS, CHECKIN_NOTE_MAX, CONTACT_MAX, NEED_CATEGORIES, NEED_TEXT_MAX,
                          REFUSAL_ZH)
from reports.templating import render_template



class Handlers:
    """Request handlers bound to the service's state."""

    def __init__(self, conn: sqlite3.Connection, compounds: CompoundList, root: Publications | None,
                 buckets: TokenBuckets | None, settings: IntakeSettings):
        self.conn, self.compounds, self.root = conn, compounds, root
        self.buckets, self.settings = buckets, settings
        self.max_body = settings.limits.max_body_bytes

    # -- shared checks -------------------------------------------------------------
    def limit(self, request: Request) -> None:
        """Spend one of the client's requests; 429 when they are used up. The client is
        the connecting address, or with trusted proxies the right-most address they did
        not add (uvicorn's ProxyHeadersMiddleware has set it)."""
        if self.buckets is None:
            return
        wait = self.buckets.take(request.client.host if request.client else "-")
        if wait > 0:
            raise Refusal(429, "rate_limited", "too many requests from this client; retry later",
                          {"Retry-After": str(max(1, int(wait + 0.999)))})

    async def fields(self, request: Request) -> tuple[dict[str, str], bool]:
        """The request's fields, within the size limit and the body deadline."""
        return await read_fields(request, self.max_body, self.settings.limits.body_deadline_seconds)

    def key(self, request: Request, fields: dict[str, str]) -> str | None:
        i = self.settings.idempotency
        return idempotency_key(request, fields, i.min_key_length, i.max_key_length)

    def compound(self, fields: dict[str, str]) -> str:
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
        self.limit(request)
        fields, as_form = await self.fields(request)
        cid = self.compound(fields)
        category = one_of(fields.get("category"), NEED_CATEGORIES, "category")
        text = clean_text(fields.get("text"), "text", NEED_TEXT_MAX, required=True)
        contact = contact_ok(clean_text(fields.get("contact"), "contact", CONTACT_MAX, required=False))
        need, new = self._keyed_need(request, fields, cid, category, text, contact)
        receipt = f"/api/needs/{need.reference}?key={need.receipt_key}"
        # The answer holds the receipt key: no cache may keep it.
        status, headers = (201, {}) if new else (200, {"Idempotent-Replayed": "true"})
        headers["Cache-Control"] = "no-store"
        if as_form and "application/json" not in request.headers.get("accept", ""):
            return HTMLResponse(render_template("site_receipt.html", need=need, receipt_url=receipt), status,
                                headers=headers)
        return JSONResponse({"reference": need.reference, "compound_id": need.compound_id,
                             "category": need.category, "receipt_url": receipt}, status, headers=headers)

    def _keyed_need(self, request: Request, fields: dict[str, str], cid: str, category: str, text: str,
                    contact: str | None) -> tuple[store.StoredNeed, bool]:
        """Store the need, or with an Idempotency-Key already used for the same fields, give
        the need stored then (False: not new); one transaction."""
        key, digest = self.key(request, fields), fields_digest(cid, category, text, contact)
        try:
            with store.transaction(self.conn):
                earlier = store.idempotent(self.conn, "need", key, digest, self.settings.idempotency.keep_hours * 3600)
                if earlier is not None:
                    return store.need_by_id(self.conn, earlier), False
                need = workflow.submit_need(self.conn, cid, category, text, contact, load_needs_config())
                store.remember(self.conn, "need", key, digest, store.need_id_of(need.reference))
        except store.KeyReused:
            raise _key_reused() from None
        return need, True

    def checkin(self, request: Request, officer: str, fields: dict[str, str]) -> tuple[store.StoredCheckin, dict]:
        """Record an officer's check-in from submitted fields (the API and the officer page)."""
        cid = self.compound(fields)
        kind = one_of(fields.get("kind"), CHECKIN_KINDS, "kind")
        note = clean_text(fields.get("note"), "note", CHECKIN_NOTE_MAX, required=False)
        key = self.key(request, fields)
        try:
            done = store.insert_checkin(self.conn, officer, cid, kind, note,
                                        timedelta(hours=self.settings.checkins.count_interval_hours), key,
                                        fields_digest(cid, kind, note), self.settings.idempotency.keep_hours * 3600)
        except store.KeyReused:
            raise _key_reused() from None
        return done, {"checkin_id": done.checkin_id, "officer_id": officer, "compound_id": cid, "kind": kind,
                      "counted": done.counted, "n_month": done.n_month}

    async def post_checkin(self, request: Request) -> Response:
        self.limit(request)  # before the token check, so guessing tokens is throttled too
        officer = self._officer(request)
        fields, _ = await self.fields(request)
        done, body = self.checkin(request, officer, fields)
        return JSONResponse(body, 201 if done.counted else 200)

    async def healthz(self, request: Request) -> Response:
        self.conn.execute("SELECT 1").fetchall()
        return JSONResponse({"status": "ok", "compounds": self.compounds.count(),
                             "site_as_of": self.compounds.as_of()})

    async def api_unknown(self, request: Request) -> Response:
        allowed = allowed_methods(request.app.routes, request.url.path)
        if allowed:
            raise Refusal(405, "method_not_allowed", "use " + " or ".join(allowed), {"Allow": ", ".join(allowed)})
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
        return HTMLResponse(render_template("site_404.html", not_genuine=False), exc.status_code, headers=exc.headers)


def _key_reused() -> Refusal:
    return Refusal(422, "idempotency_key_reused",
                   "this Idempotency-Key was used for a different submission; use a new key for new content")


def allowed_methods(routes, path: str) -> list[str]:
    """The methods the app's routes accept at ``path`` (for a 405's ``Allow``), catch-all
    routes aside."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    return sorted(methods)


class MethodGuard:
    """Wraps a files mount (the static site): at a path of one of the app's routes (reached
    here only with a method that route refuses) a 405 naming what the route accepts; at any
    other path only GET and HEAD, else a 405 naming those."""

    def __init__(self, app, routes):
        self.app, self.routes = app, routes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            allowed = allowed_methods(self.routes, scope["path"]) or ["GET", "HEAD"]
            if scope["method"] not in allowed:
                raise HTTPException(405, headers={"Allow": ", ".join(allowed)})
        await self.app(scope, receive, send)
