"""The one Jinja2 environment of the plaque renderers (templates in ``reports/templates``)."""
from __future__ import annotations

from jinja2 import Environment, Template

from reports.templating import environment as project_environment

# Chinese text must never fall back to a font without the glyphs (tofu on a printed
# plaque); Noto/Source Han on Linux printers' RIPs, YaHei on Windows.
FONT_STACK = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", '
              '"PingFang SC", sans-serif')


def environment() -> Environment:
    """The project's one template environment (reports.templating): ``*.svg.j2`` are
    escaped like HTML/XML, so a compound name with ``<`` or ``&`` cannot break the artwork."""
    return project_environment()


def template(name: str) -> Template:
    """A plaque template by file name."""
    return environment().get_template(name)
