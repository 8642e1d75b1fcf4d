"""The public pages rendered from a small publication: content, suppression, the whole truth."""
from __future__ import annotations

import json
import re
import sqlite3
from datetime import date

import polars as pl
import pytest
from markupsafe import escape

import reports.site as site_mod
from reports.site import page_paths, render, site_texts
from reports.site_data import street_slug
from reports.site_store import Publication
from scoring.rules import load_rules
from tests.site import frames


@pytest.fixture(scope="module")
def pub(tmp_path_factory):
    return Publication(frames.publication(tmp_path_factory.mktemp("pub")))


def page(pub, cid):
    r = render(pub, f"/c/{cid}.html")
    assert r.status == 200
    return r.body


def groups_table(html):
    sec = html.split('id="h-groups"')[1].split("</section>")[0]
    return re.findall(r"<tr><td>([^<]+)</td><td class=\"n\">([^<]+)</td></tr>", sec)


def test_every_compound_has_a_page_and_the_index_and_search(pub):
    for cid in ["XM-001", "XM-002", "XM-003", "XM-004", "XM-005"]:
        assert "<h1" in page(pub, cid)
    doc = json.loads(render(pub, "/search.json").body)
    assert [r[0] for r in doc["rows"]] == ["XM-001", "XM-002", "XM-003", "XM-004", "XM-005"]
    assert doc["rows"][0][2] == "海湾小区|海湾新村"  # aliases are searchable
    index = render(pub, "/").body
    assert 'src="static/search.js"' in index and "鹭江街道" in index and 'role="search"' in index
    # 思明区: 3 compounds, one five-star, mean index of (72.5, 95, 40).
    assert '<td>思明区</td><td class="n">3</td><td class="n">1</td><td class="n">33%</td><td class="n">69.2</td>' in index
    # 集美区: the unrated compound counts as a compound but not in the five-star share.
    assert '<td>集美区</td><td class="n">2</td><td class="n">0</td><td class="n">0%</td><td class="n">81.0</td>' in index


def test_stars_index_date_and_the_rating_explanation_link(pub):
    html = page(pub, "XM-002")
    assert 'aria-label="5星（满分5星）"' in html and "★★★★★" in html
    assert ">95.0<" in html and "2026年11月23日" in html
    assert '<span class="on">★★★</span><span class="off">☆☆</span>' in page(pub, "XM-001")
    for cid in ["XM-001", "XM-003", "XM-005"]:
        assert 'href="../about.html">评定说明' in page(pub, cid)


def test_small_counts_are_suppressed_and_zero_groups_not_listed(pub):
    rows = groups_table(page(pub, "XM-001"))
    assert rows == [("盗窃类", "7"), ("诈骗类", "少量"), ("纠纷类", "少量")]
    assert "暴力类" not in dict(rows)  # a group with 0 is not listed
    assert groups_table(page(pub, "XM-004")) == [("诈骗类", "12"), ("盗窃类", "4")]
    assert "没有计入评星的案事件" in page(pub, "XM-002")


def test_suppressed_rows_keep_the_fixed_order_and_tips_follow_what_is_shown(tmp_path):
    stats = frames.stats().with_columns(
        pl.when((pl.col("compound_id") == "XM-001") & (pl.col("category_group") == "纠纷"))
        .then(2).when((pl.col("compound_id") == "XM-001") & (pl.col("category_group") == "诈骗"))
        .then(1).when((pl.col("compound_id") == "XM-001") & (pl.col("category_group") == "盗窃"))
        .then(1).otherwise(pl.col("n")).cast(pl.Int32).alias("n"))
    flipped = stats.with_columns(pl.when((pl.col("compound_id") == "XM-001") & (pl.col("category_group") == "纠纷"))
                                 .then(1).when((pl.col("compound_id") == "XM-001") & (pl.col("category_group") == "诈骗"))
                                 .then(2).otherwise(pl.col("n")).cast(pl.Int32).alias("n"))
    a = page(Publication(frames.publication(tmp_path / "a", stats=stats)), "XM-001")
    b = page(Publication(frames.publication(tmp_path / "b", stats=flipped)), "XM-001")
    assert groups_table(a) == [("盗窃类", "少量"), ("诈骗类", "少量"), ("纠纷类", "少量")]  # fixed group order
    # The tips follow the groups as shown, so they do not tell a hidden 2 from a 1 either.
    assert a.split('id="h-tips"')[1].split("</section>")[0] == b.split('id="h-tips"')[1].split("</section>")[0]


def test_tips_follow_the_leading_groups(pub):
    tips = site_texts()["tips"]
    fraud_first = page(pub, "XM-004")
    assert all(str(escape(t)) in fraud_first for t in tips["诈骗"] + tips["盗窃"])
    assert str(escape(tips["纠纷"][0])) not in fraud_first
    quiet = page(pub, "XM-002")
    assert all(str(escape(t)) in quiet for t in tips["general"]) and str(escape(tips["诈骗"][0])) not in quiet


def test_veto_and_downgrade_notes_say_when_they_lapse_without_case_details(pub):
    notes = site_texts()["notes"]
    vetoed = page(pub, "XM-003")
    assert notes["vetoed"] in vetoed and "homicide" not in vetoed and "故意杀人" not in vetoed
    assert 'aria-label="一票否决，不评星"' in vetoed and "一票否决于2027年1月1日起解除" in vetoed
    down = page(pub, "XM-004")
    labels = [v.label for v in load_rules().downgrade.values()]
    assert notes["downgraded"] in down and f"{labels[0]}、{labels[-1]}" in down and "downgrade:" not in down
    assert "降星最早于2027年5月解除" in down
    assert 'class="note"' not in page(pub, "XM-002")
    assert notes["not_rated"] in page(pub, "XM-005")


def test_appeal_status_and_reply_are_shown_escaped_with_how_to_appeal(pub):
    html = page(pub, "XM-004")
    assert "小区回应说明" in html and "&lt;b&gt;欢迎&lt;/b&gt;" in html and "<b>欢迎" not in html
    assert "已就评定结果提出申诉（2026年11月2日），当前状态：复核中" in html
    plain = page(pub, "XM-001")
    assert "小区回应说明" not in plain and 'href="../appeal.html">如何申诉' in plain
    appeal = render(pub, "/appeal.html").body
    assert "申诉" in appeal and "回应权" in appeal


def test_rating_explanation_states_the_configured_thresholds(tmp_path, pub):
    rules = load_rules()
    about = render(pub, "/about.html").body
    for star, t in rules.stars.thresholds.items():
        assert f"（{star}星）</td><td>不低于 {t:g} 分" in about
    assert all(d.label in about for d in rules.downgrade.values())
    changed = rules.model_copy(update={"stars": rules.stars.model_copy(update={"thresholds": {5: 92.0, 4: 81.0, 3: 66.0, 2: 51.0}})})
    other = render(Publication(frames.publication(tmp_path, rules=changed)), "/about.html").body
    assert "不低于 92 分" in other and "不低于 90 分" not in other


def loop_figures(html: str) -> dict[str, str]:
    """The month's needs and check-in figures of a compound page, by cell id."""
    return dict(re.findall(r'<td class="n" id="([a-z-]+)">([^<]+)</td>', html.split('id="h-loop"')[1].split("</section>")[0]))


def test_checkins_comparison_plaque_link_and_no_checkin_form(pub):
    html = page(pub, "XM-001")
    assert loop_figures(html)["visits"] == "4 次"
    assert "<td>鹭江街道</td><td class=\"n\">83.8</td><td class=\"n\">50%</td>" in html
    path = pub.plaque("P000001")["path"]
    assert f'href="..{path}">核验本小区牌匾真伪' in html
    assert 'method="post" action="/api/needs"' in html and 'value="XM-001"' in html
    assert "checkin" not in html and "令牌" not in html and "localStorage" not in html  # officers' page only
    assert 'href="../p/' not in page(pub, "XM-003")  # withdrawn: no link
    assert loop_figures(page(pub, "XM-003"))["visits"] == "0 次"


def test_the_months_needs_figures_with_small_counts_suppressed(pub):
    # XM-001: 6 received, 4 closed all on time, 3 rated satisfied, 4 check-ins
    assert loop_figures(page(pub, "XM-001")) == {"need-received": "6 件", "need-closed": "4 件", "need-on-time": "100%",
                                                 "need-satisfied": "100%", "visits": "4 次"}
    # XM-002: 2 received (少量), none closed, 1 check-in (少量)
    assert loop_figures(page(pub, "XM-002")) == {"need-received": "少量 件", "need-closed": "0 件", "need-on-time": "—",
                                                 "need-satisfied": "—", "visits": "少量 次"}
    # XM-004: 5 closed, 2 of them late: 60% would give the 2 away
    xm4 = loop_figures(page(pub, "XM-004"))
    assert (xm4["need-closed"], xm4["need-on-time"], xm4["need-satisfied"]) == ("5 件", "—", "100%")
    assert loop_figures(page(pub, "XM-003"))["need-received"] == "0 件"
    for cid in ("XM-001", "XM-003"):
        assert "居民反映平安需求不影响本小区的星级和平安指数" in page(pub, cid)
    assert "不计入平安指数，不影响任何小区的星级" in render(pub, "/about.html").body


def test_a_publication_with_needs_figures_that_leak_is_refused(tmp_path):
    leaky = frames.need_figures().with_columns(
        pl.when(pl.col("compound_id") == "XM-002").then(2).otherwise(pl.col("needs_received")).alias("needs_received"))
    with pytest.raises(ValueError, match="XM-002.*under the threshold"):
        frames.tables(needs=leaky)


def test_trend_chart_and_month_table(pub):
    html = page(pub, "XM-001")
    img = re.search(r'<img class="chart" src="XM-001.trend.svg" alt="([^"]+)"', html)
    assert img and "平安指数由" in img.group(1)
    months = html.split("<tbody>")[1].split("</tbody>")[0]
    assert "2025年12月" in months and "2026年11月" in months and months.count("<tr>") == 12
    svg = render(pub, "/c/XM-001.trend.svg")
    assert svg.status == 200 and svg.media_type == "image/svg+xml" and svg.body.startswith("<svg")


def test_pages_small_self_contained_accessible(pub):
    for path in page_paths(pub):
        if path.endswith(".svg"):
            continue
        r = render(pub, path)
        assert len(r.body.encode()) < 100 * 1024, path
        assert "http://" not in r.body and "https://" not in r.body, path
        if path.endswith(".html"):
            assert '<html lang="zh-CN">' in r.body and "<h1" in r.body, path
            assert not re.search(r"<(link|iframe)[^>]+(src|href)=", r.body), path
            assert all(not src.startswith(("/", "http")) for src in re.findall(r'<script src="([^"]+)"', r.body)), path
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.body), path  # no inline script (CSP)
            assert all(" alt=" in tag for tag in re.findall(r"<img[^>]*>", r.body)), path


def test_publication_bytes_are_reproducible(tmp_path):
    a, b = frames.publication(tmp_path / "a"), frames.publication(tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()


def test_odd_ids_get_safe_slugs(tmp_path):
    extra = frames.compounds().head(1).with_columns(pl.lit("我的/../id").alias("compound_id"), pl.lit("新小区").alias("name"))
    pub = Publication(frames.publication(tmp_path, compounds=pl.concat([frames.compounds(), extra])))
    row = next(r for r in json.loads(render(pub, "/search.json").body)["rows"] if r[0] == "我的/../id")
    assert row[6] == "not_rated" and re.match(r"^x[0-9a-f]{16}$", row[7])
    assert "新小区" in page(pub, row[7])


def test_private_registry_fields_never_reach_the_publication(tmp_path):
    from tests.privacy import scan_for
    compounds = frames.compounds().with_columns(pl.lit("思明区某某路88号3单元1201室").alias("address"))
    path = frames.publication(tmp_path, compounds=compounds)
    assert scan_for([path], ["某某路88号3单元1201室"]) == []
    with sqlite3.connect(path) as conn:
        columns = {r[1] for t in ("compounds", "plaques") for r in conn.execute(f"PRAGMA table_info({t})")}
    assert not columns & {"address", "households", "population", "lon", "lat", "grid_code"}


def test_history_fills_the_index_line_when_monthly_lacks_it(tmp_path):
    pub = Publication(frames.publication(tmp_path, monthly=frames.monthly().filter(pl.col("compound_id") != "XM-002")))
    assert "平安指数由90.0变为95.0" in page(pub, "XM-002")


def test_empty_aggregates_still_render_every_registry_compound(tmp_path):
    pub = Publication(frames.publication(
        tmp_path, ratings=frames.ratings().clear(), stats=frames.stats().clear(), monthly=frames.monthly().clear(),
        history=frames.history().clear(), plaques=frames.plaque_registry().clear(), needs=None, appeals=None))
    assert pub.count() == 5
    html = page(pub, "XM-001")
    assert site_texts()["notes"]["not_rated"] in html and "没有计入评星的案事件" in html
    assert str(escape(site_texts()["tips"]["general"][0])) in html


def test_long_street_lists_are_paged(pub, monkeypatch):
    monkeypatch.setattr(site_mod, "STREET_PAGE_ROWS", 1)
    slug = street_slug("思明区", "鹭江街道")
    first, second = render(pub, f"/s/{slug}/").body, render(pub, f"/s/{slug}/2/").body
    assert 'href="2/">下一页' in first and "第 1/2 页" in first and "云顶山庄" in first
    assert 'href="../">上一页' in second and 'href="../../../c/XM-001.html"' in second
    assert render(pub, f"/s/{slug}/3/").status == 404
    assert f"/s/{slug}/2/index.html" in page_paths(pub)


def test_a_mistyped_address_is_a_plain_404_and_a_bad_plaque_is_not_genuine(pub):
    for path in ["/c/XM-0001.html", "/c/XM-001.htm", "/x", "/s/0000000000/", "/p/", "/p/index.html",
                 "/warehouse.duckdb", "/public.sqlite", "/.staging/2026-11-23/public.sqlite", "/../intake.sqlite"]:
        r = render(pub, path)
        assert r.status == 404 and "页面不存在" in r.body and "非正品牌匾" not in r.body, path
    good = pub.plaque("P000001")["path"]
    for path in [good.replace("P000001", "P000002"), good[:-6] + "A.html", "/p/P000009.AAAAAAAAAAAAAAAA.html"]:
        r = render(pub, path)
        assert r.status == 404 and "非正品牌匾" in r.body, path


def test_plaque_pages_tell_status_and_current_rating(pub):
    current = render(pub, pub.plaque("P000001")["path"]).body
    assert "真品且有效" in current and "★★★" in current and "当前评定</dt><dd>2026年11月23日：3星" in current
    withdrawn = render(pub, pub.plaque("P000003")["path"]).body
    main = withdrawn.split("<main>")[1]
    assert "已收回" in main and "★" not in main and "一票否决" in main and "已不再有效" in main
    replaced = render(pub, pub.plaque("P000004")["path"]).body
    assert "已更换（现为3星）" in replaced and "P000005" in replaced and "★" not in replaced.split("<main>")[1]


def test_demo_publications_are_marked(tmp_path, pub):
    demo = Publication(frames.publication(tmp_path, demo=True))
    assert "样例" in page(demo, "XM-001") and "样例" in render(demo, demo.plaque("P000001")["path"]).body
    assert "样例" not in page(pub, "XM-001")
