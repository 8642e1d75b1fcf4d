"""The column-wise page builders give exactly what the per-value functions give."""
from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.site import render_site
from reports.site_data import trend_months
from reports.site_page import esc, format_each, write_files
from reports.site_svg import sparkline, sparklines
from tests.site import frames

MONTHS = trend_months(date(2026, 11, 23))
index_values = st.one_of(st.none(), st.floats(0, 100, allow_nan=False),
                         st.integers(0, 1000).map(lambda i: i / 10))
series = st.tuples(st.lists(st.integers(0, 60), min_size=12, max_size=12),
                   st.lists(index_values, min_size=12, max_size=12))


@settings(max_examples=40, deadline=None)
@given(st.lists(series, min_size=1, max_size=8))
def test_sparklines_match_the_single_sparkline(rows):
    frame = pl.DataFrame({"n": [r[0] for r in rows], "v": [r[1] for r in rows]},
                         schema={"n": pl.List(pl.Int64), "v": pl.List(pl.Float64)})
    bulk = sparklines("n", "v", MONTHS, frame).to_list()
    assert bulk == [str(sparkline(MONTHS, n, v)) for n, v in rows]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=20))
def test_escaping_and_formatting_per_value(texts):
    from markupsafe import escape
    s = pl.Series("t", texts, dtype=pl.String)
    assert pl.select(esc(pl.lit(s))).to_series().to_list() == [None if t is None else str(escape(t)) for t in texts]
    assert format_each(s, lambda t: f"<{t}>").to_list() == [f"<{t}>" for t in texts]


def test_thread_count_never_changes_the_files(tmp_path):
    data = [f"page {i} 小区".encode() for i in range(300)]
    for workers in (1, 4):
        write_files([str(tmp_path / str(workers) / f"c{i}" / "index.html") for i in range(300)], data, workers)
    one = sorted((p.relative_to(tmp_path / "1"), p.read_bytes()) for p in (tmp_path / "1").rglob("*.html"))
    four = sorted((p.relative_to(tmp_path / "4"), p.read_bytes()) for p in (tmp_path / "4").rglob("*.html"))
    assert one == four and len(one) == 300


def test_a_template_change_rerenders_every_page(tmp_path, monkeypatch):
    import reports.site as site_mod
    first, second = tmp_path / "first", tmp_path / "second"
    render_site(first, **frames.render_kwargs())
    real = site_mod._page_pattern

    def changed(intake_url):
        p = real(intake_url)
        p.texts[-1] += "<!-- v2 -->"
        return p
    monkeypatch.setattr(site_mod, "_page_pattern", changed)
    written = render_site(second, previous=first, **frames.render_kwargs())
    assert len([p for p in written if p.parent.name == "c"]) == 5
    assert all("<!-- v2 -->" in p.read_text(encoding="utf-8") for p in second.glob("c/*.html"))
