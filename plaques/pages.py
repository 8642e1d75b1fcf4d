"""Verification pages: what a resident sees after scanning a plaque (static files).

``site_dir/p/<serial>.<signature>.html`` for every plaque ever issued (old and
withdrawn ones say so), and ``site_dir/p/index.html`` + ``site_dir/404.html`` for any
other path: an unknown or altered path is not a genuine plaque. zh-CN, mobile first,
inline CSS, no external resources, well under 100 KB.

A city has a page per plaque ever issued (100,000 and more), and a night changes few of
them. ``p/_fingerprints.json`` keeps a hash of what each page shows (its rating date
excluded, as for the compound pages of ``reports.site``); given the previous release's site,
a page whose hash is unchanged is hard-linked from there instead of rendered, so it keeps
the date of the rating that last changed it. Pages are filled from per-variant stencils
(``plaques.stencil``). All pages sit in the one flat ``p/`` folder: a night makes no
folder per plaque (on ext4 a mkdir costs about three hard links' worth of kernel time).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import polars as pl
from pandera.typing.polars import DataFrame

from plaques.keys import Keyring
from plaques.sign import keyed_signature, page_name, sign_serial
from plaques.stencil import Stencils, esc, slot
from plaques.templates import FONT_STACK, template
from plaques.verify import STATUS_TEXT, _public_dict, status_frame
from reports.fileio import write_new
from schemas.plaques import Plaque
from schemas.ratings import Rating

MAX_PAGE_BYTES = 100 * 1024
FINGERPRINTS = "_fingerprints.json"  # in p/: serial → hash of what its page shows
PAGE_VERSION = 1  # bump when what a page shows changes without its template changing
THREADS = 1  # writers: links into one folder serialise on its lock
ROOT = "../"  # from p/<serial>.<signature>.html back to the site root
# The public site's compound pages live at /c/<slug>.html; the slug is the id when URL-safe.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,80}$")
_COLUMNS = [Plaque.serial, Plaque.compound_id, "public_status", "current_serial", "current_stars", "name",
            "district", "street", Plaque.stars, Plaque.rating_year, Plaque.issued_on, Plaque.status_changed_on,
            "rated_on", "rated_stars", "rating_status"]
# The slots of the page, in the order of ``_values``; the last three (the rating date) are
# left out of the fingerprint.
FIELDS = ("text", "serial", "name", "district", "street", "rating_year", "issued_y", "issued_m", "issued_d",
          "changed_y", "changed_m", "changed_d", "current_serial", "href", "rated_y", "rated_m", "rated_d")
_UNDATED = len(FIELDS) - 3


def _compound_href(compound_id: str) -> str | None:
    return f"../c/{compound_id}.html" if _SAFE_ID.match(compound_id) else None


def _write(path: Path, html: str) -> Path:
    data = _checked(path, html)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _checked(path: Path | str, html: str) -> bytes:
    data = html.encode("utf-8")
    if len(data) > MAX_PAGE_BYTES:
        raise ValueError(f"{path} would be {len(data)} bytes, over the {MAX_PAGE_BYTES}-byte page budget")
    return data


def render_not_genuine(root: str = "/") -> str:
    """The page for any path that is not a genuine plaque."""
    return template("plaque_not_genuine.html").render(font_stack=FONT_STACK, text=STATUS_TEXT["not_genuine"],
                                                      root=root)


def _date_slots(prefix: str) -> SimpleNamespace:
    return SimpleNamespace(year=slot(f"{prefix}_y"), month=slot(f"{prefix}_m"), day=slot(f"{prefix}_d"))


def _marked(key: tuple) -> dict:
    """The page context of a variant, with slot markers for the values."""
    status, stars, current_stars, rated_stars, has_name, has_place, rated, has_href = key
    p = {
        "status": status, "text": slot("text"), "serial": slot("serial"),
        "name": slot("name") if has_name else None,
        "district": slot("district") if has_place else None, "street": slot("street") if has_place else None,
        "stars": stars, "rating_year": slot("rating_year"), "issued_on": _date_slots("issued"),
        "status_changed_on": _date_slots("changed"), "current_serial": slot("current_serial"),
        "current_stars": current_stars, "rated_on": _date_slots("rated") if rated else None,
        "rated_stars": rated_stars,
    }
    return {"p": p, "font_stack": FONT_STACK, "compound_href": slot("href") if has_href else None, "root": ROOT}


def _context(row: tuple) -> dict:
    """The real page context of a row of ``_COLUMNS`` (as the template was always given)."""
    info = _public_dict(dict(zip(_COLUMNS, row)))
    return {"p": info, "font_stack": FONT_STACK, "compound_href": _compound_href(info["compound_id"]), "root": ROOT}


@lru_cache(maxsize=1)
def _stencils() -> Stencils:
    return Stencils(lambda: template("plaque_verify.html"), FIELDS, _marked, _context)


def _num(v) -> str:
    return "" if v is None else str(v)


def _page(row: tuple) -> tuple[tuple, tuple[str, ...]]:
    """The variant key and slot values of a row of ``_COLUMNS`` (what ``_public_dict`` and
    the template make of it)."""
    (serial, compound_id, status, current_serial, current_stars, name, district, street, stars, rating_year,
     issued_on, changed_on, rated_on, rated_stars, rating_status) = row
    if status != "superseded":
        current_serial = current_stars = None
    text = f"已更换（现为{current_stars}星）" if status == "superseded" else STATUS_TEXT[status]
    shown_stars = rated_stars if rating_status in ("rated", "downgraded") else None
    href = _compound_href(compound_id)
    key = (status, stars, current_stars, shown_stars, bool(name), bool(district or street), rated_on is not None,
           href is not None)
    values = (esc(text), esc(serial), esc(name or ""), esc(district or ""), esc(street or ""), _num(rating_year),
              *_ymd(issued_on), *_ymd(changed_on), esc(current_serial or ""), esc(href or ""), *_ymd(rated_on))
    return key, values


def _ymd(d) -> tuple[str, str, str]:
    return (str(d.year), str(d.month), str(d.day)) if d is not None else ("", "", "")


def _fingerprint(digest: str, key: tuple, values: tuple[str, ...]) -> str:
    shown = "\x1f".join((digest, str(PAGE_VERSION), repr(key), *values[:_UNDATED]))
    return hashlib.blake2b(shown.encode("utf-8"), digest_size=10).hexdigest()


def _previous_prints(previous: Path | None) -> dict[str, str]:
    if previous is None:
        return {}
    try:
        return json.loads((Path(previous) / "p" / FINGERPRINTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _put(p_fd: int, rel: str, data: bytes) -> None:
    write_new(rel, data, dir_fd=p_fd)


def _open_dir(path: Path) -> int | None:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None


def _write_pages(p_dir: Path, jobs: list[tuple[str, bytes | None, tuple | None]], previous: Path | None,
                 threads: int | None = None) -> list[str]:
    """Create each job's page directly in ``p_dir`` (job: file name, page bytes or None to
    link the previous release's page, row to render when that page is missing), in
    ``threads`` threads (default ``THREADS``); returns the pages rendered here because the
    previous one was missing."""
    threads = THREADS if threads is None else threads

    def work(part: list) -> list[str]:
        rendered = []
        p_fd = os.open(p_dir, os.O_RDONLY | os.O_DIRECTORY)
        old_fd = _open_dir(Path(previous) / "p") if previous is not None else None
        try:
            for name, data, row in part:
                if data is None:
                    try:  # the staging site is new: linking never changes the old release's file
                        if old_fd is None:
                            raise FileNotFoundError(name)
                        # Both folders open: no path walk from the root per link.
                        os.link(name, name, src_dir_fd=old_fd, dst_dir_fd=p_fd)
                        continue
                    except OSError:
                        key, values = _page(row)
                        data = _checked(name, _stencils().fill(key, values, row))
                        rendered.append(name)
                _put(p_fd, name, data)
        finally:
            os.close(p_fd)
            if old_fd is not None:
                os.close(old_fd)
        return rendered

    if threads <= 1 or len(jobs) < 2000:
        return work(jobs)
    step = -(-len(jobs) // (threads * 8))
    with ThreadPoolExecutor(threads) as pool:
        return [rel for part in pool.map(work, [jobs[i:i + step] for i in range(0, len(jobs), step)]) for rel in part]


def render_verification_pages(site_dir: Path, registry: pl.DataFrame, ratings: DataFrame[Rating], *,
                              keyring: Keyring, previous: Path | None = None) -> list[Path]:
    """Write one verification page per plaque in ``registry`` plus the not-genuine pages;
    returns the pages rendered. A page is named by its unkeyed signature under the current
    key and linked under every other name a printed QR code may hold (keyed signatures,
    and the signatures of retired keys still verifying).

    ``previous`` (the last published site): pages whose content, rating date aside, is
    unchanged since then are hard-linked from it instead of rendered.
    """
    site_dir = Path(site_dir)
    p_dir = site_dir / "p"
    # p/ belongs to these pages alone; clearing it drops pages of a previous secret.
    shutil.rmtree(p_dir, ignore_errors=True)
    p_dir.mkdir(parents=True)
    stencils = _stencils()
    digest = stencils.digest()
    before = _previous_prints(previous)
    rows = status_frame(registry, ratings).sort(Plaque.serial).select(_COLUMNS).rows()
    prints: dict[str, str] = {}
    jobs, written = [], []
    for row in rows:
        serial = row[0]
        key, values = _page(row)
        fp = prints[serial] = _fingerprint(digest, key, values)
        name = page_name(serial, sign_serial(serial, keyring.current.secret))
        if before.get(serial) == fp:
            jobs.append((name, None, row))
            continue
        jobs.append((name, _checked(name, stencils.fill(key, values, row)), None))
        written.append(p_dir / name)
    written += [p_dir / rel for rel in _write_pages(p_dir, jobs, previous)]
    for name, _, _ in jobs:
        serial = name.split(".")[0]
        for key in (keyring.current, *keyring.retired):
            for alias in (page_name(serial, keyed_signature(serial, key.id, key.secret)),
                          page_name(serial, sign_serial(serial, key.secret))):
                if alias != name:
                    os.link(p_dir / name, p_dir / alias)
    (p_dir / FINGERPRINTS).write_text(json.dumps(prints, sort_keys=True, separators=(",", ":")), encoding="utf-8")
    written.append(_write(p_dir / "index.html", render_not_genuine("../")))
    # The host answers any unknown path with /404.html, so its link must be root-absolute.
    written.append(_write(site_dir / "404.html", render_not_genuine("/")))
    return written
