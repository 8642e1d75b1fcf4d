"""The intake service: renders the public site on request and takes safety needs and officer
check-ins.

Every refusal is a 4xx with a JSON body ``{"error": <code>, "detail": <message>}``.
Every response, of every route, carries the security headers (``intake.security``).
"""
from __future__ import annotations

import contextlib
from contextlib import asynccontextmanager
from pathlib import Path
from datetime import datetime
from typing import Callable, Iterable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount, Route, request_response
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from intake import store
from intake.bodies import Refusal
from intake.compounds import CompoundList
from intake.handlers import Handlers, MethodGuard
from intake.logs import RequestLog
from intake.officer import OfficerPage
from intake.ratelimit import RateLimit, TokenBuckets
from intake.security import ConcurrencyCap, OriginCheck, SecurityHeaders
from intake.server import Shared
from intake.settings import IntakeSettings, load_intake_settings
from intake.siteroot import PageCache, Publications, SiteFirst, SitePages, find_publication
from reports.templating import environment
from intake.staff_pages import StaffPages, StaffRefusal
from intake.vocab import local_now
from intake.workflow_config import load_needs_config
from intake.workflow_receipt import ReceiptPages

# The pages' own scripts (no inline script: the CSP forbids it).
SCRIPTS_DIR = Path(__file__).resolve().parents[1] / "reports" / "static" / "site"
_DEFAULT = object()


def create_app(*, site_dir: Path | None, db_path: Path, plaque_secret: str | None = None, plaque_keyring=None,
               out_dir: Path | None = None, rate_limit: RateLimit | None | object = _DEFAULT,
               compound_ids: Iterable[str] | None = None, trusted_proxies: Iterable[str] | None = None,
               cors_origins: Iterable[str] = (), settings: IntakeSettings | None = None,
               clock: Callable[[], datetime] = local_now, shared: Shared | None = None,
               sweep: bool = True) -> Starlette:
    """The ASGI app.

    ``site_dir`` is a publication (``public.sqlite``, or a published date folder holding
    one); ``out_dir`` instead follows ``OUT_DIR/latest`` and so each nightly publication
    without a restart. Its compounds are those a need may name; ``compound_ids`` adds to
    them, or replaces them without a publication. ``settings`` is the policy (default
    ``config/intake.yaml``); ``rate_limit`` overrides its rate limit, None disables it (load
    tests on one loopback address). ``trusted_proxies`` (default: the settings') are the
    proxy hops whose X-Forwarded-For/-Proto are believed. ``cors_origins`` lets pages hosted
    elsewhere (a CDN) post with JavaScript; they also pass the origin check.
    ``plaque_keyring`` (or just ``plaque_secret``) verifies plaque signatures on request; without it, a plaque page opens
    only at the signed path recorded when the plaque was issued. ``clock`` is the service's
    notion of now for the needs workflow (tests move it). ``shared`` is what several worker
    processes share (``intake.server.serve``): the caps, the rate limit's buckets and the
    page cache; default: this process's own. ``sweep``: this process escalates overdue needs
    in the background (one worker of several does)."""
    if site_dir is not None and out_dir is not None:
        raise ValueError("pass either a publication (--site) or an output folder (--out), not both")
    settings = settings or load_intake_settings()
    if rate_limit is _DEFAULT:
        rate_limit = RateLimit(settings.rate_limit.burst, settings.rate_limit.per_second)
    proxies = list(settings.trusted_proxies if trusted_proxies is None else trusted_proxies)
    where = site_dir if site_dir is not None else out_dir
    pubs = Publications(find_publication(where)) if where is not None else None
    compounds = CompoundList(pubs.current if pubs is not None else None, compound_ids)
    conn = store.connect(Path(db_path))
    shared = shared or Shared()
    h = Handlers(conn, compounds, pubs, TokenBuckets(rate_limit, shared.buckets) if rate_limit else None, settings)
    needs_cfg = load_needs_config()
    staff = StaffPages(conn, needs_cfg, clock)
    receipts = ReceiptPages(conn, needs_cfg, clock)
    # Compile the service's templates now, not on a resident's first request.
    for name in ("site_receipt.html", "site_404.html", "site_refusal.html", "site_compound.html", "site_plaque.html",
                 "officer_checkin.html"):
        environment().get_template(name)

    @asynccontextmanager
    async def lifespan(app):
        seconds = settings.database.checkpoint_seconds
        with store.Checkpointer(conn, Path(db_path), seconds) if seconds else contextlib.nullcontext():
            async with staff.sweeping() if sweep else contextlib.nullcontext():
                yield
        conn.close()

    routes = [
        Route("/healthz", h.healthz, methods=["GET"]),
        Route("/api/needs", h.post_need, methods=["POST"]),
        *receipts.routes(),
        Route("/api/checkins", h.post_checkin, methods=["POST"]),
        *OfficerPage(h).routes(),
        # Any other /api/… path, any method: 405 with the right Allow, or a JSON 404.
        Mount("/api", request_response(h.api_unknown)),
        Mount("/static", MethodGuard(StaticFiles(directory=SCRIPTS_DIR), []), name="static"),
        *staff.routes(),
    ]
    site = None
    if pubs is not None:
        # Every other path is a public page, rendered from the publication; nothing on disk is
        # served. GET and HEAD only; other methods a 405 with what the path accepts.
        cache = PageCache(int(settings.site.page_cache_mib * 2**20), shared.pages)
        site = SitePages(pubs, plaque_secret, plaque_keyring, cache=cache)
        routes.append(Mount("/", MethodGuard(site, routes), name="site"))
    # Outermost first: the real client (trusted hops only), then the headers every response
    # carries, the log (and the 500 for a route's bug), the cap, the origin check.
    middleware = [
        Middleware(ProxyHeadersMiddleware, trusted_hosts=proxies or []),
        Middleware(SecurityHeaders, hsts_max_age=settings.hsts_max_age_seconds),
        Middleware(RequestLog),
        Middleware(ConcurrencyCap, limit=settings.limits.max_concurrent_requests, count=shared.requests),
        Middleware(OriginCheck, allowed_origins=list(cors_origins)),
    ]
    if cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["POST"],
                                     allow_headers=["Content-Type", "Authorization", "Idempotency-Key"],
                                     max_age=3600))
    if site is not None:  # public pages, already gzipped, skip the router and the gzip below
        middleware.append(Middleware(SiteFirst, site=site, routes=routes[:-1]))
    # Phones on weak connections: the other answers (staff pages, scripts) shrink too.
    middleware.append(Middleware(GZipMiddleware, minimum_size=1024))
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware,
                     exception_handlers={Refusal: h.on_refusal, HTTPException: h.on_http,
                                         StaffRefusal: staff.on_refusal})
