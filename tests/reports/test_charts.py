"""Every chart of the analyst report is drawn by the chart library with honest axes: its
tick labels are read back from the SVG and none repeats or reads "-0" (issue 19: the mean
index axis labelled every tick "87.5"; a count axis had a "-0" tick)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import polars as pl
import pytest

from reports import charts
from reports.analyst import render_report
from tests.reports.conftest import AS_OF

SVG = "{http://www.w3.org/2000/svg}"


def axis_labels(svg: str) -> list[list[str]]:
    """The tick labels of every axis of one chart, axis by axis."""
    root = ET.fromstring(svg)
    return [["".join(t.itertext()) for t in g.iter(f"{SVG}text")]
            for g in root.iter(f"{SVG}g") if "role-axis-label" in (g.get("class") or "")]


def assert_honest_ticks(svg: str) -> None:
    axes = axis_labels(svg)
    assert axes, "a chart without axes"
    for labels in axes:
        assert len(labels) == len(set(labels)), f"repeated tick labels {labels}"
        assert not [t for t in labels if re.fullmatch(r"[-\u2212]0([.,]0*)?%?", t.strip())], f"negative zero in {labels}"


def _trend_frame() -> pl.DataFrame:
    """`trend_counts_sql` rows of three dates: the mean index moves 87.494 → 87.516 → 87.5
    (the issue's case) and one compound is vetoed on the middle date only."""
    rows = []
    for k, (mean, vetoed) in enumerate([(87.494, 0), (87.516, 1), (87.5, 0)]):
        as_of = AS_OF - timedelta(days=14 - 7 * k)
        for district in ("思明区", "湖里区"):
            rows.append({"as_of": as_of, "district": district, "status": "rated", "stars": 5, "n": 30,
                         "n_index": 30, "index_micros": round(mean * 30 * 1e6)})
            rows.append({"as_of": as_of, "district": district, "status": "rated", "stars": 3, "n": 70,
                         "n_index": 70, "index_micros": round(mean * 70 * 1e6)})
        if vetoed:
            rows.append({"as_of": as_of, "district": "思明区", "status": "vetoed", "stars": 0, "n": 1,
                         "n_index": 1, "index_micros": round(mean * 1e6)})
    return pl.DataFrame(rows, schema_overrides={"as_of": pl.Date, "stars": pl.Int64})


@pytest.fixture(scope="module")
def page(city, tmp_path_factory):
    out = tmp_path_factory.mktemp("charts")
    path = render_report(out, as_of=AS_OF, ratings=city["ratings"], trend=_trend_frame(),
                         changes=city["changes"], explanations=city["explanations"].head(0),
                         quality=pl.DataFrame({"source": ["police"]}),
                         match_rates=pl.DataFrame({"source": ["police"], "rate": [1.0]}), review_size=0,
                         problems=pl.DataFrame(), intake=None)
    return path.read_text(encoding="utf-8")


def _charts(html: str) -> dict[str, str]:
    found = re.findall(r'<div class="chart" id="([^"]+)">\s*(<svg.*?</svg>)', html, re.DOTALL)
    return dict(found)


def test_every_chart_of_the_report_has_distinct_ticks_and_no_negative_zero(page):
    found = _charts(page)
    assert set(found) == {"chart-share", "chart-stars", "chart-trend-share", "chart-trend-index",
                          "chart-trend-districts", "chart-trend-flags"}
    for svg in found.values():
        assert_honest_ticks(svg)


def test_a_change_of_two_hundredths_is_drawn_flat(page):
    """87.494 → 87.516 on an axis at least two index points tall: the line's y positions
    differ by under a hundredth of the plot height."""
    svg = _charts(page)["chart-trend-index"]
    values = [float(t) for t in axis_labels(svg)[1]]
    assert max(values) - min(values) >= 2
    path = re.search(r'<g class="mark-line role-mark[^"]*"[^>]*><path[^>]*d="([^"]+)"', svg).group(1)
    ys = [float(y) for y in re.findall(r"[ML,][\d.]+,([\d.]+)", path.replace("L", " L"))] or \
        [float(y) for y in re.findall(r",(-?[\d.]+)", path)]
    assert max(ys) - min(ys) < 220 * 0.01 + 0.5


def test_count_axis_starts_at_zero_with_whole_ticks(page):
    labels = axis_labels(_charts(page)["chart-trend-flags"])[1]
    assert labels[0] == "0" and all(re.fullmatch(r"\d+", t) for t in labels)


def test_charts_are_static_svg_with_chinese_labels_sized_for_a_phone(page):
    for svg in _charts(page).values():
        root = ET.fromstring(svg)
        assert root.get("viewBox") and int(root.get("width")) <= 720  # scales down with max-width:100%
        texts = "".join(root.itertext())
        assert re.search(r"[\u4e00-\u9fff]", texts)
        assert "<script" not in svg and "<image" not in svg and "http" not in svg.replace(
            "http://www.w3.org", "")
        sizes = [float(s) for s in re.findall(r'font-size="(\d+(?:\.\d+)?)px"', svg)]
        assert sizes and min(sizes) >= 11


def test_the_old_hand_built_axes_are_gone():
    assert not hasattr(charts, "_t") and not hasattr(charts, "_svg")
    svg = charts.line_chart([{"date": "2026-10-01", "series": "五星占比", "value": 0.0},
                             {"date": "2026-10-02", "series": "五星占比", "value": 0.0}],
                            title="走势", y_title="五星占比（%）", min_span=10, lo=0, hi=100)
    assert_honest_ticks(svg)
    assert "Noto Sans CJK SC" in svg


def test_dates_one_day_apart_do_not_repeat_labels():
    days = [str(date(2026, 11, 1) + timedelta(days=k)) for k in range(2)]
    svg = charts.line_chart([{"date": d, "series": "x", "value": v} for d, v in zip(days, [0, 1])],
                            title="t", y_title="小区数（个）", integer=True)
    assert_honest_ticks(svg)
    assert axis_labels(svg)[0] == ["11月1日", "11月2日"]


@pytest.mark.parametrize("n, start, every", [(366, date(2025, 11, 20), 1), (30, date(2026, 12, 20), 1),
                                             (14, date(2026, 9, 1), 7), (200, date(2026, 1, 1), 1)])
def test_date_axes_have_few_distinct_labels_for_a_phone(n, start, every):
    days = [str(start + timedelta(days=k * every)) for k in range(n)]
    svg = charts.line_chart([{"date": d, "series": "五星占比", "value": 30.0 + k % 3} for k, d in enumerate(days)],
                            title="t", y_title="五星占比（%）", min_span=10, lo=0, hi=100)
    assert_honest_ticks(svg)
    assert 2 <= len(axis_labels(svg)[0]) <= 4


def test_a_charts_own_configuration_wins_over_the_house_style():
    import altair as alt

    chart = alt.Chart(alt.Data(values=[{"a": 1, "b": 2}])).mark_point().encode(x="a:Q", y="b:Q")
    sizes = set(re.findall(r'font-size="(\d+)px"', charts.to_svg(chart.configure_axis(labelFontSize=20))))
    assert "20" in sizes and "20" not in set(re.findall(r'font-size="(\d+)px"', charts.to_svg(chart)))
