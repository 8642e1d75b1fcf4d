"""Verification pages: what a resident sees after scanning a plaque (static files).

``site_dir/p/<serial>/<signature>/index.html`` for every plaque ever issued (old and
withdrawn ones say so), and ``site_dir/p/index.html`` + ``site_dir/404.html`` for any
other path: an unknown or altered path is not a genuine plaque. zh-CN, mobile first,
inline CSS, no external resources, well under 100 KB.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
from pandera.typing.polars import DataFrame

from plaques.sign import sign_serial
from plaques.templates import FONT_STACK, template
from plaques.verify import STATUS_TEXT, _public_dict, status_frame
from schemas.ratings import Rating

MAX_PAGE_BYTES = 100 * 1024
# The public site's compound pages live at /c/<slug>/; the slug is the id when URL-safe.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,80}$")


def _compound_href(compound_id: str) -> str | None:
    return f"../../../c/{compound_id}/" if _SAFE_ID.match(compound_id) else None


def _write(path: Path, html: str) -> Path:
    data = html.encode("utf-8")
    if len(data) > MAX_PAGE_BYTES:
        raise ValueError(f"{path} would be {len(data)} bytes, over the {MAX_PAGE_BYTES}-byte page budget")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def render_not_genuine(root: str = "/") -> str:
    """The page for any path that is not a genuine plaque."""
    return template("plaque_not_genuine.html").render(font_stack=FONT_STACK, text=STATUS_TEXT["not_genuine"],
                                                      root=root)


def render_verification_pages(site_dir: Path, registry: pl.DataFrame, ratings: DataFrame[Rating], *,
                              base_url: str, secret: str) -> list[Path]:
    """Write one verification page per plaque in ``registry`` plus the not-genuine pages."""
    site_dir = Path(site_dir)
    # p/ belongs to these pages alone; clearing it drops pages of a previous secret.
    shutil.rmtree(site_dir / "p", ignore_errors=True)
    page = template("plaque_verify.html")
    written = []
    for row in status_frame(registry, ratings).sort("serial").iter_rows(named=True):
        info = _public_dict(row)
        serial = info["serial"]
        html = page.render(p=info, font_stack=FONT_STACK, compound_href=_compound_href(info["compound_id"]),
                           root="../../../")
        written.append(_write(site_dir / "p" / serial / sign_serial(serial, secret) / "index.html", html))
    written.append(_write(site_dir / "p" / "index.html", render_not_genuine("../")))
    # The host answers any unknown path with /404.html, so its link must be root-absolute.
    written.append(_write(site_dir / "404.html", render_not_genuine("/")))
    return written
