"""Small inline graphics of the public page: the star row and the 12-month sparkline.

Both return markup built only from numbers and fixed strings, so they are marked safe
for the autoescaping templates; every graphic carries an aria-label.
"""
from __future__ import annotations

from datetime import date

import polars as pl
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


def sparklines(counts: pl.Expr | str, index: pl.Expr | str, months: list[date], frame: pl.DataFrame,
               width: int = 320, height: int = 72) -> pl.Series:
    """``sparkline`` for every row of ``frame`` at once (the same bytes): ``counts`` and
    ``index`` are list columns of one value per month of ``months``."""
    from reports.site_page import format_each  # the page module imports this one

    n = len(months)
    top, bottom = 6, height - 14
    span = bottom - top
    slot = width / max(n, 1)
    bar_x = [_fmt(i * slot + slot * 0.2) for i in range(n)]
    dot_x = [_fmt(i * slot + slot / 2) for i in range(n)]
    long = (
        frame.select(pl.col(counts).alias("c"), pl.col(index).alias("v"))
        .with_row_index("_r")
        .explode("c", "v")
        .with_columns(pl.int_range(pl.len()).over("_r").alias("_i"))
        .with_columns(pl.max_horizontal(pl.col("c").max().over("_r"), 1).alias("_peak"))
        # The same float operations in the same order as sparkline(), so the same bits.
        .with_columns((pl.lit(span) * pl.col("c") / pl.col("_peak")).alias("_h"))
        .with_columns((pl.lit(bottom) - pl.col("_h")).alias("_y"),
                      (pl.lit(bottom) - pl.lit(span) * pl.col("v") / 100).alias("_vy"))
    )
    fx = pl.Series(bar_x).gather(long["_i"])
    px = pl.Series(dot_x).gather(long["_i"])
    long = long.with_columns(
        pl.concat_str(pl.lit('<rect x="'), fx, pl.lit('" y="'), format_each(long["_y"], _fmt),
                      pl.lit(f'" width="{_fmt(slot * 0.6)}" height="'), format_each(long["_h"], _fmt),
                      pl.lit('"/>')).alias("rect"),
        px.alias("px"),
        format_each(long["_vy"], lambda y: None if y is None else _fmt(y)).alias("py"),
        format_each(long["v"], lambda v: None if v is None else f"{v:.1f}").alias("v1"),
    )
    per = (
        long.group_by("_r", maintain_order=True).agg(
            pl.col("rect").str.join(""),
            pl.concat_str("px", pl.lit(","), "py").drop_nulls().str.join(" ").alias("points"),
            pl.col("py").drop_nulls().len().alias("k"),
            pl.col("px").filter(pl.col("py").is_not_null()).first().alias("px1"),
            pl.col("py").drop_nulls().first().alias("py1"),
            pl.col("v1").drop_nulls().first().alias("first"),
            pl.col("v1").drop_nulls().last().alias("last"),
            pl.col("c").sum().alias("total"),
        )
        .sort("_r")
    )
    first, last = months[0], months[-1]
    ticks = (f'<text x="0" y="{height - 2}">{first.year}年{first.month}月</text>'
             f'<text x="{width}" y="{height - 2}" text-anchor="end">{last.year}年{last.month}月</text>')
    total = pl.col("total")
    label = pl.concat_str(
        pl.lit("近12个月趋势：案事件"),
        pl.when(total >= 3).then(pl.concat_str(pl.lit("共"), total.cast(pl.String), pl.lit("起")))
        .when(total > 0).then(pl.lit("少量")).otherwise(pl.lit("为0")),
        pl.when(pl.col("k") >= 2).then(pl.concat_str(pl.lit("；平安指数由"), "first", pl.lit("变为"), "last"))
        .otherwise(pl.lit("")),
    ).str.replace_many(["&", "<", ">", '"', "'"], ["&amp;", "&lt;", "&gt;", "&#34;", "&#39;"])
    return per.select(pl.concat_str(
        pl.lit(f'<svg class="spark" viewBox="0 0 {width} {height}" width="100%" height="{height}" role="img" '
               'aria-label="'), label, pl.lit('" preserveAspectRatio="none"><g class="bars">'), "rect",
        pl.lit("</g>"),
        pl.when(pl.col("k") > 1).then(pl.concat_str(pl.lit('<polyline class="idx" points="'), "points", pl.lit('"/>')))
        .otherwise(pl.lit("")),
        pl.when(pl.col("k") == 1).then(pl.concat_str(pl.lit('<circle class="idx" r="2.5" cx="'), "px1",
                                                     pl.lit('" cy="'), "py1", pl.lit('"/>')))
        .otherwise(pl.lit("")),
        pl.lit(ticks + "</svg>"),
    ).alias("trend_svg")).to_series()
