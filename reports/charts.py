"""Charts of the reports and the public site: Altair specifications drawn as static SVG by
vl-convert (no browser, no network).

Labels stay ``<text>`` in the CJK font stack below, so Chinese renders with whatever the
reader's machine holds; vl-convert measures them with the system's Noto Sans CJK (its font
directory is registered once) so labels are laid out at their real width.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
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


@lru_cache(maxsize=1)
def _fonts() -> None:
    for folder in FONT_DIRS:
        if Path(folder).is_dir():
            vlc.register_font_directory(folder)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as one ``<svg>`` element (a string), the same bytes for the same chart.

    Data must be inline (``alt.Data(values=...)`` or a frame): no URL is ever fetched."""
    _fonts()
    spec = chart.to_dict()
    own = spec.get("config", {})  # a chart's own configuration wins over the house style
    spec["config"] = {**CONFIG, **own, **{k: {**v, **own.get(k, {})} for k, v in CONFIG.items() if isinstance(v, dict)}}
    return vlc.vegalite_to_svg(spec, allowed_base_urls=[], format_locale="zh-CN", time_format_locale="zh-CN")


STAR_COLOURS = {0: "#9e9e9e", 1: "#d7301f", 2: "#fc8d59", 3: "#fdd835", 4: "#91cf60", 5: "#1a9850"}
STAR_LABELS = {0: "未评/否决", 1: "一星", 2: "二星", 3: "三星", 4: "四星", 5: "五星"}
SERIES_COLOURS = ["#1a9850", "#3366cc", "#d7301f", "#ff9900", "#990099", "#0099c6", "#666666"]
# plot width: with its axes a chart is about 360 px, drawn 1:1 on a phone and two abreast
# on a desktop
WIDTH = 290


def _span(values: list[float], min_span: float, lo_limit: float | None, hi_limit: float | None) -> list[float]:
    """A y domain around the values at least ``min_span`` tall, so noise stays flat."""
    lo, hi = (min(values), max(values)) if values else (0.0, min_span)
    if hi - lo < min_span:
        mid = (lo + hi) / 2
        lo, hi = mid - min_span / 2, mid + min_span / 2
    if lo_limit is not None and lo < lo_limit:
        lo, hi = lo_limit, max(hi, lo_limit + min_span)
    if hi_limit is not None and hi > hi_limit:
        lo, hi = min(lo, hi_limit - min_span), hi_limit
    return [lo, hi]


def stacked_bars(rows: list[tuple[str, dict[int, int]]], *, title: str, width: int = WIDTH) -> str:
    """Horizontal stacked bars: one bar per label (a district), segments by star level."""
    data = [{"label": label, "level": STAR_LABELS[s], "order": s, "n": counts.get(s, 0)}
            for label, counts in rows for s in range(6) if counts.get(s, 0)]
    levels = [STAR_LABELS[s] for s in range(6)]
    chart = alt.Chart(alt.Data(values=data), title=title, width=width, height=28 * max(len(rows), 1)).mark_bar().encode(
        x=alt.X("n:Q", stack="zero", title="小区数（个）", axis=alt.Axis(tickCount=6, tickMinStep=1),
                scale=alt.Scale(domainMin=0, domainMax=max([4] + [sum(c.values()) for _, c in rows]))),
        y=alt.Y("label:N", title=None, sort=[label for label, _ in rows]),
        color=alt.Color("level:N", title="星级", sort=levels,
                        scale=alt.Scale(domain=levels, range=[STAR_COLOURS[s] for s in range(6)])),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("label:N", title="区"), alt.Tooltip("level:N", title="星级"),
                 alt.Tooltip("n:Q", title="小区数")],
    )
    return to_svg(chart)


def share_bars(rows: list[tuple[str, float | None]], *, title: str, line: float = 0.25, width: int = WIDTH) -> str:
    """Horizontal bars of shares (0–1) as percentages from zero, with a dashed reference
    line (e.g. the 25% mark); a label without a share gets no bar."""
    data = [{"label": label, "pct": None if v is None else round(v * 100, 1),
             "above": "高于基准线" if v is not None and v > line else "未超过基准线"} for label, v in rows]
    top = max([line * 100 * 1.2] + [d["pct"] for d in data if d["pct"] is not None])
    x = alt.X("pct:Q", title="五星占比（%）", axis=alt.Axis(tickCount=6),
              scale=alt.Scale(domain=[0, min(100.0, top)], nice=True, zero=True))
    base = alt.Chart(alt.Data(values=data), width=width, height=28 * max(len(rows), 1))
    bars = base.mark_bar().encode(
        x=x, y=alt.Y("label:N", title=None, sort=[label for label, _ in rows]),
        color=alt.Color("above:N", title=None, scale=alt.Scale(domain=["高于基准线", "未超过基准线"],
                                                               range=["#1a9850", "#d7301f"])),
        tooltip=[alt.Tooltip("label:N", title="区"), alt.Tooltip("pct:Q", title="五星占比（%）", format=".1f")])
    text = base.mark_text(align="left", dx=4, fontSize=11).encode(
        x=x, y=alt.Y("label:N", sort=[label for label, _ in rows]), text=alt.Text("pct:Q", format=".1f"))
    rule = alt.Chart(alt.Data(values=[{"pct": line * 100, "label": f"基准线 {line:.0%}"}])).mark_rule(
        strokeDash=[5, 4], color="#333").encode(x="pct:Q")
    mark = alt.Chart(alt.Data(values=[{"pct": line * 100, "t": f"基准线 {line:.0%}"}])).mark_text(
        align="left", baseline="top", dx=3, y=0, fontSize=11, color="#333").encode(x="pct:Q", text="t:N")
    return to_svg(alt.layer(bars, text, rule, mark, title=title))


def line_chart(points: list[dict], *, title: str, y_title: str, series_title: str | None = None,
               min_span: float = 1.0, integer: bool = False, lo: float | None = None, hi: float | None = None,
               ref: tuple[float, str] | None = None, colours: list[str] | None = None,
               width: int = WIDTH, height: int = 220) -> str:
    """Lines over rating dates: ``points`` are ``{"date": "YYYY-MM-DD", "series": name,
    "value": number or None}``. The y axis is at least ``min_span`` tall (a change of 0.02
    stays flat), within ``lo``..``hi``; ``integer`` counts start at zero with whole ticks;
    ``ref`` = (value, label) adds a dashed reference line; ``colours`` per series, in order."""
    values = [p["value"] for p in points if p["value"] is not None] + ([ref[0]] if ref else [])
    if integer:  # whole ticks: at least 0..4 (Vega's tickMinStep does not hold on a short axis)
        domain = [0, max(values + [max(min_span, 4.0)])]
        y_axis = alt.Axis(tickCount=5, tickMinStep=1)
    else:
        domain = _span(values, min_span, lo, hi)
        y_axis = alt.Axis(tickCount=5)
    dates = sorted({p["date"] for p in points})
    ticks, fmt, x_title = _date_ticks(dates)
    x = alt.X("date:T", title=x_title, scale=alt.Scale(type="utc"),
              axis=alt.Axis(values=[_utc_ms(d) for d in ticks], labelAngle=0, labelOverlap=False,
                            labelExpr=f"utcFormat(datum.value, '{fmt}')"))
    names = list(dict.fromkeys(p["series"] for p in points))
    colour = alt.Color("series:N", title=series_title, sort=names,
                       scale=alt.Scale(domain=names, range=(colours or SERIES_COLOURS)[:len(names)] or SERIES_COLOURS),
                       legend=alt.Legend() if len(names) > 1 or series_title else None)
    y = alt.Y("value:Q", title=y_title, scale=alt.Scale(domain=domain, zero=integer, nice=True), axis=y_axis)
    base = alt.Chart(alt.Data(values=[p for p in points if p["value"] is not None]), width=width, height=height)
    layers = [base.mark_line(point=len(dates) <= 31, strokeWidth=2).encode(
        x=x, y=y, color=colour,
        tooltip=[alt.Tooltip("date:N", title="评定日期"), alt.Tooltip("series:N", title="系列"),
                 alt.Tooltip("value:Q", title=y_title, format="d" if integer else ".2f")])]
    if ref:
        layers.append(alt.Chart(alt.Data(values=[{"v": ref[0]}])).mark_rule(strokeDash=[5, 4], color="#333")
                      .encode(y=alt.Y("v:Q", scale=alt.Scale(domain=domain, zero=integer, nice=True))))
        layers.append(alt.Chart(alt.Data(values=[{"v": ref[0], "t": ref[1]}])).mark_text(
            align="right", baseline="bottom", dy=-2, fontSize=11, color="#333", x="width").encode(
            y=alt.Y("v:Q", scale=alt.Scale(domain=domain, zero=integer, nice=True)), text="t:N"))
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
        return ticks[-most:] if len(ticks) > most else ticks, "%-m月%-d日", title
    months = []
    y, m = (first.year, first.month + 1) if first.day > 1 else (first.year, first.month)
    while (y, m) <= (last.year, last.month):
        months.append(date(y + (m - 1) // 12, (m - 1) % 12 + 1, 1).isoformat())
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    step = -(-len(months) // most)
    return months[::step], ("%-m月" if one_year else "%Y-%m"), title


def _utc_ms(day: str) -> int:
    d = date.fromisoformat(day)
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp() * 1000)


# --- The public site's trend chart ---------------------------------------------------------
def trend_chart_svg(months: list[dict], suppress_below: int, *, withheld: bool = False) -> str:
    """The 12-month trend of a public page: bars of the month's incidents, a line of the
    safety index. ``months``: month (YYYY-MM), n (None: under the threshold, or withheld),
    safety_index. A suppressed month is drawn as a pale band from 0 to ``suppress_below - 1``
    (the same for a 1 as for a 2), never as a height; withheld counts are not drawn."""

    top = suppress_below - 1
    rows = [{"label": f"{int(m['month'][5:])}月", "n": None if withheld else m["n"],
             "band": top if not withheld and m["n"] is None else None, "index": m["safety_index"]} for m in months]
    peak = max([r["n"] or 0 for r in rows] + [top + 1])
    x = alt.X("label:N", sort=[r["label"] for r in rows], title=None, axis=alt.Axis(labelAngle=0, labelFontSize=10))
    base = alt.Chart(alt.Data(values=rows)).properties(width=300, height=140)
    line = base.mark_line(color="#1d4ed8", point=True).encode(
        x=x, y=alt.Y("index:Q", scale=alt.Scale(domain=[0, 100]), title="平安指数（线）",
                     axis=alt.Axis(orient="right", tickCount=5)))
    if withheld:
        chart = line
    else:
        counts = alt.Scale(domain=[0, peak], nice=True)
        bars = alt.layer(
            base.mark_bar(color="#b93b0a").encode(
                x=x, y=alt.Y("n:Q", scale=counts, title="案事件数（柱）", axis=alt.Axis(tickMinStep=1, format="d"))),
            base.mark_bar(color="#b93b0a", opacity=0.25).encode(x=x, y=alt.Y("band:Q", scale=counts)),
        )
        chart = alt.layer(bars, line).resolve_scale(y="independent")
    return to_svg(chart)
