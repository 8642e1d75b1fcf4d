"""The attacker of the suppression tests: reads only what a public page shows and works out
which values each hidden count ("少量") can still take.

The category table and the month table of a compound count the same incidents, so their
totals are equal; a group not listed is 0; a hidden count is 1 .. threshold-1; a month
"不公布" (withheld) may be anything. A hidden count is derived when one value is left.
The month's needs figures: a share times its base gives its two parts (on time and late,
satisfied and not); the attacker reads the base of the on-time share on the page and is
given the number of ratings (which the page never shows) as if it were known.
"""
from __future__ import annotations

import re

HIDDEN, WITHHELD = "少量", "不公布"


def tables(html: str) -> tuple[list[str], list[str]]:
    """The cells of the category table and of the month table of a compound page (none
    on other pages)."""
    if 'id="h-groups"' not in html:
        return [], []
    groups = html.split('id="h-groups"')[1].split("</section>")[0]
    trend = html.split('id="h-trend"')[1].split("</section>")[0]
    g = re.findall(r'<tr><td>[^<]+</td><td class="n">([^<]+)</td></tr>', groups)
    m = re.findall(r'<tr><td>[^<]+</td><td class="n">([^<]+)</td><td class="n">[^<]+</td></tr>', trend)
    return g, m


def _sums(k: int, top: int) -> set[int]:
    out = {0}
    for _ in range(k):
        out = {s + v for s in out for v in range(1, top + 1)}
    return out


def _totals(cells: list[str], top: int) -> set[int] | None:
    """Every total the table allows (None: any total)."""
    if any(c == WITHHELD for c in cells):
        return None
    shown = sum(int(c) for c in cells if c.isdigit())
    return {shown + s for s in _sums(sum(c == HIDDEN for c in cells), top)}


def derived(html: str, below: int) -> list[tuple[str, int, int]]:
    """(table, cell index, value) of every hidden count the page gives away."""
    top = below - 1
    out = []
    g, m = tables(html)
    tg, tm = _totals(g, top), _totals(m, top)
    totals = tg if tm is None else (tm if tg is None else tg & tm)
    for name, cells in (("groups", g), ("months", m)):
        hidden = [i for i, c in enumerate(cells) if c == HIDDEN]
        if not hidden or totals is None:
            continue
        shown = sum(int(c) for c in cells if c.isdigit())
        others = _sums(len(hidden) - 1, top)
        for i in hidden:
            values = {x for x in range(1, top + 1) if any(t - shown - x in others for t in totals)}
            if len(values) == 1:
                out.append((name, i, values.pop()))
    return out


def loop_cells(html: str) -> dict[str, str]:
    """The month's needs and check-in cells of a compound page by id (none on other pages)."""
    if 'id="h-loop"' not in html:
        return {}
    return dict(re.findall(r'<td class="n" id="([a-z-]+)">([^<]+)</td>', html.split('id="h-loop"')[1].split("</section>")[0]))


def _parts(share: str, bases: range) -> set[tuple[int, int]]:
    """(part, base - part) pairs a share shown as "NN%" allows over the possible bases."""
    p = int(share.rstrip("%")) / 100
    return {(k, n - k) for n in bases for k in range(n + 1) if abs(k / n - p) <= 0.0051}


def derived_needs(html: str, below: int, ratings: int) -> list[tuple[str, int]]:
    """(part, value) of every count under the threshold the needs figures give away, the
    number of ``ratings`` known."""
    top, cells, out = below - 1, loop_cells(html), []
    closed = cells.get("need-closed", "").split(" ")[0]
    bases = {"need-on-time": range(1, below) if closed == HIDDEN else range(int(closed or 0), int(closed or 0) + 1),
             "need-satisfied": range(ratings, ratings + 1)}
    for cell, names in (("need-on-time", ("on time", "late")), ("need-satisfied", ("satisfied", "not satisfied"))):
        if cells.get(cell, "—").endswith("%") and 0 not in bases[cell]:
            pairs = _parts(cells[cell], bases[cell])
            for i, name in enumerate(names):
                values = {pair[i] for pair in pairs}
                if len(values) == 1 and 0 < (v := values.pop()) <= top:
                    out.append((name, v))
    return out


def small_numbers(html: str, below: int) -> list[str]:
    """Counts under the threshold (1 .. below-1) printed as numbers in a count cell."""
    g, m = tables(html)
    cells = g + m + [v.split(" ")[0] for k, v in loop_cells(html).items() if v.endswith(("件", "次"))]
    return [c for c in cells if c.isdigit() and 0 < int(c) < below]
