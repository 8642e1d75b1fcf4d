"""A nightly render reuses the pages whose displayed figures did not change."""
from __future__ import annotations

import polars as pl

from reports.site import render_site
from tests.site import frames


def test_only_changed_pages_are_rerendered(tmp_path):
    first, second, full = tmp_path / "first", tmp_path / "second", tmp_path / "full"
    render_site(first, **frames.render_kwargs())
    kw = frames.render_kwargs()
    kw["checkins"] = kw["checkins"].with_columns(
        pl.when(pl.col("compound_id") == "XM-002").then(pl.col("n_month") + 5).otherwise(pl.col("n_month")).alias("n_month"))
    written = render_site(second, previous=first, **kw)
    render_site(full, **kw)

    pages = sorted(p.stem for p in second.glob("c/*.html"))
    rendered = {p.stem for p in written if p.parent.name == "c"}
    assert rendered == {"XM-002"}
    for cid in pages:
        new = (second / "c" / f"{cid}.html")
        assert new.read_bytes() == (full / "c" / f"{cid}.html").read_bytes()
        same_file = new.stat().st_ino == (first / "c" / f"{cid}.html").stat().st_ino
        assert same_file == (cid != "XM-002")


def test_a_reused_page_is_never_changed_in_the_previous_release(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    render_site(first, **frames.render_kwargs())
    before = {p: p.read_bytes() for p in first.rglob("*.html")}
    kw = frames.render_kwargs()
    kw["replies"] = kw["replies"].with_columns(pl.lit("新的回应说明").alias("reply_text"))
    render_site(second, previous=first, **kw)
    assert {p: p.read_bytes() for p in first.rglob("*.html")} == before


def test_area_averages_alone_do_not_rerender_a_page(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    render_site(first, **frames.render_kwargs())
    kw = frames.render_kwargs()
    kw["ratings"] = kw["ratings"].with_columns(
        pl.when(pl.col("compound_id") == "XM-002").then(91.0).otherwise(pl.col("safety_index")).alias("safety_index"))
    written = render_site(second, previous=first, **kw)
    assert {p.stem for p in written if p.parent.name == "c"} == {"XM-002"}
    # XM-001 shares XM-002's street: its street average moved, its own figures did not.
    kept = second / "c" / "XM-001.html"
    assert kept.stat().st_ino == (first / "c" / "XM-001.html").stat().st_ino
    html = kept.read_text(encoding="utf-8")
    assert "本小区数据自该日起未变" in html and "街道、区、全市的数据为评定日期当日数据" in html
    assert "<td>鹭江街道</td><td class=\"n\">83.8</td>" in html  # the average of its date
    street = (second / "c" / "XM-002.html").read_text(encoding="utf-8")
    assert "<td>鹭江街道</td><td class=\"n\">81.8</td>" in street
