"""The one Jinja2 environment of the public site (autoescaped, package templates)."""
from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@lru_cache(maxsize=1)
def site_env() -> Environment:
    """Templates under ``reports/templates/site_*.html``; every value is HTML-escaped."""
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    # Links to compound pages must use the same folder name the renderer wrote.
    from reports.site_slug import page_slug
    env.filters["slug"] = page_slug
    return env


def render_template(name: str, **context) -> str:
    """Render one site template to a string."""
    return site_env().get_template(name).render(**context)
