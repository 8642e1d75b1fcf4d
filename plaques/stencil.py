"""Templates filled by joining strings: one Jinja2 render per variant, not one per page.

A print batch renders the same artwork template 100,000 times, and the verification pages
the same page template; only a few values differ from one to the next. A ``Stencil`` is
the template rendered once with slot markers in place of those values, split into a
format string; filling it is one ``str.format`` with the values escaped as Jinja2's
autoescape escapes them. Anything the template *computes with* (a condition, a loop
bound, arithmetic, a number format) cannot be a slot: it belongs to the variant's key,
and each distinct key gets its own stencil. ``Stencils.fill`` checks the first fill of
every variant against a real render and renders that variant with Jinja2 from then on
if they differ, so a template edit can make pages slower, never different.
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Hashable, Sequence

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
    """A rendered template with named slots, filled by ``str.format``."""

    __slots__ = ("_format", "slots")

    def __init__(self, rendered: str, fields: tuple[str, ...]) -> None:
        parts = _SLOT.split(rendered)
        literal = [p.replace("{", "{{").replace("}", "}}") for p in parts[0::2]]
        if any(_OPEN in p or _CLOSE in p for p in literal):
            raise ValueError("a slot marker was changed by the template (a filter or an operation on it)")
        self.slots = tuple(parts[1::2])
        index = {name: i for i, name in enumerate(fields)}
        self._format = "".join(lit + (f"{{{index[name]}}}" if i < len(self.slots) else "")
                               for i, (lit, name) in enumerate(zip(literal, self.slots + ("",))))

    def fill(self, values: Sequence[str]) -> str:
        """The text with every slot replaced by its (already escaped) value, given in the
        order of the ``fields`` the stencil was made with."""
        return self._format.format(*values)


class Stencils:
    """The stencils of one template, one per variant key, compiled on first use.

    ``fields`` names the slots in the order ``fill`` takes their values; ``marked(key)``
    gives the template context of a variant with ``slot`` markers; ``context(item)`` the
    real context of one item, used to check the first fill of each variant.
    """

    def __init__(self, load: Callable[[], Template], fields: tuple[str, ...], marked: Callable[[Hashable], dict],
                 context: Callable[[object], dict]) -> None:
        self.fields = fields
        self._load = load  # called on the first variant not preloaded: loading templates costs imports
        self._marked = marked
        self._context = context
        self._stencils: dict[Hashable, Stencil | None] = {}
        self._lock = threading.Lock()

    def fill(self, key: Hashable, values: Sequence[str], item: object = None) -> str:
        """The rendering of variant ``key`` with ``values``; ``item`` is handed to ``context``
        when the variant's first fill is checked (or the variant renders with Jinja2)."""
        stencil = self._stencils.get(key, _MISSING)
        if stencil is _MISSING:
            with self._lock:
                return self._first(key, values, item)
        if stencil is None:  # the stencil disagreed with Jinja2 for this variant
            return self._load().render(**self._context(item))
        return stencil.fill(values)

    def export(self) -> dict:
        """The variants compiled so far, for ``preload`` in another process."""
        return dict(self._stencils)

    def preload(self, stencils: dict) -> None:
        """Take variants compiled (and checked) elsewhere."""
        self._stencils.update(stencils)

    def digest(self) -> str:
        """A hash of the template source: a changed template changes every fingerprint."""
        template = self._load()
        env = template.environment
        source = env.loader.get_source(env, template.name)[0] if env.loader and template.name else ""
        return hashlib.blake2b(source.encode("utf-8"), digest_size=10).hexdigest()

    def _first(self, key: Hashable, values: Sequence[str], item: object) -> str:
        template = self._load()
        real = template.render(**self._context(item))
        try:
            stencil = Stencil(template.render(**self._marked(key)), self.fields)
            if stencil.fill(values) != real:
                stencil = None
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            stencil = None
        self._stencils[key] = stencil
        return real


_MISSING = object()
