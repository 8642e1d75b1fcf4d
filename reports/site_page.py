"""Every compound page at once: templates rendered once, then filled from columns.

A page is its template (``site_compound.html``) with a few per-compound slots, and each
slot is a piece of markup from ``site_parts.html``. Both are rendered a single time with
placeholder values and split at the placeholders; Polars then concatenates the fixed text
with each compound's (escaped) values for all compounds in one expression. So there is no
per-page Python or Jinja work, and the templates stay the one place the markup is written.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import partial

import polars as pl
from markupsafe import Markup

from reports.fileio import write_new
from reports.site_env import site_env

_MARK = "\x00"
_SLOT = re.compile(_MARK + r"(\w+)" + _MARK)
# markupsafe.escape's replacements, applied in one left-to-right pass.
_ESCAPES = (["&", "<", ">", '"', "'"], ["&amp;", "&lt;", "&gt;", "&#34;", "&#39;"])


def _slot(name: str) -> Markup:
    return Markup(f"{_MARK}{name}{_MARK}")


class Pattern:
    """Rendered markup split at its slots: the fixed text and the slot names between."""

    def __init__(self, rendered: str):
        parts = _SLOT.split(str(rendered))
        self.texts, self.slots = parts[0::2], parts[1::2]

    def fill(self, values: dict[str, pl.Expr | str]) -> pl.Expr:
        """One string expression: the fixed text with each slot's (already escaped) value."""
        pieces: list[pl.Expr] = []
        for text, slot in zip(self.texts, self.slots + [None]):
            if text:
                pieces.append(pl.lit(text))
            if slot is not None:
                v = values[slot]
                pieces.append(pl.lit(v) if isinstance(v, str) else v)
        return pl.concat_str(pieces) if pieces else pl.lit("")

    @property
    def digest(self) -> str:
        """Changes whenever the markup around the slots changes."""
        return hashlib.sha1(_MARK.join(self.texts + ["|"] + self.slots).encode("utf-8")).hexdigest()


def part(name: str, *args: str) -> Pattern:
    """The pattern of a ``site_parts.html`` macro, its arguments as slots."""
    macro = getattr(site_env().get_template("site_parts.html").module, name)
    return Pattern(macro(*[_slot(a) for a in args]))


def page_pattern(template: str, slots: list[str], **fixed) -> Pattern:
    """The pattern of a whole page: ``slots`` become slots, ``fixed`` are rendered in."""
    return Pattern(site_env().get_template(template).render(**fixed, **{s: _slot(s) for s in slots}))


def esc(expr: pl.Expr) -> pl.Expr:
    """HTML-escape a string column exactly as the templates' autoescape does."""
    return expr.str.replace_many(*_ESCAPES)


def format_each(s: pl.Series, func: Callable[[object], str | None]) -> pl.Series:
    """``func`` applied to every value, called once per distinct value (so exactly Python's
    formatting, at the cost of the few distinct values only); any value type, null too."""
    if s.len() == 0:
        return pl.Series(s.name, [], pl.String)
    if s.dtype.is_numeric() or s.dtype == pl.String:
        distinct = s.drop_nulls().unique()
        mapped = pl.Series([func(v) for v in distinct.to_list()], dtype=pl.String)
        out = s.replace_strict(distinct, mapped, default=None, return_dtype=pl.String)
        empty = func(None) if s.null_count() else None
        return out if empty is None else out.fill_null(empty)
    groups = s.to_frame("k").with_row_index("_r").group_by("k").agg("_r")
    mapped = pl.Series("v", [func(k) for k in groups["k"].to_list()], dtype=pl.String)
    return groups.select(mapped, "_r").explode("_r").sort("_r")["v"].alias(s.name)


def cn_month(d: date) -> str:
    return f"{d.year}年{d.month}月"


def new_folder(path: str) -> bool:
    """Make the folder ``path``; True when this call made it (one system call when its
    parent exists, which is the common case)."""
    try:
        os.mkdir(path)
        return True
    except FileExistsError:
        return False
    except FileNotFoundError:
        os.makedirs(path, exist_ok=True)
        return True


def _write_one(path: str, data: bytes) -> None:
    """Write ``data`` unless the file already holds these bytes (keeps mtimes for sync)."""
    if new_folder(os.path.dirname(path)):
        # A folder this call made holds nothing yet and nobody reads it: write in place.
        write_new(path, data)
        return
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)  # atomic: the server never reads half a page


def _link_one(old: str, new: str, make_folder: bool = True) -> bool:
    """Hard-link ``old`` as ``new``; False when ``old`` is gone (the page is rendered instead)."""
    if make_folder:
        new_folder(os.path.dirname(new))
    try:
        os.link(old, new)  # pages are replaced by rename, so a link never changes the old release
    except FileNotFoundError:
        return False
    except FileExistsError:
        os.unlink(new)
        return _link_one(old, new, make_folder)
    except OSError:
        if not os.path.exists(old):
            return False
        shutil.copy2(old, new)  # another file system: copy instead
    return True


def _in_slices(func: Callable, a: list, b: list, workers: int) -> list:
    """``func`` over pairs of ``a`` and ``b``, the lists cut into one contiguous slice per
    thread (the system calls release the GIL, so the threads' file work overlaps)."""
    if workers <= 1 or len(a) < 64:
        return [func(x, y) for x, y in zip(a, b)]
    step = -(-len(a) // workers)
    cuts = [(i, min(i + step, len(a))) for i in range(0, len(a), step)]
    with ThreadPoolExecutor(max_workers=len(cuts)) as pool:
        done = pool.map(lambda c: [func(x, y) for x, y in zip(a[c[0]:c[1]], b[c[0]:c[1]])], cuts)
        return [r for part in done for r in part]


def write_files(paths: list[str], data: list[bytes], workers: int, fresh: bool = False) -> None:
    """Write many files (each unless it already holds those bytes) on ``workers`` threads.
    ``fresh``: their folders exist, were made by this run and hold none of them yet."""
    _in_slices(write_new if fresh else _write_one, paths, data, workers)


def link_files(old: list[str], new: list[str], workers: int, fresh: bool = False) -> list[bool]:
    """Hard-link each ``old`` file as ``new`` on ``workers`` threads; which ones succeeded.
    ``fresh``: the folders of ``new`` exist already."""
    return _in_slices(partial(_link_one, make_folder=not fresh), old, new, workers)
