"""Inline SVG charts for the offline reports.

Labels stay ``<text>`` in a font stack that names the CJK fonts a machine is likely to
have (Noto Sans CJK SC first), so Chinese renders with whatever the reader's machine holds
instead of outlines baked in from a font the build machine had. Output is a string of SVG
markup, deterministic for the same input; every text is XML-escaped.
"""
from __future__ import annotations

from html import escape

FONT = "'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','PingFang SC','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif"
STAR_COLOURS = {0: "#9e9e9e", 1: "#d7301f", 2: "#fc8d59", 3: "#fdd835", 4: "#91cf60", 5: "#1a9850"}
STAR_LABELS = {0: "未评/否决", 1: "一星", 2: "二星", 3: "三星", 4: "四星", 5: "五星"}
SERIES_COLOURS = ["#1a9850", "#3366cc", "#d7301f", "#ff9900", "#990099", "#0099c6"]


def _t(x: float, y: float, text: str, *, size: int = 12, anchor: str = "start",
       fill: str = "#222", weight: str = "normal", cls: str = "lbl") -> str:
    return (f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{fill}" font-weight="{weight}">{escape(str(text))}</text>')


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="{escape(FONT)}" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def stacked_bars(rows: list[tuple[str, dict[int, int]]], *, title: str, width: int = 720) -> str:
    """Horizontal 100% stacked bars: one bar per label, segments by star level (0–5)."""
    bar_h, gap, left, top = 26, 10, 90, 34
    plot_w = width - left - 70
    height = top + len(rows) * (bar_h + gap) + 40
    body = [_t(left, 20, title, size=14, weight="bold")]
    for i, (label, counts) in enumerate(rows):
        y = top + i * (bar_h + gap)
        total = sum(counts.values())
        body.append(_t(left - 8, y + bar_h * 0.68, label, anchor="end"))
        x = float(left)
        for s in range(0, 6):
            n = counts.get(s, 0)
            if total == 0 or n == 0:
                continue
            w = plot_w * n / total
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                        f'fill="{STAR_COLOURS[s]}"><title>{escape(label)} {STAR_LABELS[s]}: {n}</title></rect>')
            if w > 22:
                body.append(_t(x + w / 2, y + bar_h * 0.68, str(n), size=11, anchor="middle",
                               fill="#000" if s in (3, 4) else "#fff", cls="num"))
            x += w
        body.append(_t(left + plot_w + 6, y + bar_h * 0.68, f"{total}", size=11, fill="#555", cls="num"))
    ly = top + len(rows) * (bar_h + gap) + 14
    for k, s in enumerate(range(0, 6)):
        lx = left + k * 95
        body.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{STAR_COLOURS[s]}"/>')
        body.append(_t(lx + 16, ly, STAR_LABELS[s], size=11))
    return _svg(width, height, body, title)


def share_bars(rows: list[tuple[str, float]], *, title: str, line: float = 0.25, width: int = 720) -> str:
    """Horizontal bars of shares (0–1) with a dashed reference line (e.g. the 25% mark)."""
    bar_h, gap, left, top = 22, 10, 90, 34
    plot_w = width - left - 80
    scale = max([line * 1.2] + [v for _, v in rows if v is not None]) or 1.0
    height = top + len(rows) * (bar_h + gap) + 24
    body = [_t(left, 20, title, size=14, weight="bold")]
    for i, (label, v) in enumerate(rows):
        y = top + i * (bar_h + gap)
        v = v or 0.0
        w = plot_w * v / scale
        colour = "#1a9850" if v > line else "#d7301f"
        body.append(_t(left - 8, y + bar_h * 0.7, label, anchor="end"))
        body.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
        body.append(_t(left + w + 6, y + bar_h * 0.7, f"{v:.1%}", size=11, cls="num"))
    lx = left + plot_w * line / scale
    bottom = top + len(rows) * (bar_h + gap)
    body.append(f'<line x1="{lx:.1f}" y1="{top - 6}" x2="{lx:.1f}" y2="{bottom}" stroke="#333" '
                f'stroke-dasharray="5,4"/>')
    body.append(_t(lx, bottom + 16, f"基准线 {line:.0%}", size=11, anchor="middle"))
    return _svg(width, height, body, title)


def line_chart(x_labels: list[str], series: list[tuple[str, list[float | None]]], *, title: str,
               y_format: str = "{:.0f}", width: int = 720, height: int = 260,
               ref: tuple[float, str] | None = None) -> str:
    """A line chart over dates: one polyline per series, Chinese legend and axis labels;
    ``ref`` = (value, label) adds a dashed reference line (e.g. the 25% mark)."""
    per_row = max(1, (width - 56 - 60) // 130)
    legend_rows = (len(series) + per_row - 1) // per_row
    height += 18 * max(0, legend_rows - 1)
    left, right, top, bottom = 56, 60, 34, 40 + 18 * legend_rows  # room for the last date label
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, ys in series for v in ys if v is not None] + ([ref[0]] if ref else [])
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.1
    lo, hi = lo - pad, hi + pad
    n = len(x_labels)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    body = [_t(left, 20, title, size=14, weight="bold"),
            f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        body.append(f'<line x1="{left}" y1="{py(v):.1f}" x2="{left + plot_w}" y2="{py(v):.1f}" stroke="#eee"/>')
        body.append(_t(left - 6, py(v) + 4, y_format.format(v), size=10, anchor="end", cls="num"))
    if ref:
        body.append(f'<line x1="{left}" y1="{py(ref[0]):.1f}" x2="{left + plot_w}" y2="{py(ref[0]):.1f}" '
                    f'stroke="#333" stroke-dasharray="5,4"/>')
        body.append(_t(left + plot_w + 2, py(ref[0]) + 4, ref[1], size=10))
    step = max(1, n // 8)
    for i, lab in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            body.append(_t(px(i), top + plot_h + 16, lab, size=10, anchor="middle", cls="num"))
    for s, (name, ys) in enumerate(series):
        colour = SERIES_COLOURS[s % len(SERIES_COLOURS)]
        pts = [(px(i), py(v)) for i, v in enumerate(ys) if v is not None]
        if len(pts) > 1:
            body.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                colour, " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
        body.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in pts)
        lx = left + (s % per_row) * 130
        ly = top + plot_h + 34 + 18 * (s // per_row)
        body.append(f'<rect x="{lx}" y="{ly - 6}" width="12" height="4" fill="{colour}"/>')
        body.append(_t(lx + 16, ly, name, size=11))
    return _svg(width, height, body, title)


# --- The public site's trend chart (Altair + vl-convert) -----------------------------------
_CJK_FONT = "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"


def to_svg(chart) -> str:
    """An Altair chart as one static ``<svg>`` string (vl-convert: offline, no browser)."""
    import vl_convert as vlc

    spec = chart.to_dict()
    return vlc.vega_to_svg(vlc.vegalite_to_vega(spec), allowed_base_urls=[])


def trend_chart_svg(months: list[dict], suppress_below: int, *, withheld: bool = False) -> str:
    """The 12-month trend of a public page: bars of the month's incidents, a line of the
    safety index. ``months``: month (YYYY-MM), n (None: under the threshold, or withheld),
    safety_index. A suppressed month is drawn as a pale band from 0 to ``suppress_below - 1``
    (the same for a 1 as for a 2), never as a height; withheld counts are not drawn."""
    import altair as alt

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
    return to_svg(chart.configure(font=_CJK_FONT).configure_view(stroke=None))
