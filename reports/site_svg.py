"""Small inline graphics of the public page: the star row and the 12-month sparkline.

Both return markup built only from numbers and fixed strings, so they are marked safe
for the autoescaping templates; every graphic carries an aria-label.
"""
from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape


def star_row(stars: int, status: str) -> Markup:
    """Five ★/☆ as text, with an aria-label a screen reader reads as the rating."""
    stars = max(0, min(5, int(stars)))
    label = "暂未评星" if status == "not_rated" else ("一票否决，不评星" if status == "vetoed" else f"{stars}星（满分5星）")
    return Markup(
        '<span class="stars" role="img" aria-label="{label}">'
        '<span class="on">{on}</span><span class="off">{off}</span></span>'
    ).format(label=label, on="★" * stars, off="☆" * (5 - stars))


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def sparkline(months: list[date], counts: list[int], index: list[float | None],
              width: int = 320, height: int = 72) -> Markup:
    """Bars of monthly incidents and a line of the month's safety index (0–100)."""
    n = len(months)
    top, bottom = 6, height - 14
    span = bottom - top
    peak = max(max(counts, default=0), 1)
    slot = width / max(n, 1)
    parts = []
    for i, c in enumerate(counts):
        h = span * c / peak
        parts.append(f'<rect x="{_fmt(i * slot + slot * 0.2)}" y="{_fmt(bottom - h)}" '
                     f'width="{_fmt(slot * 0.6)}" height="{_fmt(h)}"/>')
    points = [
        f"{_fmt(i * slot + slot / 2)},{_fmt(bottom - span * v / 100)}"
        for i, v in enumerate(index) if v is not None
    ]
    line = f'<polyline class="idx" points="{" ".join(points)}"/>' if len(points) > 1 else ""
    dots = "" if len(points) != 1 else f'<circle class="idx" r="2.5" cx="{points[0].split(",")[0]}" cy="{points[0].split(",")[1]}"/>'
    first, last = months[0], months[-1]
    ticks = (f'<text x="0" y="{height - 2}">{first.year}年{first.month}月</text>'
             f'<text x="{width}" y="{height - 2}" text-anchor="end">{last.year}年{last.month}月</text>')
    known = [v for v in index if v is not None]
    total = sum(counts)
    # Small totals follow the page's suppression rule (fewer than 3 read "少量").
    label = "近12个月趋势：案事件" + (f"共{total}起" if total >= 3 else ("少量" if total else "为0"))
    if len(known) >= 2:
        label += f"；平安指数由{known[0]:.1f}变为{known[-1]:.1f}"
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="100%" height="{height}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none"><g class="bars">{"".join(parts)}</g>'
        f"{line}{dots}{ticks}</svg>"
    )
