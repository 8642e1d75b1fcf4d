"""What every response of the intake service gets, whatever route made it: the security
headers (HSTS over https), a cap on requests in progress, and the origin check on every
state-changing request. Plain ASGI middleware, so routes added later get them too."""
from __future__ import annotations

import multiprocessing
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

# Scripts only from the service's own files (no inline script, no eval); inline style is
# allowed (the pages carry one <style> block), never script.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # Referrers never leave the site; same-origin posts keep their Origin header (under
    # no-referrer a browser's form post would send "Origin: null").
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", CSP.encode("ascii")),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_NAMES = frozenset(k for k, _ in HEADERS) | {b"strict-transport-security"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SecurityHeaders:
    """Adds the security headers to every response, and HSTS when the request came over
    https (directly or through a trusted proxy's X-Forwarded-Proto)."""

    def __init__(self, app, hsts_max_age: int):
        self.app = app
        self.hsts = [(b"strict-transport-security", f"max-age={hsts_max_age}".encode("ascii"))] if hsts_max_age else []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = HEADERS + (self.hsts if scope.get("scheme") == "https" else [])

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [h for h in message.get("headers", []) if h[0] not in _NAMES] + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SharedCount:
    """A count every worker process of the service sees (a ``multiprocessing`` shared
    integer, passed to each worker as it starts), so a cap holds over all of them."""

    def __init__(self):
        self._value = multiprocessing.get_context("spawn").RawValue("i", 0)
        self._lock = multiprocessing.get_context("spawn").Lock()

    def enter(self, limit: int) -> bool:
        """Count one more, unless ``limit`` are counted already (then False)."""
        with self._lock:
            if self._value.value >= limit:
                return False
            self._value.value += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._value.value -= 1

    @property
    def value(self) -> int:
        return self._value.value


class ConcurrencyCap:
    """At most ``limit`` requests in progress (over every worker process sharing
    ``count``); the next ones get 503 at once (and their connection closed) instead of
    queueing behind slow clients."""

    def __init__(self, app, limit: int, count: SharedCount | None = None):
        self.app, self.limit, self.count = app, limit, count or SharedCount()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not self.count.enter(self.limit):
            scope.setdefault("state", {})["refusal"] = "busy"
            response = JSONResponse({"error": "busy", "detail": "the service is at capacity; retry shortly"}, 503,
                                    headers={"Retry-After": "1", "Connection": "close"})
            return await response(scope, receive, send)
        try:
            await self.app(scope, receive, send)
        finally:
            self.count.leave()


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def cross_origin(scope, allowed: frozenset[str]) -> str | None:
    """Why a state-changing request must be refused as cross-origin, or None when it may
    proceed. The rules, in order:

    1. ``Sec-Fetch-Site`` (set by the browser, not by page scripts): ``same-origin`` passes;
       anything else passes only with an ``Origin`` in ``allowed`` (the CORS origins).
    2. ``Origin``: must be this service's own origin (scheme and Host as received) or in
       ``allowed``; ``Origin: null`` (sandboxed or privacy-stripped) is refused.
    3. No ``Origin``: a ``Referer`` must then be of this service's origin (or allowed).
    4. Neither header: not a browser's cross-site post (every current browser sends
       ``Origin`` on a POST); API clients and scripts pass.
    """
    headers = Headers(scope=scope)
    host = headers.get("host")
    own = f"{scope.get('scheme', 'http')}://{host}".lower() if host else None
    origin = headers.get("origin")
    site = headers.get("sec-fetch-site")
    if site is not None:
        if site == "same-origin" or (origin is not None and origin.lower() in allowed):
            return None
        return f"sec_fetch_site_{site[:20]}"
    if origin is not None:
        origin = origin.lower()
        return None if origin == own or origin in allowed else "foreign_origin"
    referer = headers.get("referer")
    if referer is not None:
        came_from = _origin(referer)
        return None if came_from is not None and (came_from == own or came_from in allowed) else "foreign_referer"
    return None


class OriginCheck:
    """Refuses (403) a state-changing request that a page of another site made the
    browser send (cross-site request forgery), by the rules of ``cross_origin``."""

    def __init__(self, app, allowed_origins=()):
        self.app = app
        self.allowed = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            return await self.app(scope, receive, send)
        why = cross_origin(scope, self.allowed)
        if why is None:
            return await self.app(scope, receive, send)
        scope.setdefault("state", {})["refusal"] = f"cross_origin:{why}"
        response = JSONResponse({"error": "cross_origin",
                                 "detail": "this form must be sent from the service's own pages"}, 403,
                                headers={"Connection": "close"})
        await response(scope, receive, send)
