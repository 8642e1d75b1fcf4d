"""The intake service: serves the static site and takes safety needs and officer check-ins.

Every refusal is a 4xx with a JSON body ``{"error": <code>, "detail": <message>}``.
SQLite writes are a few tens of microseconds in WAL mode, so they run on the event
loop; one connection serves the process (uvicorn runs one worker per SQLite file).
"""
from __future__ import annotations

import json
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Iterable
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from intake import store
from intake.compounds import CompoundList
from intake.logs import RequestLog
from intake.ratelimit import RateLimit, TokenBuckets
from intake.siteroot import SiteFiles, SiteRoot
from intake.tokens import check_token
from intake.vocab import CHECKIN_KINDS, CHECKIN_NOTE_MAX, CONTACT_MAX, NEED_CATEGORIES, NEED_TEXT_MAX
from reports.site_env import render_template, site_env

MAX_BODY = 16 * 1024
_CONTACT = re.compile(
    r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|[^@\s]{1,40}@[^@\s]{1,40}\.[A-Za-z]{2,10})$"
)
_PLAQUE_PART = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Refusal(Exception):
    """A request we will not serve, with the status and the reason to give back."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


def create_app(*, site_dir: Path | None, db_path: Path, plaque_secret: str | None = None,
               out_dir: Path | None = None,
               rate_limit: RateLimit | None = RateLimit(), max_body: int = MAX_BODY,
               compound_ids: Iterable[str] | None = None, trust_forwarded: bool = False,
               cors_origins: Iterable[str] = ()) -> Starlette:
    """The ASGI app. ``site_dir`` is the rendered site (its ``search.json`` lists the
    compounds a need may name; ``compound_ids`` may add to or replace it). ``rate_limit``
    None disables the per-client limit (for load tests on one loopback address).
    ``out_dir`` instead of ``site_dir`` serves the newest ``OUT_DIR/<as_of>/site`` and
    follows the nightly run without a restart.
    ``cors_origins`` lets pages on another host (a CDN) post with JavaScript; plain form
    posts work from anywhere without it.
    ``plaque_secret`` is accepted for configuration symmetry with the plaque signer;
    verification relies on the static pages the plaque renderer writes."""
    del plaque_secret  # genuine plaques are exactly those with a rendered verification page
    root = SiteRoot(site_dir=site_dir, out_dir=out_dir)
    has_site = root.current() is not None
    compounds = CompoundList(lambda: (root.current() / "search.json") if has_site else None, compound_ids)
    conn = store.connect(Path(db_path))
    buckets = TokenBuckets(rate_limit) if rate_limit else None

    def client_key(request: Request) -> str:
        if trust_forwarded and (fwd := request.headers.get("x-forwarded-for")):
            return fwd.split(",")[0].strip()
        return request.client.host if request.client else "-"

    def limit(request: Request) -> None:
        if buckets is None:
            return
        wait = buckets.take(client_key(request))
        if wait > 0:
            raise Refusal(429, "rate_limited", "too many requests from this client; retry later",
                          {"Retry-After": str(max(1, int(wait + 0.999)))})

    async def read_fields(request: Request) -> tuple[dict[str, str], bool]:
        """The submitted fields and whether they came as an HTML form."""
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_body):
            raise Refusal(413, "body_too_large", f"request body over {max_body} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                raise Refusal(413, "body_too_large", f"request body over {max_body} bytes")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise Refusal(400, "bad_encoding", "body must be UTF-8") from None
        if ctype == "application/json":
            try:
                data = json.loads(text) if text else None
            except json.JSONDecodeError:
                raise Refusal(400, "bad_json", "body is not valid JSON") from None
            if not isinstance(data, dict):
                raise Refusal(422, "bad_json", "body must be a JSON object")
            if any(v is not None and not isinstance(v, str) for v in data.values()):
                raise Refusal(422, "bad_type", "every field must be a string")
            return {k: v for k, v in data.items() if v is not None}, False
        if ctype == "application/x-www-form-urlencoded":
            try:
                parsed = parse_qs(text, keep_blank_values=True, strict_parsing=False,
                                  max_num_fields=20, errors="strict")
            except (ValueError, UnicodeDecodeError):
                raise Refusal(400, "bad_form", "form body could not be parsed") from None
            return {k: v[0] for k, v in parsed.items()}, True
        raise Refusal(415, "unsupported_media_type",
                      "send application/json or application/x-www-form-urlencoded")

    def known_compound(fields: dict[str, str]) -> str:
        cid = (fields.get("compound_id") or "").strip()
        if not cid:
            raise Refusal(422, "missing_compound", "compound_id is required")
        if not compounds.has(cid):
            raise Refusal(404, "unknown_compound", f"no rated compound {cid[:40]!r}")
        return cid

    def clean_text(value: str | None, field: str, max_len: int, required: bool) -> str | None:
        value = (value or "").strip()
        if not value:
            if required:
                raise Refusal(422, f"missing_{field}", f"{field} is required")
            return None
        if len(value) > max_len:
            raise Refusal(422, f"{field}_too_long", f"{field} is limited to {max_len} characters")
        if _CONTROL.search(value):
            raise Refusal(422, f"bad_{field}", f"{field} contains control characters")
        return value

    async def post_need(request: Request) -> Response:
        limit(request)
        fields, as_form = await read_fields(request)
        cid = known_compound(fields)
        category = (fields.get("category") or "").strip()
        if category not in NEED_CATEGORIES:
            raise Refusal(422, "unknown_category", "category must be one of " + "、".join(NEED_CATEGORIES))
        text = clean_text(fields.get("text"), "text", NEED_TEXT_MAX, required=True)
        contact = clean_text(fields.get("contact"), "contact", CONTACT_MAX, required=False)
        if contact is not None and not _CONTACT.match(contact.replace(" ", "")):
            raise Refusal(422, "bad_contact", "contact must be a mobile or landline number or an e-mail address")
        need = store.insert_need(conn, cid, category, text, contact)
        receipt = f"/api/needs/{need.reference}?key={need.receipt_key}"
        if as_form and "application/json" not in request.headers.get("accept", ""):
            return HTMLResponse(render_template("site_receipt.html", need=need, receipt_url=receipt), 201)
        return JSONResponse({"reference": need.reference, "compound_id": cid, "category": category,
                             "receipt_url": receipt}, 201)

    async def get_need(request: Request) -> Response:
        need = store.find_need(conn, request.path_params["reference"], request.query_params.get("key", ""))
        if need is None:
            raise Refusal(404, "unknown_reference", "no such reference, or the key does not match")
        return HTMLResponse(render_template("site_receipt.html", need=need, receipt_url=None))

    async def post_checkin(request: Request) -> Response:
        limit(request)
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise Refusal(401, "missing_token", "send Authorization: Bearer <officer token>",
                          {"WWW-Authenticate": 'Bearer realm="safestar"'})
        officer, why = check_token(conn, auth[7:].strip())
        if officer is None:
            if why == "revoked":
                raise Refusal(403, "revoked_token", "this officer token has been revoked")
            raise Refusal(401, "invalid_token", "officer token not recognised",
                          {"WWW-Authenticate": 'Bearer realm="safestar", error="invalid_token"'})
        fields, _ = await read_fields(request)
        cid = known_compound(fields)
        kind = (fields.get("kind") or "").strip()
        if kind not in CHECKIN_KINDS:
            raise Refusal(422, "unknown_kind", "kind must be one of " + "、".join(CHECKIN_KINDS))
        note = clean_text(fields.get("note"), "note", CHECKIN_NOTE_MAX, required=False)
        checkin_id, n_month = store.insert_checkin(conn, officer, cid, kind, note)
        return JSONResponse({"checkin_id": checkin_id, "officer_id": officer, "compound_id": cid,
                             "kind": kind, "n_month": n_month}, 201)

    async def healthz(request: Request) -> Response:
        conn.execute("SELECT 1").fetchall()
        return JSONResponse({"status": "ok", "compounds": compounds.count(), "site_as_of": compounds.as_of()})

    async def plaque(request: Request) -> Response:
        serial, sig = request.path_params["serial"], request.path_params["sig"]
        site = root.current()
        if site is not None and _PLAQUE_PART.match(serial) and _PLAQUE_PART.match(sig):
            page = site / "p" / serial / sig / "index.html"
            if page.is_file():
                return FileResponse(page, media_type="text/html; charset=utf-8")
        request.state.refusal = "not_genuine"
        if site is not None and (site / "404.html").is_file():
            return FileResponse(site / "404.html", status_code=404, media_type="text/html; charset=utf-8")
        return HTMLResponse(render_template("site_404.html", serial=serial), 404)

    async def api_unknown(request: Request) -> Response:
        if request.url.path.rstrip("/") in ("/api/needs", "/api/checkins"):
            raise Refusal(405, "method_not_allowed", "use POST", {"Allow": "POST"})
        raise Refusal(404, "not_found", "no such API endpoint")

    async def on_refusal(request: Request, exc: Refusal) -> Response:
        request.state.refusal = exc.error
        return JSONResponse({"error": exc.error, "detail": exc.detail}, exc.status, headers=exc.headers)

    async def on_http(request: Request, exc: HTTPException) -> Response:
        request.state.refusal = f"http_{exc.status_code}"
        if request.url.path.startswith("/api/") or not has_site:
            return JSONResponse({"error": "method_not_allowed" if exc.status_code == 405 else "not_found",
                                 "detail": str(exc.detail)}, exc.status_code, headers=exc.headers)
        return HTMLResponse(render_template("site_404.html", serial=None), exc.status_code)

    # Compile the service's templates now, not on a resident's first request.
    for name in ("site_receipt.html", "site_404.html"):
        site_env().get_template(name)

    @asynccontextmanager
    async def lifespan(app):
        yield
        conn.close()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/needs", post_need, methods=["POST"]),
        Route("/api/needs/{reference}", get_need, methods=["GET"]),
        Route("/api/checkins", post_checkin, methods=["POST"]),
        Route("/api/{rest:path}", api_unknown),
        Route("/p/{serial}/{sig}", plaque, methods=["GET", "HEAD"]),
        Route("/p/{serial}/{sig}/", plaque, methods=["GET", "HEAD"]),
    ]
    if has_site:
        routes.append(Mount("/", SiteFiles(root), name="site"))
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={Refusal: on_refusal, HTTPException: on_http})
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["POST"],
                           allow_headers=["Content-Type", "Authorization"], max_age=3600)
    # Phones on weak connections: the search index shrinks about six-fold.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(RequestLog)
    return app
