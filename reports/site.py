"""The public site: every page rendered on request from a publication file.

``render(pub, path)`` is the one way a page is made, for the web service (``safestar
serve``) and for the static export (``safestar site export``) alike: the project's Jinja2
environment with autoescape, nothing marked safe. Links are relative, so the exported
site works under any host and path.
"""
from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Callable

import yaml

from intake.vocab import NEED_CATEGORIES, NEED_TEXT_MAX, REFUSAL_ZH
from plaques.sign import page_name, parse_page_name
from reports.charts import trend_chart_svg
from reports.site_store import Publication
from reports.templating import cn_date, render_template

TIPS_FILE = Path(__file__).with_name("site_tips.yaml")
STREET_PAGE_ROWS = 200
HTML = "text/html; charset=utf-8"
SUPPRESSED = "少量"
APPEAL_STATUS_ZH = {"filed": "已受理", "under_review": "复核中", "decided": "已作出决定", "withdrawn": "已撤回"}
APPEAL_OUTCOME_ZH = {"upheld": "申诉成立，已更正评定", "partially_upheld": "申诉部分成立", "dismissed": "维持原评定"}
_PART = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_COMPOUND = re.compile(r"^/c/([A-Za-z0-9_\-]{1,90})\.(html|trend\.svg)$")
_STREET = re.compile(r"^/s/([0-9a-f]{10})/(?:(\d{1,5})/)?(?:index\.html)?$")


@dataclass
class Page:
    """A rendered response: status, body, media type and, for a redirect, its target."""

    status: int
    body: str
    media_type: str = HTML
    location: str | None = None
    reason: str | None = None  # why a page is refused (the request log's reason)


@lru_cache(maxsize=1)
def site_texts() -> dict:
    """The tips and plain notes of ``reports/site_tips.yaml``."""
    return yaml.safe_load(TIPS_FILE.read_text(encoding="utf-8"))


def _cn_month(d: date | str) -> str:
    d = date.fromisoformat(d + "-01" if len(d) == 7 else d) if isinstance(d, str) else d
    return f"{d.year}年{d.month}月"


def _root(path: str) -> str:
    """The relative way from ``path`` back to the site's root."""
    return "../" * max(0, path.count("/") - 1)


def _common(pub: Publication, path: str) -> dict:
    return {"root": _root(path), "as_of": pub.as_of.isoformat(), "as_of_text": cn_date(pub.as_of),
            "demo": pub.demo, "suppressed_word": SUPPRESSED, "below": pub.suppress_below}


def _tips(leading: str | None) -> list[str]:
    tips = site_texts()["tips"]
    chosen = [t for g in (leading or "").split("|") if g for t in tips.get(g, [])]
    return chosen or tips["general"]


def _compound_page(pub: Publication, c: dict, path: str) -> Page:
    months = c["months"]
    return Page(200, render_template(
        "site_compound.html", **_common(pub, path), c=c, groups=c["groups"],
        months=[dict(m, label=_cn_month(m["month"])) for m in months], city=pub.districts[-1],
        tips=_tips(c["leading"]), notes=site_texts()["notes"], lapse_text=_lapse_text(c),
        appeal_status=APPEAL_STATUS_ZH.get(c["appeal_status"] or ""),
        appeal_outcome=APPEAL_OUTCOME_ZH.get(c["appeal_outcome"] or ""), appeal_filed=cn_date(c["appeal_filed"]),
        need_categories=NEED_CATEGORIES, text_max=NEED_TEXT_MAX, refusal_zh=REFUSAL_ZH,
        trend_label=_trend_label(months, c),
    ))


def _lapse_text(c: dict) -> str | None:
    if not c["lapse_on"]:
        return None
    if c["status"] == "vetoed":
        return f"一票否决于{cn_date(c['lapse_on'])}起解除，届时按当时数据重新评星。"
    return f"若此后不再发生同类案件，降星最早于{_cn_month(c['lapse_on'])}解除。"


def _trend_label(months: list[dict], c: dict) -> str:
    known = [m["safety_index"] for m in months if m["safety_index"] is not None]
    text = "近12个月平安指数"
    if len(known) >= 2:
        text += f"由{known[0]:.1f}变为{known[-1]:.1f}"
    if c["months_withheld"]:
        return text + "；为保护隐私，本小区不公布每月案事件数"
    return text + "；柱为每月案事件数，浅色带表示“少量”"


def _street_page(pub: Publication, slug: str, page: int, path: str) -> Page | None:
    street = pub.street(slug)
    if street is None:
        return None
    n_pages = max(1, -(-street["n"] // STREET_PAGE_ROWS))
    if page < 1 or page > n_pages:
        return None
    rows = pub.street_compounds(slug, (page - 1) * STREET_PAGE_ROWS, STREET_PAGE_ROWS)
    here = "" if page == 1 else "../"
    return Page(200, render_template(
        "site_street.html", **_common(pub, path), street=street, rows=rows, page=page, n_pages=n_pages,
        prev_href=None if page == 1 else (here if page == 2 else f"{here}{page - 1}/"),
        next_href=None if page == n_pages else f"{here}{page + 1}/",
    ))


def _plaque_page(pub: Publication, serial: str, signature: str, path: str,
                 verify: Callable[[str, str], bool] | None) -> Page:
    p = pub.plaque(serial) if _PART.match(serial) and _PART.match(signature) else None
    genuine = p is not None and p["path"] is not None and (
        verify(serial, signature) if verify is not None
        else hmac.compare_digest(p["path"].encode(), f"/p/{page_name(serial, signature)}".encode()))
    if not genuine:
        return Page(404, render_template("site_404.html", **_common(pub, path), not_genuine=True),
                    reason="not_genuine")
    c = pub.compound_by_id(p["compound_id"])
    return Page(200, render_template("site_plaque.html", **_common(pub, path), p=p, c=c,
                                     issued=cn_date(p["issued_on"]), changed=cn_date(p["status_changed_on"])))


def not_found(pub: Publication | None, path: str) -> Page:
    common = _common(pub, path) if pub is not None else {"root": _root(path), "demo": False}
    return Page(404, render_template("site_404.html", **common, not_genuine=False))


def render(pub: Publication, path: str, verify: Callable[[str, str], bool] | None = None) -> Page:
    """The page at URL ``path`` (``/c/XM0001.html``, ``/p/<serial>.<sig>.html`` ...) of
    ``pub``; a 404 page for anything else. ``verify(serial, signature)`` checks a plaque's
    signature (the web service's keyring); without it, a plaque page opens only at the path
    recorded when it was issued (the export)."""
    if path in ("/", "/index.html"):
        return Page(200, render_template("site_index.html", **_common(pub, path), districts=pub.districts,
                                         streets=pub.streets(), n_compounds=pub.count()))
    if path == "/search.json":
        return Page(200, json.dumps({"as_of": pub.as_of.isoformat(),
                                     "fields": ["id", "name", "aliases", "district", "street", "stars", "status", "slug"],
                                     "rows": pub.search_rows()}, ensure_ascii=False, separators=(",", ":")),
                    "application/json")
    if path in ("/about.html", "/appeal.html"):
        return Page(200, render_template(f"site_{path[1:-5]}.html", **_common(pub, path),
                                         rules=json.loads(pub.meta["rules"]), notes=site_texts()["notes"]))
    if m := _COMPOUND.match(path):
        c = pub.compound(m.group(1))
        if c is None:
            return not_found(pub, path)
        if m.group(2) == "html":
            return _compound_page(pub, c, path)
        return Page(200, trend_chart_svg(c["months"], pub.suppress_below,
                                         withheld=bool(c["months_withheld"])), "image/svg+xml")
    if m := _STREET.match(path):
        page = _street_page(pub, m.group(1), int(m.group(2) or 1), path)
        return page if page is not None else not_found(pub, path)
    if path.startswith("/p/"):
        parts = path[3:].rstrip("/").split("/")
        if len(parts) == 2:  # /p/<serial>/<signature>[/]: the form printed on the first plaques
            page = _plaque_page(pub, *parts, path, verify)
            return Page(308, "", location=f"/p/{page_name(*parts)}") if page.status == 200 else page
        parsed = parse_page_name(parts[0]) if len(parts) == 1 else None
        if parsed is not None:
            return _plaque_page(pub, *parsed, path, verify)
    return not_found(pub, path)


def page_paths(pub: Publication) -> list[str]:
    """Every URL path of the static site (the export writes each as a file)."""
    paths = ["/index.html", "/search.json", "/about.html", "/appeal.html", "/404.html"]
    for slug in pub.slugs():
        paths += [f"/c/{slug}.html", f"/c/{slug}.trend.svg"]
    for s in pub.streets():
        pages = max(1, -(-s["n"] // STREET_PAGE_ROWS))
        paths += [f"/s/{s['street_slug']}/index.html"] + [f"/s/{s['street_slug']}/{k}/index.html"
                                                          for k in range(2, pages + 1)]
    paths += pub.plaque_paths()
    return paths
