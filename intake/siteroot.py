"""Which publication the service renders pages from: a fixed file, or the one the nightly
run publishes (``OUT_DIR/latest/public.sqlite``), followed without a restart.

``pipelines.publish`` switches ``OUT_DIR/latest`` in one rename. Every request resolves the
link once (one ``stat``); a new file is opened when it changed, and each response is made
from the one publication it started with, so no page mixes two nights.
"""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

import reports
from pipelines.publish import LATEST
from plaques.sign import DEMO_SECRET, verify_signature
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
    publication, with caching headers keyed by the publication and the page code."""

    CACHE_SIZE = 4096

    def __init__(self, publications: Publications, plaque_secret: str | None = None):
        self.publications = publications
        self._secret = plaque_secret
        self._cache: OrderedDict[tuple[str, str], Page] = OrderedDict()
        self._code = _templates_digest()

    def _verify(self, pub: Publication):
        secret = DEMO_SECRET if pub.demo else self._secret  # a demo publication's plaques carry the demo key
        if secret is None:
            return None  # the signed path recorded at issuance is compared instead
        return lambda serial, signature: verify_signature(serial, signature, secret)

    async def page(self, request: Request) -> Response:
        pub = self.publications.current()  # one publication for the whole response
        path = request.url.path
        etag = f'"{pub.id}-{self._code}"'
        max_age = 60 if path.startswith("/p/") else 300
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        key = (pub.id, path)
        page = self._cache.get(key)
        if page is None:
            if path.endswith(".svg"):  # a chart: vl-convert takes tens of ms, off the event loop
                page = await run_in_threadpool(render, pub, path, self._verify(pub))
            else:
                page = render(pub, path, self._verify(pub))
            if page.status == 200:
                self._cache[key] = page
                if len(self._cache) > self.CACHE_SIZE:
                    self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        if page.status == 404:
            request.state.refusal = "not_genuine" if "非正品牌匾" in page.body[:600] else "not_found"
            return HTMLResponse(page.body, 404, headers={"Cache-Control": "no-store"})
        if page.location is not None:
            return RedirectResponse(page.location, page.status)
        if request.method == "HEAD":
            return Response(status_code=page.status, headers=headers, media_type=page.media_type)
        return Response(page.body, page.status, headers=headers, media_type=page.media_type)


def _templates_digest() -> str:
    """Changes whenever a template changes (so does every page's ETag)."""
    digest = hashlib.sha256()
    folder = Path(reports.__file__).with_name("templates")
    for f in sorted(folder.iterdir()):
        digest.update(f.name.encode() + f.read_bytes())
    return digest.hexdigest()[:8]
