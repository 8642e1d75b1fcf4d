"""Which rendered site the service serves: a fixed folder, or the newest run's site.

With an output folder the service follows the nightly run: once a newer
``OUT_DIR/<as_of>/site`` has its ``search.json`` (written last), it is served.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from starlette.staticfiles import StaticFiles

_AS_OF_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def latest_site(out_dir: Path) -> Path:
    """The site of the latest rating date under ``OUT_DIR/<as_of>/site``."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"output folder {out_dir} not found; run `safestar run` first or pass --site")
    dated = sorted(p for p in out_dir.iterdir() if _AS_OF_DIR.match(p.name) and (p / "site" / "search.json").is_file())
    if not dated:
        raise FileNotFoundError(f"no rendered site under {out_dir}/<as_of>/site; run `safestar run` first")
    return dated[-1] / "site"


class SiteRoot:
    """The current site folder, re-resolved at most every ``recheck_seconds``."""

    def __init__(self, site_dir: Path | None = None, out_dir: Path | None = None,
                 recheck_seconds: float = 30.0, clock=time.monotonic):
        if site_dir is not None and out_dir is not None:
            raise ValueError("pass either a site folder or an output folder, not both")
        self._out, self._clock, self._every = out_dir, clock, recheck_seconds
        if site_dir is not None and not Path(site_dir).is_dir():
            raise FileNotFoundError(f"site folder {site_dir} does not exist; render the site first or pass --site")
        self._path = Path(site_dir) if site_dir is not None else (latest_site(out_dir) if out_dir else None)
        self._checked = clock()

    def current(self) -> Path | None:
        if self._out is not None and self._clock() - self._checked >= self._every:
            self._checked = self._clock()
            try:
                self._path = latest_site(self._out)
            except FileNotFoundError:
                pass  # keep serving the last good site
        return self._path


class SiteFiles:
    """ASGI app serving the current site's static files (index.html for folders, 404.html)."""

    def __init__(self, root: SiteRoot):
        self._root = root
        self._apps: dict[Path, StaticFiles] = {}

    async def __call__(self, scope, receive, send):
        path = self._root.current()
        app = self._apps.get(path)
        if app is None:
            self._apps = {path: StaticFiles(directory=path, html=True)}  # drop the old run's
            app = self._apps[path]
        await app(scope, receive, send)
