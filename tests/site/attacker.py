"""The attacker of the suppression tests: reads only what a public page shows and works out
which values each hidden count ("少量") can still take.

The category table and the month table of a compound count the same incidents, so their
totals are equal; a group not listed is 0; a hidden count is 1 .. threshold-1; a month
"不公布" (withheld) may be anything. A hidden count is derived when one value is left.
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


def small_numbers(html: str, below: int) -> list[str]:
    """Counts under the threshold (1 .. below-1) printed as numbers in a count cell or line."""
    g, m = tables(html)
    cells = g + m + re.findall(r"已反映平安需求 <strong>([^<]+)</strong>", html)
    return [c for c in cells if c.isdigit() and 0 < int(c) < below]
