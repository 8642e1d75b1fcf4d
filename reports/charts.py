"""Charts of the reports and the public site: Altair specifications drawn as static SVG by
vl-convert (no browser, no network).

Labels stay ``<text>`` in the CJK font stack below, so Chinese renders with whatever the
reader's machine holds; vl-convert measures them with the system's Noto Sans CJK (its font
directory is registered once) so labels are laid out at their real width.
"""
from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import altair as alt
import vl_convert as vlc

FONT = "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, WenQuanYi Micro Hei, sans-serif"
FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto")
# readable when a phone scales the chart down to about 360 px
CONFIG = {
    "font": FONT,
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "titleFontWeight": "normal", "labelColor": "#333",
             "titleColor": "#333", "gridColor": "#eee", "domainColor": "#999", "tickColor": "#999"},
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom", "columns": 3, "labelLimit": 120},
    "title": {"fontSize": 14, "anchor": "start", "color": "#222"},
    "view": {"stroke": None},
}
STAR_COLOURS = ["#9e9e9e", "#d7301f", "#fc8d59", "#fdd835", "#91cf60", "#1a9850"]
STAR_LABELS = ["未评/否决", "一星", "二星", "三星", "四星", "五星"]
SERIES_COLOURS = ["#1a9850", "#3366cc", "#d7301f", "#ff9900", "#990099", "#0099c6", "#666666"]
# plot width: with its axes a chart is about 360 px, drawn 1:1 on a phone and two abreast on a desktop
WIDTH = 290


@cache
def _fonts() -> None:
    for folder in FONT_DIRS:
        if Path(folder).is_dir():
            vlc.register_font_directory(folder)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as one ``<svg>`` element, the same bytes for the same chart. Data must be
    inline (``alt.Data(values=...)``): no URL is ever fetched."""
    _fonts()
    spec = chart.to_dict()
    own = spec.get("config", {})  # a chart's own configuration wins over the house style
    spec["config"] = {**CONFIG, **own, **{k: {**v, **own.get(k, {})} for k, v in CONFIG.items() if isinstance(v, dict)}}
    return vlc.vegalite_to_svg(spec, allowed_base_urls=[], format_locale="zh-CN", time_format_locale="zh-CN")


def _bars(rows: list) -> alt.Chart:
    return alt.Chart(alt.Data(values=rows), width=WIDTH, height=28 * max(len({r["label"] for r in rows}), 1))


def stacked_bars(rows: list[tuple[str, dict[int, int]]], *, title: str) -> str:
    """Horizontal stacked bars: one bar per label (a district), segments by star level."""
    data = [{"label": label, "level": STAR_LABELS[s], "order": s, "n": n}
            for label, counts in rows for s in range(6) if (n := counts.get(s, 0))]
    top = max([4] + [sum(c.values()) for _, c in rows])
    return to_svg(_bars(data).mark_bar().encode(
        x=alt.X("n:Q", stack="zero", title="小区数（个）", axis=alt.Axis(tickCount=6, tickMinStep=1),
                scale=alt.Scale(domainMin=0, domainMax=top)),
        y=alt.Y("label:N", title=None, sort=[label for label, _ in rows]),
        color=alt.Color("level:N", title="星级", sort=STAR_LABELS,
                        scale=alt.Scale(domain=STAR_LABELS, range=STAR_COLOURS)),
        order="order:Q",
    ).properties(title=title))


def share_bars(rows: list[tuple[str, float | None]], *, title: str, line: float = 0.25) -> str:
    """Horizontal bars of shares (0–1) as percentages from zero, labelled, with a dashed
    reference line at ``line``; a label without a share gets no bar."""
    above, below = "高于基准线", "未超过基准线"
    data = [{"label": label, "pct": None if v is None else round(v * 100, 1),
             "above": above if v is not None and v > line else below} for label, v in rows]
    top = max([line * 120] + [d["pct"] for d in data if d["pct"] is not None])
    x = alt.X("pct:Q", title="五星占比（%）", axis=alt.Axis(tickCount=6),
              scale=alt.Scale(domain=[0, min(100.0, top)], nice=True, zero=True))
    y = alt.Y("label:N", title=None, sort=[label for label, _ in rows])
    base = _bars(data).encode(x=x, y=y)
    mark = alt.Chart(alt.Data(values=[{"pct": line * 100, "t": f"基准线 {line:.0%}"}])).encode(x="pct:Q")
    return to_svg(alt.layer(
        base.mark_bar().encode(color=alt.Color("above:N", title=None, scale=alt.Scale(
            domain=[above, below], range=["#1a9850", "#d7301f"]))),
        base.mark_text(align="left", dx=4, fontSize=11).encode(text=alt.Text("pct:Q", format=".1f")),
        mark.mark_rule(strokeDash=[5, 4], color="#333"),
        mark.mark_text(align="left", baseline="top", dx=3, y=0, fontSize=11, color="#333").encode(text="t:N"),
        title=title))


def _span(values: list[float], min_span: float, lo_limit: float | None, hi_limit: float | None) -> list[float]:
    """A y domain around the values at least ``min_span`` tall, so noise stays flat."""
    lo, hi = (min(values), max(values)) if values else (0.0, min_span)
    if hi - lo < min_span:
        lo, hi = (lo + hi - min_span) / 2, (lo + hi + min_span) / 2
    if lo_limit is not None and lo < lo_limit:
        lo, hi = lo_limit, max(hi, lo_limit + min_span)
    if hi_limit is not None and hi > hi_limit:
        lo, hi = min(lo, hi_limit - min_span), hi_limit
    return [lo, hi]


def line_chart(points: list[dict], *, title: str, y_title: str, series_title: str | None = None,
               min_span: float = 1.0, integer: bool = False, lo: float | None = None, hi: float | None = None,
               ref: tuple[float, str] | None = None, colours: list[str] | None = None) -> str:
    """Lines over rating dates: ``points`` are ``{"date": "YYYY-MM-DD", "series": name,
    "value": number or None}``. The y axis is at least ``min_span`` tall (a change of 0.02
    stays flat), within ``lo``..``hi``; ``integer`` counts start at zero with whole ticks;
    ``ref`` = (value, label) adds a dashed reference line; ``colours`` per series, in order."""
    values = [p["value"] for p in points if p["value"] is not None] + ([ref[0]] if ref else [])
    # whole ticks: at least 0..4 (Vega's tickMinStep does not hold on a short axis)
    domain = [0, max(values + [max(min_span, 4.0)])] if integer else _span(values, min_span, lo, hi)
    dates = sorted({p["date"] for p in points})
    ticks, fmt, x_title = _date_ticks(dates)
    x = alt.X("date:T", title=x_title, scale=alt.Scale(type="utc"),
              axis=alt.Axis(values=[alt.DateTime(year=d.year, month=d.month, date=d.day, utc=True)
                                    for d in map(date.fromisoformat, ticks)],
                            labelAngle=0, labelOverlap=False, labelExpr=f"utcFormat(datum.value, '{fmt}')"))
    y_scale = alt.Scale(domain=domain, zero=integer, nice=True)
    names = list(dict.fromkeys(p["series"] for p in points))
    colour = alt.Color("series:N", title=series_title, sort=names,
                       scale=alt.Scale(domain=names, range=(colours or SERIES_COLOURS)[:len(names)] or SERIES_COLOURS),
                       legend=alt.Legend() if len(names) > 1 or series_title else None)
    y = alt.Y("value:Q", title=y_title, scale=y_scale,
              axis=alt.Axis(tickCount=5, tickMinStep=1 if integer else alt.Undefined))
    layers = [alt.Chart(alt.Data(values=[p for p in points if p["value"] is not None]), width=WIDTH, height=220)
              .mark_line(point=len(dates) <= 31, strokeWidth=2).encode(x=x, y=y, color=colour)]
    if ref:
        mark = alt.Chart(alt.Data(values=[{"v": ref[0], "t": ref[1]}])).encode(y=alt.Y("v:Q", scale=y_scale))
        layers += [mark.mark_rule(strokeDash=[5, 4], color="#333"),
                   mark.mark_text(align="right", baseline="bottom", dy=-2, fontSize=11, color="#333", x="width")
                   .encode(text="t:N")]
    return to_svg(alt.layer(*layers, title=title))


def _date_ticks(dates: list[str], most: int = 4) -> tuple[list[str], str, str]:
    """(tick dates, d3 time format, axis title): at most ``most`` ticks that never share a
    label — rating dates when they span up to four months, else the first days of months."""
    first, last = date.fromisoformat(dates[0]), date.fromisoformat(dates[-1])
    one_year = first.year == last.year
    title = f"评定日期（{first.year}年）" if one_year else f"评定日期（{first.year}–{last.year}年）"
    if (last - first).days <= 122:
        step = -(-len(dates) // most)
        ticks = dates[::step]
        if ticks[-1] != dates[-1]:  # the last date is always labelled, in place of a crowding one
            ticks = ticks[:-1] + [dates[-1]] if len(dates) - 1 - dates.index(ticks[-1]) < step else ticks + [dates[-1]]
        return ticks[-most:], "%-m月%-d日", title
    months = [d.isoformat() for y in range(first.year, last.year + 1) for m in range(1, 13)
              if first <= (d := date(y, m, 1)) <= last]
    step = -(-len(months) // most)
    return months[::step], ("%-m月" if one_year else "%Y-%m"), title


def trend_chart_svg(months: list[dict], suppress_below: int, *, withheld: bool = False) -> str:
    """The 12-month trend of a public page: bars of the month's incidents, a line of the
    safety index. ``months``: month (YYYY-MM), n (None: under the threshold, or withheld),
    safety_index. A suppressed month is drawn as a pale band from 0 to ``suppress_below - 1``
    (the same for a 1 as for a 2), never as a height; withheld counts are not drawn."""
    top = suppress_below - 1
    rows = [{"label": f"{int(m['month'][5:])}月", "n": None if withheld else m["n"],
             "band": top if not withheld and m["n"] is None else None, "index": m["safety_index"]} for m in months]
    x = alt.X("label:N", sort=[r["label"] for r in rows], title=None, axis=alt.Axis(labelAngle=0, labelFontSize=10))
    base = alt.Chart(alt.Data(values=rows)).properties(width=300, height=140)
    line = base.mark_line(color="#1d4ed8", point=True).encode(
        x=x, y=alt.Y("index:Q", scale=alt.Scale(domain=[0, 100]), title="平安指数（线）",
                     axis=alt.Axis(orient="right", tickCount=5)))
    if withheld:
        return to_svg(line)
    counts = alt.Scale(domain=[0, max([r["n"] or 0 for r in rows] + [top + 1])], nice=True)
    bars = alt.layer(
        base.mark_bar(color="#b93b0a").encode(
            x=x, y=alt.Y("n:Q", scale=counts, title="案事件数（柱）", axis=alt.Axis(tickMinStep=1, format="d"))),
        base.mark_bar(color="#b93b0a", opacity=0.25).encode(x=x, y=alt.Y("band:Q", scale=counts)))
    return to_svg(alt.layer(bars, line).resolve_scale(y="independent"))
