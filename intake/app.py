"""The intake service: serves the static site and takes safety needs and officer check-ins.

Every refusal is a 4xx with a JSON body ``{"error": <code>, "detail": <message>}``.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from datetime import datetime
from typing import Callable, Iterable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount, Route

from intake import store
from intake.bodies import MAX_BODY, Refusal
from intake.compounds import CompoundList
from intake.handlers import Handlers
from intake.logs import RequestLog
from intake.ratelimit import RateLimit, TokenBuckets
from intake.siteroot import SiteFiles, SiteRoot
from intake.staff_pages import StaffPages, StaffRefusal
from intake.vocab import local_now
from intake.workflow_config import load_needs_config
from intake.workflow_receipt import ReceiptPages
from reports.site_env import site_env


def create_app(*, site_dir: Path | None, db_path: Path, plaque_secret: str | None = None,
               out_dir: Path | None = None, rate_limit: RateLimit | None = RateLimit(),
               max_body: int = MAX_BODY, compound_ids: Iterable[str] | None = None,
               trust_forwarded: bool = False, cors_origins: Iterable[str] = (),
               clock: Callable[[], datetime] = local_now) -> Starlette:
    """The ASGI app.

    ``site_dir`` is the rendered site (its ``search.json`` lists the compounds a need may
    name; ``compound_ids`` adds to it, or replaces it without a site). ``out_dir`` instead
    serves the newest ``OUT_DIR/<as_of>/site`` and follows the nightly run without a
    restart. ``rate_limit`` None disables the per-client limit (load tests on one loopback
    address). ``trust_forwarded`` keys the limit on X-Forwarded-For (behind your proxy).
    ``cors_origins`` lets pages hosted elsewhere (a CDN) post with JavaScript; plain form
    posts work without it. ``plaque_secret`` is accepted for configuration symmetry with
    the plaque signer: a plaque is genuine exactly when its verification page exists.
    ``clock`` is the service's notion of now for the needs workflow (tests move it)."""
    del plaque_secret
    root = SiteRoot(site_dir=site_dir, out_dir=out_dir)
    has_site = root.current() is not None
    compounds = CompoundList(lambda: (root.current() / "search.json") if has_site else None, compound_ids)
    conn = store.connect(Path(db_path))
    h = Handlers(conn, compounds, root, TokenBuckets(rate_limit) if rate_limit else None, max_body,
                 trust_forwarded)
    needs_cfg = load_needs_config()
    staff = StaffPages(conn, needs_cfg, clock)
    receipts = ReceiptPages(conn, needs_cfg, clock)
    # Compile the service's templates now, not on a resident's first request.
    for name in ("site_receipt.html", "site_404.html", "site_refusal.html"):
        site_env().get_template(name)

    @asynccontextmanager
    async def lifespan(app):
        async with staff.sweeping():
            yield
        conn.close()

    routes = [
        Route("/healthz", h.healthz, methods=["GET"]),
        Route("/api/needs", h.post_need, methods=["POST"]),
        *receipts.routes(),
        Route("/api/checkins", h.post_checkin, methods=["POST"]),
        Route("/api/{rest:path}", h.api_unknown),
        Route("/p/{name}", h.plaque, methods=["GET", "HEAD"]),
        Route("/p/{serial}/{sig}", h.plaque_folder, methods=["GET", "HEAD"]),
        Route("/p/{serial}/{sig}/", h.plaque_folder, methods=["GET", "HEAD"]),
        *staff.routes(),
    ]
    if has_site:
        routes.append(Mount("/", SiteFiles(root), name="site"))
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={Refusal: h.on_refusal, HTTPException: h.on_http,
                                        StaffRefusal: staff.on_refusal})
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["POST"],
                           allow_headers=["Content-Type", "Authorization"], max_age=3600)
    # Phones on weak connections: the search index shrinks about six-fold.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(RequestLog)
    return app
