"""The analyst report renders every section from small frames, with working links."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import duckdb
import polars as pl
import pytest

from reports import charts
from reports.analyst import LISTED, render_report, rules_zh, trend_counts_sql
from reports.common_problems import common_problems
from tests.reports.conftest import AS_OF

SECTIONS = ["headline", "stars", "changes", "alerts", "problems", "quality", "review", "intake", "trend"]


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.svg_text = set(), [], []
        self._in_text = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        self._in_text = tag == "text"

    def handle_endtag(self, tag):
        self._in_text = False

    def handle_data(self, data):
        if self._in_text:
            self.svg_text.append(data)


def _render(city, out, trend):
    """The report of the test city into `out`, with the given trend rows."""
    quality = pl.DataFrame({"source": ["police", "court"], "files": [3, 1], "rows": [1000, 200],
                            "accepted": [990, 200], "quarantined": [10, 0], "rejected_files": [0, 1],
                            "bad_date": [7, 0], "unknown_category": [3, 0]})
    match = pl.DataFrame({"source": ["police", "court"], "events": [990, 200], "matched": [950, 150],
                          "rate": [950 / 990, 0.75]})
    probs = common_problems(city["stats_cur"], city["stats_prev"], city["compounds"])
    intake = pl.DataFrame({"compound_id": city["compounds"]["compound_id"][:5],
                           "n_needs_month": [4, 0, 2, 0, 9], "n_checkins_month": [1, 2, 0, 0, 3]})
    path = render_report(out, as_of=AS_OF, ratings=city["ratings"],
                         changes=city["changes"], explanations=city["explanations"], quality=quality,
                         match_rates=match, review_size=1234, problems=probs, intake=intake, trend=trend)
    return path, probs


@pytest.fixture(scope="module")
def report(city, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    path, probs = _render(city, out, city["trend"])
    html = path.read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(html)
    return {"dir": out, "path": path, "html": html, "parsed": parser, "problems": probs}


def test_every_section_is_there(report):
    assert report["path"].name == "index.html"
    assert set(SECTIONS) <= report["parsed"].ids
    html = report["html"]
    assert '<html lang="zh-CN">' in html
    assert 'data-figure="review_size">1,234<' in html
    assert "未知类别" in html and 'title="bad_date"' in html, "extra quality columns are shown"
    assert ">96.0%<" in html, "match rate 950/990 as a percentage"


def test_headline_figures(report, city):
    cur = city["ratings"]
    rated = cur.filter(pl.col("status") != "not_rated")
    html = report["html"]
    assert f'data-figure="compounds">{cur.height:,}<' in html
    assert f'data-figure="rated">{rated.height:,}<' in html
    five = int((rated["stars"] == 5).sum())
    assert f'data-figure="five_star">{five:,}<' in html
    assert f'data-figure="five_star_share">{five / rated.height:.1%}<' in html


def test_change_counts_and_explanation_links(report, city):
    chg = city["changes"]
    html = report["html"]
    for kind in ("new", "up", "down", "vetoed", "restored"):
        n = chg.filter(pl.col("change") == kind).height
        assert f'data-change="{kind}">{n}<' in html
    explain = {p.stem for p in (report["dir"] / "explain").iterdir()}
    changed = set(chg.filter(pl.col("change") != "unchanged")["compound_id"])
    flagged = set(city["ratings"].filter(pl.col("status").is_in(["vetoed", "downgraded"]))["compound_id"])
    links = {l[len("explain/"):-len(".html")] for l in report["parsed"].links if l.startswith("explain/")}
    assert links and links == explain, "a page for every link, and no page nobody links"
    assert explain <= changed | flagged


def test_report_lists_a_bounded_number_per_kind_and_every_row_in_its_csv(report, city):
    """Each kind of change and each alert status lists its first LISTED compounds, linked to
    their explanation pages; the CSVs beside the page hold every changed and flagged one."""
    chg = city["changes"].filter(pl.col("change") != "unchanged")
    section = report["html"].split('id="changes"')[1].split('id="alerts"')[0]
    linked = set(re.findall(r'href="explain/([^"]+)\.html"', section))
    assert any(n > LISTED for n in chg["change"].value_counts()["count"]), "the test city must cut a kind"
    for kind, ids in chg.group_by("change"):
        assert len(linked & set(ids["compound_id"])) == min(ids.height, LISTED), kind
    assert 'href="评级变动.csv"' in section and "命令行" in section
    changes = pl.read_csv(report["dir"] / "评级变动.csv")
    assert sorted(changes["小区编号"]) == sorted(chg["compound_id"])
    assert set(changes["变动"]) <= {"新参评", "升星", "降星", "一票否决", "恢复评定", "转为未评定"}
    alerts = pl.read_csv(report["dir"] / "否决与降星.csv")
    flagged = city["ratings"].filter(pl.col("status").is_in(["vetoed", "downgraded"]))
    assert sorted(alerts["小区编号"]) == sorted(flagged["compound_id"])


def test_explanation_page_names_rules_and_event_ids(report, city):
    vetoed = city["ratings"].filter(pl.col("status") == "vetoed")["compound_id"][0]
    page = (report["dir"] / "explain" / f"{vetoed}.html").read_text(encoding="utf-8")
    assert "一票否决·故意杀人" in page
    assert "police:P20260101001" in page, "internal page may name event ids"
    assert "../index.html" in page


def test_charts_are_inline_svg_with_chinese_text(report):
    html = report["html"]
    assert html.count("<svg") >= 5
    assert "Noto Sans CJK SC" in html
    texts = report["parsed"].svg_text
    assert "思明区" in texts and "五星" in texts
    assert any("走势" in t for t in texts)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "offline: no external resources"


def test_problems_listed_in_rank_order(report):
    probs = report["problems"]
    assert probs.height > 0
    html = report["html"]
    shown = re.findall(r'data-problem="([^"]+)"', html)
    expected = [f"{k}|{lv}|{r}|{g}" for k, lv, r, g in probs.select("kind", "level", "region", "group").rows()]
    assert shown == expected[:50]


def test_empty_night_still_renders(tmp_path, city):
    empty_ratings = city["ratings"].head(0)
    path = render_report(
        tmp_path, as_of=AS_OF, ratings=empty_ratings,
        changes=city["changes"].head(0), explanations=city["explanations"].head(0),
        quality=pl.DataFrame({"source": []}), match_rates=pl.DataFrame({"source": [], "rate": []}),
        review_size=0, problems=pl.DataFrame(), intake=None)
    html = path.read_text(encoding="utf-8")
    assert "本次评定无变动" in html and "暂无历史评定" in html and 'id="intake"' not in html


def test_text_is_escaped(tmp_path, city):
    bad = city["ratings"].with_columns(
        pl.when(pl.col("status") == "vetoed").then(pl.lit("<script>alert(1)</script>小区"))
        .otherwise(pl.col("name")).alias("name"))
    path = render_report(tmp_path, as_of=AS_OF, ratings=bad, trend=city["trend"], changes=city["changes"],
                         explanations=city["explanations"], quality=pl.DataFrame({"source": ["x"]}),
                         match_rates=pl.DataFrame({"source": ["x"], "rate": [1.0]}), review_size=0,
                         problems=pl.DataFrame(), intake=None)
    html = path.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_rules_in_chinese():
    assert rules_zh("veto:homicide|downgrade:fraud_den") == "一票否决·故意杀人，降星·诈骗窝点"
    assert rules_zh(None) == ""


def test_chart_labels_are_escaped_text():
    svg = charts.stacked_bars([("A&B区", {5: 3, 1: 1})], title="<分布>")
    assert "A&amp;B区" in svg and "&lt;分布&gt;" in svg and "<text" in svg
    assert "<script" not in svg and "<foreignObject" not in svg


def test_district_share_trend_has_a_line_per_district_and_the_25_percent_mark(report, city):
    html = report["html"]
    start = html.index('id="chart-trend-districts"')
    svg = html[start:html.index("</svg>", start)]
    districts = set(city["history"]["district"])
    lines = re.findall(r'<g class="mark-line role-mark[^"]*"[^>]*>(.*?)</g>', svg)
    assert sum(part.count("<path") for part in lines) == len(districts)
    assert all(f">{d}</text>" in svg for d in districts)
    assert 'stroke-dasharray="5,4"' in svg and ">基准线 25%</text>" in svg


def test_quarantine_reasons_get_their_own_table(tmp_path, city):
    quality = pl.DataFrame({"source": ["police", "court"], "files": [2, 1], "rows_read": [100, 10],
                            "rows_quarantined": [5, 0], "superseded": [1, 0],
                            "quarantined_bad_date": [4, 0], "quarantined_ragged_row": [1, 0],
                            "quarantined_bad_json": [0, 0], "quarantined_new_reason": [0, 0]})
    match = pl.DataFrame({"source": ["police"], "events": [90], "matched": [80], "rate": [0.8889],
                          "n_polygon": [70], "n_address": [10]})
    html = render_report(tmp_path, as_of=AS_OF, ratings=city["ratings"], trend=city["trend"],
                         changes=city["changes"], explanations=city["explanations"], quality=quality,
                         match_rates=match, review_size=0, problems=pl.DataFrame(), intake=None
                         ).read_text(encoding="utf-8")
    reasons = html[html.index('id="quarantine-reasons"'):]
    reasons = reasons[:reasons.index("</table>")]
    assert "隔离·日期无效" in reasons and "隔离·列数不符" in reasons and "JSON" not in reasons
    assert "以下原因均为 0：JSON 错误、new_reason。" in html
    assert ">被替换版本<" in html and ">方式·落入小区范围<" in html and ">88.9%<" in html
    assert ">公安<" in html and ">法院<" in html


def test_explanation_lines_rules_first_then_lift_then_contributions(report, city):
    vetoed = city["ratings"].filter(pl.col("status") == "vetoed")["compound_id"][0]
    page = (report["dir"] / "explain" / f"{vetoed}.html").read_text(encoding="utf-8")
    body = page[page.index("指数构成与规则"):]
    assert body.index("一票否决·故意杀人") < body.index("升一星") < body.index(">盗窃<") < body.index(">公安<")


def test_change_reasons_in_chinese():
    from reports.analyst import reason_zh

    assert reason_zh("rules fired: veto:robbery; index 71.6 → 55.1") == "触发规则: 一票否决·抢劫; 指数 71.6 → 55.1"
    assert reason_zh("rules lapsed: downgrade:gambling|downgrade:drugs") == "规则失效: 降星·赌博|降星·涉毒"
    assert reason_zh(None) == ""


def test_the_trend_read_from_the_warehouse_gives_the_same_report(report, city, tmp_path):
    """The asset aggregates the history in DuckDB (`trend_counts_sql`) instead of reading
    every past rating: the report does not depend on the order of the warehouse's rows."""
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute("CREATE SCHEMA marts")
        conn.register("h", city["history"].to_arrow())
        conn.execute("CREATE TABLE marts.ratings AS SELECT * FROM h ORDER BY random()")  # any row order
        counts = conn.sql(trend_counts_sql(), params=[AS_OF]).pl()
    assert counts.height < city["history"].height
    path, _ = _render(city, tmp_path / "r", counts)
    assert path.read_bytes() == report["path"].read_bytes()


def test_trend_rows_are_the_figures_of_each_rating_date(city):
    """Computed here straight from every rating of the history, one date at a time."""
    from reports.analyst import _trend
    history = city["history"]
    rows = _trend(city["trend"])["rows"]
    dates = sorted(d for d in history["as_of"].unique().to_list() if d <= AS_OF)
    assert [r["as_of"] for r in rows] == dates and len(dates) > 1
    for r in rows:
        day = history.filter(pl.col("as_of") == r["as_of"])
        rated = day.filter(pl.col("status") != "not_rated")
        assert r["compounds"] == day.height and r["rated"] == rated.height
        assert r["five_star"] == day.filter(pl.col("stars") == 5).height
        assert r["vetoed"] == day.filter(pl.col("status") == "vetoed").height
        assert r["downgraded"] == day.filter(pl.col("status") == "downgraded").height
        assert r["mean_index"] == pytest.approx(day["safety_index"].mean(), abs=1e-6)
        assert r["five_star_share"] == pytest.approx(r["five_star"] / rated.height)
