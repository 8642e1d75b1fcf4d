"""The public site rendered from small frames: content, suppression, size, safety."""
from __future__ import annotations

import json
import re
import polars as pl
import pytest
from markupsafe import escape

from reports.site import MAX_PAGE_BYTES, render_site, site_texts
from tests.site import frames


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("site")
    written = render_site(d, **frames.render_kwargs())
    return d, written


def page(site, cid):
    return (site[0] / "c" / f"{cid}.html").read_text(encoding="utf-8")


def groups_table(html):
    sec = html.split('id="h-groups"')[1].split("</section>")[0]
    return re.findall(r"<tr><td>([^<]+)</td><td class=\"n\">([^<]+)</td></tr>", sec)


def test_every_compound_gets_a_page_and_the_index(site):
    d, written = site
    for cid in ["XM-001", "XM-002", "XM-003", "XM-004", "XM-005"]:
        assert (d / "c" / f"{cid}.html") in written
    doc = json.loads((d / "search.json").read_text(encoding="utf-8"))
    assert [r[0] for r in doc["rows"]] == ["XM-001", "XM-002", "XM-003", "XM-004", "XM-005"]
    assert doc["rows"][0][2] == "海湾小区|海湾新村"  # aliases are searchable
    index = (d / "index.html").read_text(encoding="utf-8")
    assert 'src="static/search.js"' in index and "鹭江街道" in index and 'role="search"' in index
    # 思明区: 3 compounds, one five-star, mean index of (72.5, 95, 40).
    assert '<td>思明区</td><td class="n">3</td><td class="n">1</td><td class="n">33%</td><td class="n">69.2</td>' in index
    # 集美区: the unrated compound counts as a compound but not in the five-star share.
    assert '<td>集美区</td><td class="n">2</td><td class="n">0</td><td class="n">0%</td><td class="n">81.0</td>' in index


def test_stars_index_and_date(site):
    html = page(site, "XM-002")
    assert 'aria-label="5星（满分5星）"' in html and "★★★★★" in html
    assert ">95.0<" in html and "2026年11月23日" in html
    html = page(site, "XM-001")
    assert '<span class="on">★★★</span><span class="off">☆☆</span>' in html


def test_small_counts_are_suppressed_and_zero_groups_not_listed(site):
    rows = groups_table(page(site, "XM-001"))
    assert rows == [("盗窃类", "7"), ("诈骗类", "少量"), ("纠纷类", "少量")]
    assert "暴力类" not in dict(rows)  # a group with 0 is not listed
    assert groups_table(page(site, "XM-004")) == [("诈骗类", "12"), ("盗窃类", "4")]
    assert "没有计入评星的案事件" in page(site, "XM-002")


def test_suppressed_rows_do_not_reveal_order_by_count(tmp_path):
    kw = frames.render_kwargs()
    kw["stats"] = frames.stats().with_columns(
        pl.when((pl.col("compound_id") == "XM-001") & (pl.col("category_group") == "纠纷"))
        .then(2).when((pl.col("compound_id") == "XM-001") & (pl.col("category_group") == "诈骗"))
        .then(1).otherwise(pl.col("n")).cast(pl.Int32).alias("n"))
    render_site(tmp_path, **kw)
    rows = groups_table((tmp_path / "c" / "XM-001.html").read_text(encoding="utf-8"))
    assert rows == [("盗窃类", "7"), ("诈骗类", "少量"), ("纠纷类", "少量")]  # fixed group order


def test_tips_follow_the_leading_groups(site):
    tips = site_texts()["tips"]
    fraud_first = page(site, "XM-004")
    assert all(str(escape(t)) in fraud_first for t in tips["诈骗"] + tips["盗窃"])
    assert str(escape(tips["纠纷"][0])) not in fraud_first
    quiet = page(site, "XM-002")
    assert all(str(escape(t)) in quiet for t in tips["general"])
    assert str(escape(tips["诈骗"][0])) not in quiet


def test_veto_and_downgrade_notes_without_case_details(site):
    notes = site_texts()["notes"]
    vetoed = page(site, "XM-003")
    assert notes["vetoed"] in vetoed and "homicide" not in vetoed and "故意杀人" not in vetoed
    assert 'aria-label="一票否决，不评星"' in vetoed
    down = page(site, "XM-004")
    assert notes["downgraded"] in down and "入室盗窃、诈骗窝点" in down and "downgrade:" not in down
    assert 'class="note"' not in page(site, "XM-002")
    assert notes["not_rated"] in page(site, "XM-005")


def test_reply_text_is_shown_escaped(site):
    html = page(site, "XM-004")
    assert "小区回应说明" in html and "&lt;b&gt;欢迎&lt;/b&gt;" in html and "<b>欢迎" not in html
    assert "小区回应说明" not in page(site, "XM-001")


def test_checkins_comparison_plaque_link_and_form(site):
    html = page(site, "XM-001")
    assert "本月政法干警报到服务 <strong>4</strong> 次" in html
    assert "<td>鹭江街道</td><td class=\"n\">83.8</td><td class=\"n\">50%</td>" in html
    assert 'href="../p/P000001.ABCDEF234.html"' in html  # host stripped: works on any static host
    assert 'method="post" action="/api/needs"' in html and 'value="XM-001"' in html
    assert 'href="../p/' not in page(site, "XM-003")
    assert "本月政法干警报到服务 <strong>0</strong> 次" in page(site, "XM-003")


def test_trend_sparkline_is_labelled(site):
    html = page(site, "XM-001")
    svg = re.search(r"<svg class=\"spark\"[^>]*>", html).group(0)
    assert 'role="img"' in svg and "平安指数由" in svg
    assert html.count("<rect ") == 12 and "2025年12月" in html and "2026年11月" in html


def test_pages_small_self_contained_accessible(site):
    d, written = site
    for f in written:
        data = f.read_bytes()
        assert len(data) < MAX_PAGE_BYTES
        text = data.decode("utf-8")
        assert "http://" not in text and "https://" not in text, f
        if f.suffix == ".html":
            assert '<html lang="zh-CN">' in text and "<h1" in text
            # Scripts are the site's own files (the CSP allows no inline script); nothing else loads.
            assert not re.search(r"<(img|link|iframe)[^>]+(src|href)=", text), f
            assert set(re.findall(r'<script src="([^"]+)"', text)) <= {"static/search.js", "../static/need.js"}, f
            assert "<script>" not in text, f
            assert "<img" not in text or " alt=" in text


def test_rendering_is_deterministic_and_incremental(tmp_path, site):
    render_site(tmp_path, **frames.render_kwargs())
    for f in site[1]:
        assert (tmp_path / f.relative_to(site[0])).read_bytes() == f.read_bytes()
    kw = frames.render_kwargs()
    kw["checkins"] = pl.DataFrame({"compound_id": ["XM-002"], "n_month": [9]})
    before = (tmp_path / "c" / "XM-001.html").stat().st_mtime_ns
    out = render_site(tmp_path, only={"XM-002"}, **kw)
    pages = [p for p in out if p.parent.name == "c"]
    assert pages == [tmp_path / "c" / "XM-002.html"]
    assert "<strong>9</strong>" in pages[0].read_text(encoding="utf-8")
    assert (tmp_path / "c" / "XM-001.html").stat().st_mtime_ns == before


def test_compounds_without_rating_and_odd_ids(tmp_path):
    kw = frames.render_kwargs()
    extra = frames.compounds().head(1).with_columns(pl.lit("我的/../id").alias("compound_id"),
                                                   pl.lit("新小区").alias("name"))
    kw["compounds"] = pl.concat([kw["compounds"], extra])
    render_site(tmp_path, **kw)
    doc = json.loads((tmp_path / "search.json").read_text(encoding="utf-8"))
    row = next(r for r in doc["rows"] if r[0] == "我的/../id")
    assert row[6] == "not_rated" and re.match(r"^x[0-9a-f]{16}$", row[7])
    assert "新小区" in (tmp_path / "c" / f"{row[7]}.html").read_text(encoding="utf-8")


def test_private_registry_fields_never_reach_the_site(tmp_path):
    from tests.privacy import scan_for
    kw = frames.render_kwargs()
    kw["compounds"] = kw["compounds"].with_columns(
        pl.lit("思明区某某路88号3单元1201室").alias("address"))
    render_site(tmp_path, **kw)
    assert scan_for([tmp_path], ["某某路88号3单元1201室", "13912345678"]) == []


def test_history_fills_the_index_line_when_monthly_lacks_it(tmp_path):
    kw = frames.render_kwargs()
    kw["monthly"] = kw["monthly"].filter(pl.col("compound_id") != "XM-002")
    render_site(tmp_path, **kw)
    html = (tmp_path / "c" / "XM-002.html").read_text(encoding="utf-8")
    assert "平安指数由90.0变为95.0" in html


def test_needs_count_shown_when_given(tmp_path, site):
    kw = frames.render_kwargs()
    kw["needs"] = pl.DataFrame({"compound_id": ["XM-001"], "n_needs_month": [6], "n_needs_total": [9]})
    render_site(tmp_path, **kw)
    assert "本月居民已反映平安需求 <strong>6</strong> 件" in (tmp_path / "c/XM-001.html").read_text(encoding="utf-8")
    assert "<strong>0</strong> 件" in (tmp_path / "c/XM-002.html").read_text(encoding="utf-8")
    assert "反映平安需求 <strong>" not in page(site, "XM-001")  # not given: not shown


def test_bad_optional_frame_is_a_clear_error(tmp_path):
    kw = frames.render_kwargs()
    kw["plaques"] = pl.DataFrame({"compound_id": ["XM-001"], "serial": ["P1"]})
    with pytest.raises(ValueError, match="plaques frame lacks column"):
        render_site(tmp_path, **kw)


def test_empty_aggregates_still_render_every_registry_compound(tmp_path):
    kw = frames.render_kwargs()
    for k in ["ratings", "stats", "monthly", "history", "plaques"]:
        kw[k] = kw[k].clear()
    kw.update(checkins=None, replies=None, group_names=None)
    written = render_site(tmp_path, **kw)
    assert len([p for p in written if p.parent.name == "c"]) == 5
    html = (tmp_path / "c" / "XM-001.html").read_text(encoding="utf-8")
    assert site_texts()["notes"]["not_rated"] in html and "没有计入评星的案事件" in html
    assert str(escape(site_texts()["tips"]["general"][0])) in html


def test_plaque_links_are_site_relative_whatever_the_printed_url():
    from reports.site import _plaque_href
    assert _plaque_href("https://x.cn/safestar/p/S1/SIG", "../../") == "../../p/S1/SIG/"
    assert _plaque_href("/p/S1/SIG/", "../../") == "../../p/S1/SIG/"
    assert _plaque_href(None, "../../") is None


def test_long_street_lists_are_paged(tmp_path, monkeypatch):
    import reports.site as site_mod
    from reports.site import street_slug
    monkeypatch.setattr(site_mod, "STREET_PAGE_ROWS", 2)
    written = render_site(tmp_path, **frames.render_kwargs())
    folder = tmp_path / "s" / street_slug("思明区", "鹭江街道")
    assert folder / "index.html" in written and not (folder / "2").exists()  # 2 compounds: one page
    folder = tmp_path / "s" / street_slug("集美区", "集美街道")
    assert not (folder / "2").exists()
    monkeypatch.setattr(site_mod, "STREET_PAGE_ROWS", 1)
    render_site(tmp_path, **frames.render_kwargs())
    folder = tmp_path / "s" / street_slug("思明区", "鹭江街道")
    first, second = (folder / "index.html").read_text(encoding="utf-8"), (folder / "2" / "index.html").read_text(encoding="utf-8")
    assert 'href="2/">下一页' in first and "第 1/2 页" in first and "云顶山庄" in first
    assert 'href="../">上一页' in second and 'href="../../../c/XM-001.html"' in second
