"""The nightly analyst report (研判报告): one offline zh-CN page plus explanation pages.

Internal: it may name event ids (from the explanation rows) but never case descriptions or
personal data, since its inputs hold neither. Every section renders from whatever frames it
gets, empty ones included, so a thin night still yields a complete page.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import polars as pl
from pandera.typing.polars import DataFrame

from reports import charts
from reports.excel import SOURCE_ZH, STATUS_ZH, category_zh, column_zh, rules_zh, write_people_csv
from reports.rankings import FIVE_STAR_LINE
from reports.site_data import page_slug
from reports.templating import environment
from schemas.ratings import ExplanationRow, Rating, RatingChange
from scoring.rules import CommonProblems, load_rules

CHANGE_ORDER = ["new", "up", "down", "vetoed", "restored", "not_rated"]
CHANGE_ZH = {"new": "新参评", "up": "升星", "down": "降星", "vetoed": "一票否决",
             "restored": "恢复评定", "not_rated": "转为未评定", "unchanged": "无变化"}
KIND_ZH = {"category": "类别", "source": "来源", "rule": "规则", "lift": "升星所需",
           "compare": "对比", "override": "人工调整"}
KEY_ZH = {"next_star": "升一星", "city": "全市", "district": "本区", "street": "本街道", "prior": "小样本修正"}
# what the value of an explanation line counts, by kind: stars of a rule, days until the
# lift, index points of a category, source or comparison
VALUE_UNIT_ZH = {"rule": "星", "lift": "天", "category": "分", "source": "分", "compare": "分"}
# compounds listed (and explained) per kind of change and per alert: at 100,000 compounds a
# night changes tens of thousands; every row is in the CSVs, any compound in `safestar explain`
LISTED = 100
CSV = {"changes": "评级变动.csv", "alerts": "否决与降星.csv"}
CHANGE_HEADERS = {"change": "变动", "stars_before": "原星级", "stars_after": "现星级", "previous_as_of": "上次评定日期"}
_KIND_ORDER = {k: i for i, k in enumerate(["rule", "override", "lift", "category", "source", "compare"])}
_RULE_TOKEN = re.compile(r"\b(veto|downgrade):([a-z_]+)")
_REASON_WORDS = [("rules fired", "触发规则"), ("rules lapsed", "规则失效"), ("first rating", "首次评定"),
                 ("no population or household count", "无人口或户数"), ("index", "指数")]


def reason_zh(reason: str | None) -> str:
    """A change's reason with its rule ids and stock phrases in Chinese, numbers kept."""
    text = _RULE_TOKEN.sub(lambda m: rules_zh(m.group(0)), reason or "")
    for en, zh in _REASON_WORDS:
        text = re.sub(rf"\b{en}\b", zh, text)
    return text


# the words every report template may use
LABELS = {"change_zh": CHANGE_ZH, "status_zh": STATUS_ZH, "rules_zh": rules_zh, "reason_zh": reason_zh}


def render_report(
    report_dir: Path,
    *,
    as_of: date,
    ratings: DataFrame[Rating],
    changes: DataFrame[RatingChange],
    explanations: DataFrame[ExplanationRow],
    quality: pl.DataFrame,
    match_rates: pl.DataFrame,
    review_size: int,
    problems: pl.DataFrame,
    intake: pl.DataFrame | None = None,
    trend: pl.DataFrame | None = None,
    sources: pl.DataFrame | None = None,
    problem_settings: CommonProblems | None = None,
) -> Path:
    """Render ``report_dir/index.html`` and ``report_dir/explain/<compound>.html``. The trend
    charts come from ``trend``: the rows of `trend_counts_sql` up to ``as_of``."""
    report_dir = Path(report_dir)
    (report_dir / "explain").mkdir(parents=True, exist_ok=True)
    shown = as_of if (ratings[Rating.as_of] == as_of).any() else ratings[Rating.as_of].max()
    cur = ratings.filter(pl.col(Rating.as_of) == pl.lit(shown, pl.Date))
    chg = changes.filter(pl.col(RatingChange.as_of) == as_of)
    counts, changed = _changes(cur, chg)
    alerts = (cur.filter(pl.col("status").is_in(["vetoed", "downgraded"]))
              .join(chg.select("compound_id", "change"), on="compound_id", how="left")
              .sort(pl.col("status") != "vetoed", "district", "street", "compound_id"))
    reasons = {r: reason_zh(r) for r in changed["reason"].drop_nulls().unique()}
    write_people_csv(changed.select("compound_id", "name", "district", "street", pl.col("change").replace(CHANGE_ZH),
                                    "stars_before", "stars_after", "safety_index", "status",
                                    pl.col("reason").replace_strict(reasons, default=None), "previous_as_of"),
                     report_dir / CSV["changes"], CHANGE_HEADERS)
    write_people_csv(alerts.select("compound_id", "name", "district", "street", "status", "stars", "rules",
                                   pl.col("change").replace(CHANGE_ZH)), report_dir / CSV["alerts"], CHANGE_HEADERS)
    # the first LISTED rows of each kind, in the order they came
    listed = {key: rows.filter(pl.int_range(pl.len()).over(kind) < LISTED)
              for key, rows, kind in (("changes", changed, "change"), ("alerts", alerts, "status"))}
    explained = _render_explanations(report_dir / "explain", as_of, cur, chg, explanations,
                                     set(listed["changes"]["compound_id"]) | set(listed["alerts"]["compound_id"]))
    page = environment().get_template("report_index.html").render(
        as_of=as_of, headline=_headline(cur), districts=_districts(cur),
        changes={"counts": counts, "rows": listed["changes"].to_dicts(), "total": changed.height},
        alerts=listed["alerts"].to_dicts(), alerts_total=alerts.height, listed=LISTED, csv=CSV,
        problems=problems.head(50).to_dicts(), problems_total=problems.height,
        cp=problem_settings or load_rules().common_problems,
        quality=_quality(quality), match_rates=_table(match_rates), review_size=review_size,
        intake=_intake(cur, intake), trend=_trend(trend),
        sources=[{**r, "source_zh": SOURCE_ZH.get(r["source"], r["source"])}
                 for r in (sources.sort("source").iter_rows(named=True) if sources is not None else [])],
        explained=explained, **LABELS)
    (report_dir / "index.html").write_text(page, encoding="utf-8")
    return report_dir / "index.html"


def _headline(cur: pl.DataFrame) -> dict:
    rated = cur.filter(pl.col("status") != "not_rated")
    five = int((rated["stars"] == 5).sum())
    per = _district_share(cur)
    return {
        "compounds": cur.height, "rated": rated.height, "five_star": five,
        "five_star_share": five / rated.height if rated.height else None,
        "vetoed": int((cur["status"] == "vetoed").sum()), "downgraded": int((cur["status"] == "downgraded").sum()),
        "mean_index": rated["safety_index"].mean(),
        "districts_below": [d for d, s in per if s is None or s <= FIVE_STAR_LINE],
        "share_chart": charts.share_bars(per, title="各区五星小区占比", line=FIVE_STAR_LINE) if per else "",
        "line": FIVE_STAR_LINE,
    }


def _district_share(cur: pl.DataFrame) -> list[tuple[str, float | None]]:
    rated = (pl.col("status") != "not_rated").sum()
    return cur.group_by("district").agg(
        share=pl.when(rated > 0).then((pl.col("stars") == 5).sum() / rated),
    ).sort("share", "district", descending=[True, False], nulls_last=True).rows()


def _districts(cur: pl.DataFrame) -> dict:
    counts = cur.pivot("stars", index="district", values="compound_id", aggregate_function="len",
                       sort_columns=True).fill_null(0).sort("district") if cur.height else pl.DataFrame()
    rows = [(r.pop("district"), {int(s): n for s, n in r.items()}) for r in counts.iter_rows(named=True)]
    share = dict(_district_share(cur))
    return {"chart": charts.stacked_bars(rows, title="各区星级分布（小区数）") if rows else "",
            "table": [{"district": d, "counts": [c.get(s, 0) for s in range(6)], "total": sum(c.values()),
                       "share": share.get(d)} for d, c in rows],
            "star_labels": charts.STAR_LABELS}


def _changes(cur: pl.DataFrame, chg: pl.DataFrame) -> tuple[list[tuple], pl.DataFrame]:
    """The count of each kind of change, and the changed compounds in the report's order."""
    counts = dict(chg.group_by("change").agg(pl.len()).rows())
    rows = (chg.filter(pl.col("change") != "unchanged")
            .join(cur.select("compound_id", "name", "district", "street", "safety_index", "status"),
                  on="compound_id", how="left")
            .sort(pl.col("change").replace_strict(CHANGE_ORDER, range(len(CHANGE_ORDER)), default=99),
                  "district", "street", "compound_id"))
    return [(k, CHANGE_ZH[k], counts.get(k, 0)) for k in CHANGE_ORDER], rows


def _table(df: pl.DataFrame | None) -> dict:
    """Any frame as columns + rows, so extra columns (e.g. per-reason counts) show as well.
    A per-source frame is turned on its side — a row per figure, a column per source — so a
    dozen figures fit the page width instead of running off its right edge."""
    if df is None:
        return {"columns": [], "rows": []}
    if "rate" in df.columns:
        df = df.with_columns(pl.format("{}%", (pl.col("rate").cast(pl.Float64) * 100).round(1)).alias("rate"))
    if "source" not in df.columns or df.height == 0:
        return {"columns": [{"code": c, "zh": column_zh(c)} for c in df.columns], "rows": df.rows()}
    figures = [c for c in df.columns if c != "source"]
    return {"columns": [{"code": "figure", "zh": "指标"}] + [{"code": s, "zh": SOURCE_ZH.get(s, s)}
                                                            for s in map(str, df["source"])],
            "rows": [(column_zh(c), *df[c].to_list()) for c in figures], "codes": figures}


def _quality(df: pl.DataFrame | None) -> dict:
    """Per-source figures, with the per-reason quarantine counts as their own table (only
    the reasons that occurred; the others are named in one line)."""
    if df is None or df.height == 0:
        return {"main": _table(df), "reasons": _table(None), "zero": []}
    reasons = [c for c in df.columns if c.startswith("quarantined_") and df.schema[c].is_numeric()]
    seen = [c for c in reasons if df[c].sum() > 0]
    return {"main": _table(df.drop(reasons)),
            "reasons": _table(df.select(pl.col("^source$"), *seen) if seen else None),
            "zero": [column_zh(c).removeprefix("隔离·") for c in reasons if c not in seen]}


def _intake(cur: pl.DataFrame, intake: pl.DataFrame | None) -> dict | None:
    if intake is None:
        return None
    joined = intake.join(cur.select("compound_id", "name", "district"), on="compound_id", how="left")
    per = joined.group_by("district").agg(
        pl.col("n_needs_month", "n_checkins_month").sum(),
        compounds_checked_in=(pl.col("n_checkins_month") > 0).sum(),
    ).sort("district", nulls_last=True)
    top = joined.filter(pl.col("n_needs_month") > 0).sort("n_needs_month", "compound_id", descending=[True, False])
    return {"per_district": per.to_dicts(), "top_needs": top.head(10).to_dicts(),
            "needs": int(joined["n_needs_month"].sum()), "checkins": int(joined["n_checkins_month"].sum())}


def trend_counts_sql(table: str = "marts.ratings") -> str:
    """DuckDB query, with the rating date as its one parameter: what the trend charts need
    of every rating date up to it. Per date, district, status and stars: the compounds, and
    the sum of their indices in millionths, an exact integer, so the sums (and the report's
    bytes) do not depend on the order of the rows. A year of nightly dates at 100,000
    compounds is 36M ratings (16–19 s and 19 GB to read whole) and about 100,000 such rows."""
    return f"""
        SELECT as_of, district, status, stars, count(*) AS n, count(safety_index) AS n_index,
               sum(round(safety_index * 1e6)::BIGINT) AS index_micros
        FROM {table} WHERE as_of <= ? GROUP BY ALL ORDER BY ALL
    """


def _trend(counts: pl.DataFrame | None) -> dict:
    if counts is None or counts.height == 0:
        return {"rows": []}
    n = pl.col("n")
    rated, five = n.filter(pl.col("status") != "not_rated").sum(), n.filter(pl.col("stars") == 5).sum()
    five_star_share = pl.when(rated > 0).then(five / rated)
    index_n = pl.col("n_index").sum()
    per = counts.group_by("as_of").agg(
        compounds=n.sum(), rated=rated, five_star=five,
        mean_index=pl.when(index_n > 0).then(pl.col("index_micros").sum() / 1e6 / index_n),
        vetoed=n.filter(pl.col("status") == "vetoed").sum(),
        downgraded=n.filter(pl.col("status") == "downgraded").sum(),
        five_star_share=five_star_share,
    ).sort("as_of")
    districts = counts.group_by("as_of", "district").agg(value=five_star_share * 100).sort("district", "as_of")

    def points(frame: pl.DataFrame, series: pl.Expr, value: str | pl.Expr) -> list[dict]:
        return frame.select(date=pl.col("as_of").cast(pl.String), series=series, value=value).to_dicts()

    share = {"y_title": "五星占比（%）", "min_span": 10, "lo": 0, "hi": 100,
             "ref": (FIVE_STAR_LINE * 100, f"基准线 {FIVE_STAR_LINE:.0%}")}
    return {
        "rows": per.to_dicts(),
        "chart_share": charts.line_chart(points(per, pl.lit("五星占比"), pl.col("five_star_share") * 100),
                                         title="五星小区占比走势", **share),
        "chart_index": charts.line_chart(points(per, pl.lit("平均平安指数"), "mean_index"),
                                         title="平均平安指数走势", y_title="平均平安指数（0–100）", min_span=2, lo=0, hi=100),
        "chart_districts": charts.line_chart(points(districts, pl.col("district"), "value"),
                                             title="各区五星占比走势", series_title="区", **share),
        "chart_flags": charts.line_chart(points(per, pl.lit("一票否决"), "vetoed")
                                         + points(per, pl.lit("降星"), "downgraded"), title="一票否决与降星小区数走势",
                                         y_title="小区数（个）", integer=True, colours=["#b71c1c", "#ff9900"]),
    }


def _render_explanations(out: Path, as_of: date, cur: pl.DataFrame, chg: pl.DataFrame,
                         explanations: pl.DataFrame, ids: set[str]) -> set[str]:
    """A page for each compound of ``ids`` that has a rating; returns the compounds that got one."""
    lines = defaultdict(list)
    for line in _explanation_lines(explanations.filter(pl.col("compound_id").is_in(ids)), as_of).iter_rows(named=True):
        lines[line.pop("compound_id")].append(line)
    changes = {r["compound_id"]: r for r in chg.filter(pl.col("compound_id").is_in(ids)).iter_rows(named=True)}
    template = environment().get_template("report_explain.html")
    rated = cur.filter(pl.col("compound_id").is_in(ids))
    for r in rated.iter_rows(named=True):
        page = template.render(as_of=as_of, r=r, change=changes.get(r["compound_id"]), lines=lines[r["compound_id"]], **LABELS)
        (out / f"{page_slug(r['compound_id'])}.html").write_text(page, encoding="utf-8")
    return set(rated["compound_id"])


def _explanation_lines(ex: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The explanation lines in page order — per compound, rules first, then what lifts it,
    then the biggest contributions — with their Chinese labels, sorted once for all."""
    if "as_of" in ex.columns:
        ex = ex.filter(pl.col("as_of") == as_of)
    names = category_zh()
    pairs = ex.select("kind", "key").unique()
    pairs = pairs.with_columns(key_zh=pl.Series([
        rules_zh(key) if kind == "rule" or _RULE_TOKEN.fullmatch(key or "") else
        KEY_ZH.get(key) or SOURCE_ZH.get(key) or names.get(key, key) for kind, key in pairs.rows()], dtype=pl.String))
    return (
        ex.with_row_index("_row").join(pairs, on=["kind", "key"], how="left", nulls_equal=True)
        .with_columns(
            pl.col("kind").replace_strict(_KIND_ORDER, default=9, return_dtype=pl.Int64).alias("_k"),
            # -(value or 0) as the page sorted it; + 0.0 folds -0.0 into 0.0 so ties stay ties
            (-pl.col("value").fill_null(0.0) + 0.0).alias("_v"),
            pl.col("kind").replace_strict(KIND_ZH, default=pl.col("kind"), return_dtype=pl.String).alias("kind_zh"),
        )
        .sort("compound_id", "_k", "_v", "key", "_row")
        .select("compound_id", "kind_zh", "key_zh", "value", "detail",
                pl.col("kind").replace_strict(VALUE_UNIT_ZH, default="", return_dtype=pl.String).alias("unit"))
    )
