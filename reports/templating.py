"""The one Jinja2 environment of SafeStar: every template under reports/templates/."""
from __future__ import annotations

import re
from datetime import date
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


@cache
def environment() -> Environment:
    """Autoescaped for HTML, XML and SVG (``*.svg.j2`` too, so a compound name with ``<`` or
    ``&`` cannot break a plaque's artwork); an undefined name is an error, not a blank."""
    from reports.site_data import page_slug  # site_data imports BIDI_CONTROLS from here

    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg", "j2")),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["slug"] = page_slug
    env.filters["plain"] = lambda text: BIDI_CONTROLS.sub("", str(text))  # no bidi overrides in shown text
    env.filters["pct"] = lambda v, d=1: "—" if v is None else f"{v:.{d}%}"
    env.filters["num"] = lambda v, d=1: "—" if v is None else (f"{v:,.{d}f}" if isinstance(v, float) else f"{v:,}")
    return env


def cn_date(d: date | str | None) -> str:
    if d is None:
        return ""
    d = date.fromisoformat(d) if isinstance(d, str) else d
    return f"{d.year}年{d.month}月{d.day}日"


def render_template(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
