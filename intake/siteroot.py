"""Which publication the service renders pages from: a fixed file, or the one the nightly
run publishes (``OUT_DIR/latest/public.sqlite``), followed without a restart.

``pipelines.publish`` switches ``OUT_DIR/latest`` in one rename. Every request resolves the
link once (one ``stat``); a new file is opened when it changed, and each response is made
from the one publication it started with, so no page mixes two nights.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from collections import OrderedDict
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

import reports
from pipelines.publish import LATEST
from intake.vocab import local_now
from plaques.keys import DEMO_SECRET, GENUINE, OLD_KEY, Keyring, SigningKey
from reports.site import Page, render
from reports.site_store import FILE_NAME, Publication


def find_publication(where: Path) -> Path:
    """The publication file ``where`` names: the file itself, a published date folder
    holding one, or an output folder (its ``latest`` publication, followed)."""
    where = Path(where)
    if where.is_file():
        return where
    for candidate in (where / FILE_NAME, where / LATEST / FILE_NAME):
        if candidate.is_file():
            return candidate
    if not where.exists():
        raise FileNotFoundError(f"{where} does not exist; run `safestar run --out {where}` first or pass --out")
    raise FileNotFoundError(f"no publication ({FILE_NAME}) under {where}: run `safestar run` first, "
                            f"or pass the output folder with --out")


class Publications:
    """The current publication, re-resolved on every ``current()`` call."""

    def __init__(self, path: Path):
        self._path = Path(path)
        self._key: tuple | None = None
        self._pub: Publication | None = None
        self.current()

    def current(self) -> Publication:
        try:
            real = os.path.realpath(self._path)
            st = os.stat(real)
            key = (real, st.st_dev, st.st_ino, st.st_mtime_ns)
            if key != self._key:
                self._pub, self._key = Publication(Path(real)), key
        except (OSError, ValueError):
            if self._pub is None:
                raise
            # keep serving the last good publication
        return self._pub


class SitePages:
    """The public pages, rendered on request (``reports.site.render``) from the current
    publication, with caching headers keyed by the publication and the page code. Rendered
    pages are kept gzipped (a bounded LRU by bytes), so a popular page is rendered and
    compressed once per publication."""

    CACHE_BYTES = 64 * 2**20

    def __init__(self, publications: Publications, plaque_secret: str | None = None, keyring: Keyring | None = None):
        self.publications = publications
        # The keyring verifies plaques of retired keys in their grace period too.
        self._keyring = keyring or (Keyring(SigningKey.of(plaque_secret)) if plaque_secret else None)
        self._demo_keyring = Keyring(SigningKey.of(DEMO_SECRET))
        self._cache: OrderedDict[tuple[str, str], tuple[Page, bytes, bytes]] = OrderedDict()
        self._cached_bytes = 0
        self._code = _templates_digest()

    def _verify(self, pub: Publication):
        keyring = self._demo_keyring if pub.demo else self._keyring  # a demo publication's plaques carry the demo key
        if keyring is None:
            return None  # the signed path recorded at issuance is compared instead
        return lambda serial, signature: keyring.check(serial, signature, local_now().date()) in (GENUINE, OLD_KEY)

    async def _rendered(self, pub: Publication, path: str) -> tuple[Page, bytes, bytes]:
        key = (pub.id, path)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        if path.endswith(".svg"):  # a chart: vl-convert takes tens of ms, off the event loop
            page = await run_in_threadpool(render, pub, path, self._verify(pub))
        else:
            page = render(pub, path, self._verify(pub))
        body = page.body.encode("utf-8")
        entry = (page, body, gzip.compress(body, 6) if page.status == 200 else b"")
        if page.status == 200:
            self._cache[key] = entry
            self._cached_bytes += len(entry[2])
            while self._cached_bytes > self.CACHE_BYTES:
                self._cached_bytes -= len(self._cache.popitem(last=False)[1][2])
        return entry

    async def page(self, request: Request) -> Response:
        pub = self.publications.current()  # one publication for the whole response
        path = request.url.path
        etag = f'"{pub.id}-{self._code}"'
        max_age = 60 if path.startswith("/p/") else 300
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}", "Vary": "Accept-Encoding"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        page, body, gz = await self._rendered(pub, path)
        if page.status == 404:
            request.state.refusal = page.reason or "not_found"
            return HTMLResponse(body, 404, headers={"Cache-Control": "no-store"})
        if page.location is not None:
            return RedirectResponse(page.location, page.status)
        if "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = gz, "gzip"
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=page.status, headers=headers, media_type=page.media_type)
        return Response(body, page.status, headers=headers, media_type=page.media_type)


def _templates_digest() -> str:
    """Changes whenever a template changes (so does every page's ETag)."""
    digest = hashlib.sha256()
    folder = Path(reports.__file__).with_name("templates")
    for f in sorted(folder.iterdir()):
        digest.update(f.name.encode() + f.read_bytes())
    return digest.hexdigest()[:8]
