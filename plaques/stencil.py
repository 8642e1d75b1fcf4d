"""Templates filled by joining strings: one Jinja2 render per variant, not one per page.

A print batch renders the same artwork template 100,000 times, and the verification pages
the same page template; only a few values differ from one to the next. A ``Stencil`` is
the template rendered once with slot markers in place of those values, split into a
format string; filling it is one ``str.format_map`` with the values escaped as Jinja2's
autoescape escapes them. Anything the template *computes with* (a condition, a loop
bound, arithmetic, a number format) cannot be a slot: it belongs to the variant's key,
and each distinct key gets its own stencil. ``Stencils.fill`` checks the first fill of
every variant against a real render and renders that variant with Jinja2 from then on
if they differ, so a template edit can make pages slower, never different.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping

from jinja2 import Template
from markupsafe import escape

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: never in a template or a value
_SLOT = re.compile(f"{_OPEN}(\\w+){_CLOSE}")


def slot(name: str) -> str:
    """The marker of slot ``name``, to pass to the template where the value goes."""
    return f"{_OPEN}{name}{_CLOSE}"


def esc(value: object) -> str:
    """``value`` as Jinja2's autoescape prints it."""
    return str(escape(value))


class Stencil:
    """A rendered template with named slots, filled by ``str.format_map``."""

    __slots__ = ("slots", "_format")

    def __init__(self, rendered: str) -> None:
        parts = _SLOT.split(rendered)
        literal = [p.replace("{", "{{").replace("}", "}}") for p in parts[0::2]]
        if any(_OPEN in p or _CLOSE in p for p in literal):
            raise ValueError("a slot marker was changed by the template (a filter or an operation on it)")
        self.slots = tuple(parts[1::2])
        self._format = "".join(lit + (f"{{{name}}}" if i < len(self.slots) else "")
                               for i, (lit, name) in enumerate(zip(literal, self.slots + ("",))))

    def fill(self, values: Mapping[str, str]) -> str:
        """The page with every slot replaced by its (already escaped) value."""
        return self._format.format_map(values)


class Stencils:
    """The stencils of one template, one per variant key, compiled on first use.

    ``marked(key)`` gives the template context of a variant with slot markers; ``context``
    the real context of one item (used to check the first fill of each variant).
    """

    def __init__(self, template: Template, marked: Callable[[Hashable], dict],
                 context: Callable[[object], dict] | None = None) -> None:
        self._template = template
        self._marked = marked
        self._context = context
        self._stencils: dict[Hashable, Stencil | None] = {}

    def fill(self, key: Hashable, values: Mapping[str, str], item: object = None) -> str:
        """The rendering of the variant ``key`` with ``values``; ``item`` is handed to the
        real-context function when the variant's first fill is checked."""
        try:
            stencil = self._stencils[key]
        except KeyError:
            return self._first(key, values, item)
        if stencil is None:  # the stencil disagreed with Jinja2 for this variant
            return self._template.render(**self._context(item))
        return stencil.fill(values)

    def _first(self, key: Hashable, values: Mapping[str, str], item: object) -> str:
        try:
            stencil = Stencil(self._template.render(**self._marked(key)))
            text = stencil.fill(values)
        except (ValueError, KeyError, TypeError):
            stencil, text = None, None
        if self._context is not None:
            real = self._template.render(**self._context(item))
            if text != real:
                stencil, text = None, real
        elif stencil is None:
            raise ValueError(f"no stencil for variant {key!r} and no context to render it")
        self._stencils[key] = stencil
        return text
