"""The intake service: renders the public site on request and takes safety needs and officer
check-ins.

Every refusal is a 4xx with a JSON body ``{"error": <code>, "detail": <message>}``.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Iterable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Route

from intake import store
from intake.bodies import MAX_BODY, Refusal
from intake.compounds import CompoundList
from intake.handlers import Handlers
from intake.logs import RequestLog
from intake.ratelimit import RateLimit, TokenBuckets
from intake.siteroot import Publications, SitePages, find_publication
from reports.templating import environment


def create_app(*, site_dir: Path | None, db_path: Path, plaque_secret: str | None = None,
               out_dir: Path | None = None, rate_limit: RateLimit | None = RateLimit(),
               max_body: int = MAX_BODY, compound_ids: Iterable[str] | None = None,
               trust_forwarded: bool = False, cors_origins: Iterable[str] = ()) -> Starlette:
    """The ASGI app.

    ``site_dir`` is a publication (``public.sqlite``, or a published date folder holding
    one); ``out_dir`` instead follows ``OUT_DIR/latest`` and so each nightly publication
    without a restart. Its compounds are those a need may name; ``compound_ids`` adds to
    them, or replaces them without a publication. ``rate_limit`` None disables the
    per-client limit (load tests on one loopback address). ``trust_forwarded`` keys the
    limit on X-Forwarded-For (behind your proxy). ``cors_origins`` lets pages hosted
    elsewhere (a CDN) post with JavaScript; plain form posts work without it.
    ``plaque_secret`` verifies plaque signatures on request; without it, a plaque page opens
    only at the signed path recorded when the plaque was issued."""
    if site_dir is not None and out_dir is not None:
        raise ValueError("pass either a publication (--site) or an output folder (--out), not both")
    where = site_dir if site_dir is not None else out_dir
    pubs = Publications(find_publication(where)) if where is not None else None
    compounds = CompoundList(pubs.current if pubs is not None else None, compound_ids)
    conn = store.connect(Path(db_path))
    h = Handlers(conn, compounds, pubs, TokenBuckets(rate_limit) if rate_limit else None, max_body,
                 trust_forwarded)
    # Compile the service's templates now, not on a resident's first request.
    for name in ("site_receipt.html", "site_404.html", "site_refusal.html", "site_compound.html", "site_plaque.html"):
        environment().get_template(name)

    @asynccontextmanager
    async def lifespan(app):
        yield
        conn.close()

    routes = [
        Route("/healthz", h.healthz, methods=["GET"]),
        Route("/api/needs", h.post_need, methods=["POST"]),
        Route("/api/needs/{reference}", h.get_need, methods=["GET"]),
        Route("/api/checkins", h.post_checkin, methods=["POST"]),
        Route("/api/{rest:path}", h.api_unknown),
    ]
    if pubs is not None:
        # Every other path is a public page, rendered from the publication; nothing on disk is served.
        routes.append(Route("/{path:path}", SitePages(pubs, plaque_secret).page, methods=["GET", "HEAD"]))
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={Refusal: h.on_refusal, HTTPException: h.on_http})
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["POST"],
                           allow_headers=["Content-Type", "Authorization"], max_age=3600)
    # Phones on weak connections: the search index shrinks about six-fold.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(RequestLog)
    return app
