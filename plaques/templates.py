"""The one Jinja2 environment of the plaque renderers (templates in ``reports/templates``)."""
from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

# Chinese text must never fall back to a font without the glyphs (tofu on a printed
# plaque); Noto/Source Han on Linux printers' RIPs, YaHei on Windows.
FONT_STACK = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", '
              '"PingFang SC", sans-serif')


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Templates named ``*.svg.j2`` are escaped like HTML/XML, so a compound name with
    ``<`` or ``&`` cannot break the artwork."""
    return Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg", "j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def template(name: str) -> Template:
    """A plaque template by file name."""
    return environment().get_template(name)
