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
import sqlite3
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, RedirectResponse, Response

import reports
from pipelines.publish import LATEST
from intake.vocab import local_now
from plaques.keys import DEMO_SECRET, GENUINE, OLD_KEY, Keyring, SigningKey
from reports.site import Page, render
from reports.site_store import FILE_NAME, Publication

# Plaque pages follow a withdrawal within a minute; other pages may be kept five.
_PLAQUE_CACHE, _PAGE_CACHE = "public, max-age=60", "public, max-age=300"


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
            # One stat through the link: the file it names now. Only a new file is resolved
            # (a realpath is a stat per folder) and opened.
            st = os.stat(self._path)
            key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            if key != self._key:
                self._pub, self._key = Publication(Path(os.path.realpath(self._path))), key
        except (OSError, ValueError):
            if self._pub is None:
                raise
            # keep serving the last good publication
        return self._pub


class PageCache:
    """Rendered pages, gzipped, keyed by publication and path, in one SQLite database that
    every worker process of the service opens (``path``; in memory for one process): a page
    is rendered and compressed once per publication, whichever worker is asked for it.
    Bounded to ``budget`` bytes of pages, the oldest dropped first. Reads never wait (WAL);
    a page that finds another worker writing is not stored this time (no request waits)."""

    def __init__(self, budget: int, path: str = ":memory:"):
        self.budget = budget
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL").fetchall()
            self._conn.execute("PRAGMA synchronous=OFF")  # a copy of what the publication holds
        self._conn.executescript("""
            CREATE TABLE IF NOT EXISTS pages (id INTEGER PRIMARY KEY, pub TEXT NOT NULL, path TEXT NOT NULL,
                                              media TEXT NOT NULL, body BLOB NOT NULL, UNIQUE (pub, path));
            CREATE TABLE IF NOT EXISTS held (one INTEGER PRIMARY KEY CHECK (one = 0), bytes INTEGER NOT NULL);
            INSERT OR IGNORE INTO held VALUES (0, 0);""")
        self._conn.execute("PRAGMA busy_timeout = 0")  # from now on a request never waits for a lock

    def get(self, pub: str, path: str) -> tuple[str, bytes] | None:
        try:
            return self._conn.execute("SELECT media, body FROM pages WHERE pub = ? AND path = ?", (pub, path)).fetchone()
        except sqlite3.OperationalError:
            return None  # a checkpoint in the way: render it

    def put(self, pub: str, path: str, media: str, body: bytes) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return  # another worker is writing: this page is stored another time
        try:
            if self._conn.execute("INSERT OR IGNORE INTO pages (pub, path, media, body) VALUES (?, ?, ?, ?)",
                                  (pub, path, media, body)).rowcount:
                held = self._conn.execute("UPDATE held SET bytes = bytes + ? RETURNING bytes",
                                          (len(body) + len(path),)).fetchone()[0]
                while held > self.budget:
                    (gone,) = self._conn.execute("DELETE FROM pages WHERE id = (SELECT min(id) FROM pages) "
                                                 "RETURNING length(body) + length(path)").fetchone()
                    held = self._conn.execute("UPDATE held SET bytes = bytes - ? RETURNING bytes", (gone,)).fetchone()[0]
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    @property
    def held(self) -> int:
        """Bytes of pages held (bodies and paths)."""
        return self._conn.execute("SELECT bytes FROM held").fetchone()[0]

    def keys(self) -> list[tuple[str, str]]:
        """(publication, path) of every page held, oldest first."""
        return self._conn.execute("SELECT pub, path FROM pages ORDER BY id").fetchall()


class SitePages:
    """The public pages, rendered on request (``reports.site.render``) from the current
    publication, with caching headers keyed by the publication and the page code. Pages are
    kept gzipped in ``cache`` (shared by the worker processes), so a page is rendered and
    compressed once per publication; the rare client without gzip gets it decompressed."""

    def __init__(self, publications: Publications, plaque_secret: str | None = None, keyring: Keyring | None = None,
                 *, cache: PageCache):
        self.publications = publications
        # The keyring verifies plaques of retired keys in their grace period too.
        self._keyring = keyring or (Keyring(SigningKey.of(plaque_secret)) if plaque_secret else None)
        self._demo_keyring = Keyring(SigningKey.of(DEMO_SECRET))
        self.cache = cache
        self.hits = self.misses = 0  # this process's
        self._code = _templates_digest()

    def _verify(self, pub: Publication):
        keyring = self._demo_keyring if pub.demo else self._keyring  # a demo publication's plaques carry the demo key
        if keyring is None:
            return None  # the signed path recorded at issuance is compared instead
        return lambda serial, signature: keyring.check(serial, signature, local_now().date()) in (GENUINE, OLD_KEY)

    async def _rendered(self, pub: Publication, path: str) -> Page | tuple[str, bytes]:
        """A page from the cache (media type, gzipped body), or rendered: a page of status
        200 is compressed and cached, any other is returned as rendered."""
        hit = self.cache.get(pub.id, path)
        if hit is not None:
            self.hits += 1
            return hit
        self.misses += 1
        if path.endswith(".svg"):  # a chart: vl-convert takes tens of ms, off the event loop
            page = await run_in_threadpool(render, pub, path, self._verify(pub))
        else:
            page = render(pub, path, self._verify(pub))
        if page.status != 200:
            return page
        entry = (page.media_type, gzip.compress(page.body.encode("utf-8"), 6))
        self.cache.put(pub.id, path, *entry)
        return entry

    async def __call__(self, scope, receive, send) -> None:
        """The page at the request's path, as a plain ASGI app (no request object: this is
        the hot path of the service)."""
        pub = self.publications.current()  # one publication for the whole response
        path = scope["path"]
        headers = Headers(scope=scope)
        etag = f'"{pub.id}-{self._code}"'
        cache = _PLAQUE_CACHE if path.startswith("/p/") else _PAGE_CACHE
        if etag in headers.get("if-none-match", ""):
            response = Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache, "Vary": "Accept-Encoding"})
            return await response(scope, receive, send)
        got = await self._rendered(pub, path)
        if isinstance(got, Page):
            if got.status == 404:
                scope.setdefault("state", {})["refusal"] = got.reason or "not_found"
                response = HTMLResponse(got.body, 404, headers={"Cache-Control": "no-store"})
            elif got.location is not None:
                response = RedirectResponse(got.location, got.status)
            else:
                response = Response(got.body, got.status, media_type=got.media_type, headers={"Cache-Control": "no-store"})
            return await response(scope, receive, send)
        media_type, body = got
        out = {"ETag": etag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
        if "gzip" in headers.get("accept-encoding", ""):
            out["Content-Encoding"] = "gzip"
        else:
            body = gzip.decompress(body)
        if scope["method"] == "HEAD":
            out["Content-Length"] = str(len(body))
            body = b""
        await Response(body, 200, headers=out, media_type=media_type)(scope, receive, send)


class SiteFirst:
    """ASGI middleware: a GET or HEAD of a public page goes straight to ``site``, past the
    router, its exception handling and the gzip middleware (pages are kept gzipped), which
    cost a served page more than the page itself. A public page is any path whose first
    segment none of ``routes`` claims; everything else goes on to ``app`` (where the site
    is also mounted, behind the router, for what this lets through)."""

    def __init__(self, app, site: SitePages, routes):
        self.app, self.site = app, site
        firsts = {getattr(r, "path", "").lstrip("/").split("/", 1)[0] for r in routes}
        # A route whose first segment is a parameter could claim any path: no shortcut.
        self.reserved = None if any("{" in f or not f for f in firsts) else frozenset(firsts)

    async def __call__(self, scope, receive, send):
        if (scope["type"] == "http" and self.reserved is not None and scope["method"] in ("GET", "HEAD")
                and scope["path"][1:].split("/", 1)[0] not in self.reserved):
            return await self.site(scope, receive, send)
        await self.app(scope, receive, send)


def _templates_digest() -> str:
    """Changes whenever a template changes (so does every page's ETag)."""
    digest = hashlib.sha256()
    folder = Path(reports.__file__).with_name("templates")
    for f in sorted(folder.iterdir()):
        digest.update(f.name.encode() + f.read_bytes())
    return digest.hexdigest()[:8]
