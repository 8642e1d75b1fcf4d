"""The nightly analyst report (研判报告): one offline zh-CN page plus explanation pages.

Internal: it may name event ids (from the explanation rows) but never case descriptions or
personal data, since its inputs hold neither. Every section renders from whatever frames it
gets, empty ones included, so a thin night still yields a complete page.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import lru_cache
from pathlib import Path

import duckdb
import polars as pl
import yaml
from jinja2 import Environment
from pandera.typing.polars import DataFrame

from reports import charts
from reports.excel import SOURCE_ZH, STATUS_ZH, column_zh
from reports.rankings import FIVE_STAR_LINE
from reports.templating import environment
from schemas.ratings import ExplanationRow, Rating, RatingChange
from scoring.rules import CommonProblems, load_rules

CHANGE_ZH = {"new": "新参评", "up": "升星", "down": "降星", "vetoed": "一票否决",
             "restored": "恢复评定", "not_rated": "转为未评定", "unchanged": "无变化"}
CHANGE_ORDER = ["new", "up", "down", "vetoed", "restored", "not_rated"]
KIND_ZH = {"category": "类别", "source": "来源", "rule": "规则", "lift": "升星所需",
           "compare": "对比", "override": "人工调整"}
KEY_ZH = {"next_star": "升一星", "city": "全市", "district": "本区", "street": "本街道", "prior": "小样本修正"}
PROBLEM_KIND_ZH = {"rising": "上升", "concentrated": "集中"}
LEVEL_ZH = {"street": "街道", "district": "区"}
_TAXONOMY = Path(__file__).resolve().parents[1] / "config" / "taxonomy.yaml"
_REASON_PREFIX = "quarantined_"


def jinja_env() -> Environment:
    """The project's one template environment (reports.templating)."""
    return environment()


@lru_cache(maxsize=1)
def category_names() -> dict[str, str]:
    """Unified category code → Chinese name, for rule ids like ``veto:homicide``."""
    try:
        tax = yaml.safe_load(_TAXONOMY.read_text(encoding="utf-8"))
        return {c["code"]: c["name_zh"] for c in tax.get("categories", [])}
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return {}


def rules_zh(rules: str | None) -> str:
    """``veto:homicide|downgrade:burglary`` → ``一票否决·故意杀人，降星·入室盗窃``."""
    if not rules:
        return ""
    names = category_names()
    kind = {"veto": "一票否决", "downgrade": "降星", "stable": "星级稳定"}
    parts = []
    for rule in rules.split("|"):
        k, _, code = rule.partition(":")
        parts.append(f"{kind.get(k, k)}·{names.get(code, code)}" if code else kind.get(k, k))
    return "，".join(parts)


_RULE_TOKEN = re.compile(r"\b(veto|downgrade):([a-z_]+)")
_REASON_WORDS = [("rules fired", "触发规则"), ("rules lapsed", "规则失效"), ("first rating", "首次评定"),
                 ("no population or household count", "无人口或户数"), ("index", "指数")]


def reason_zh(reason: str | None) -> str:
    """A change's reason with its rule ids and stock phrases in Chinese, numbers kept."""
    if not reason:
        return ""
    text = _RULE_TOKEN.sub(lambda m: rules_zh(m.group(0)), reason)
    for en, zh in _REASON_WORDS:
        text = re.sub(rf"\b{en}\b", zh, text)
    return text


def render_report(
    report_dir: Path,
    *,
    as_of: date,
    ratings: DataFrame[Rating],
    history: DataFrame[Rating] | None = None,
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
    """Render ``report_dir/index.html`` and ``report_dir/explain/<compound_id>.html``.

    The trend charts come from ``trend`` (the rows of `trend_counts_sql`, as the asset
    reads them from the warehouse) or, without it, from the ratings ``history``."""
    report_dir = Path(report_dir)
    (report_dir / "explain").mkdir(parents=True, exist_ok=True)
    cur = ratings.filter(pl.col(Rating.as_of) == as_of) if ratings.height else ratings
    if cur.height == 0 and ratings.height:
        cur = ratings.filter(pl.col(Rating.as_of) == pl.col(Rating.as_of).max())
    chg = changes.filter(pl.col(RatingChange.as_of) == as_of) if changes.height else changes
    explained = _explained_ids(cur, chg)
    alerts = _alerts(cur, chg, explained)
    ctx = {
        "as_of": as_of,
        "headline": _headline(cur),
        "districts": _districts(cur),
        "changes": _changes(cur, chg, explained),
        "alerts": alerts,
        "problems": _problems(problems, problem_settings or load_rules().common_problems),
        "quality": _quality(quality),
        "match_rates": _table(match_rates),
        "review_size": review_size,
        "intake": _intake(cur, intake),
        "trend": _trend(trend if trend is not None else trend_counts(history, as_of)),
        "sources": _sources(sources),
    }
    env = jinja_env()
    path = report_dir / "index.html"
    path.write_text(env.get_template("report_index.html").render(**ctx), encoding="utf-8")
    _render_explanations(report_dir / "explain", env, as_of, cur, chg, explanations, explained)
    return path


def _sources(df: pl.DataFrame | None) -> list[dict]:
    """Per source: completeness of its data for the date (marts.source_completeness), with
    any outage an analyst acknowledged (who, when, why) so that it was published anyway."""
    if df is None:
        return []
    return [{**r, "source_zh": SOURCE_ZH.get(r["source"], r["source"])} for r in df.sort("source").iter_rows(named=True)]


def _explained_ids(cur: pl.DataFrame, chg: pl.DataFrame) -> set[str]:
    """Compounds that get an explanation page: changed, vetoed or downgraded."""
    changed = chg.filter(pl.col("change") != "unchanged")["compound_id"].to_list()
    flagged = cur.filter(pl.col("status").is_in(["vetoed", "downgraded"]))["compound_id"].to_list()
    return set(changed) | set(flagged)


def _headline(cur: pl.DataFrame) -> dict:
    rated = cur.filter(pl.col("status") != "not_rated")
    five = int((rated["stars"] == 5).sum()) if rated.height else 0
    per = _district_share(cur)
    return {
        "compounds": cur.height,
        "rated": rated.height,
        "five_star": five,
        "five_star_share": five / rated.height if rated.height else None,
        "vetoed": int((cur["status"] == "vetoed").sum()),
        "downgraded": int((cur["status"] == "downgraded").sum()),
        "mean_index": rated["safety_index"].mean() if rated.height else None,
        "districts_below": [d for d, s in per if s is None or s <= FIVE_STAR_LINE],
        "share_chart": charts.share_bars(per, title="各区五星小区占比", line=FIVE_STAR_LINE)
        if per else "",
        "line": FIVE_STAR_LINE,
    }


def _district_share(cur: pl.DataFrame) -> list[tuple[str, float | None]]:
    agg = cur.group_by("district").agg(
        (pl.col("status") != "not_rated").sum().alias("rated"),
        (pl.col("stars") == 5).sum().alias("five"),
    ).with_columns(pl.when(pl.col("rated") > 0).then(pl.col("five") / pl.col("rated")).alias("share"))
    return [(d, s) for d, s in agg.sort("share", "district", descending=[True, False],
                                        nulls_last=True).select("district", "share").rows()]


def _districts(cur: pl.DataFrame) -> dict:
    counts = cur.group_by("district", "stars").agg(pl.len().alias("n"))
    rows = []
    for d in sorted(cur["district"].unique().to_list()):
        sub = counts.filter(pl.col("district") == d)
        rows.append((d, {int(s): int(n) for s, n in sub.select("stars", "n").rows()}))
    share = dict(_district_share(cur))
    table = [{"district": d, "counts": [c.get(s, 0) for s in range(6)], "total": sum(c.values()),
              "share": share.get(d)} for d, c in rows]
    chart = charts.stacked_bars(rows, title="各区星级分布（小区数）") if rows else ""
    return {"chart": chart, "table": table, "star_labels": [charts.STAR_LABELS[s] for s in range(6)]}


def _changes(cur: pl.DataFrame, chg: pl.DataFrame, explained: set[str]) -> dict:
    counts = {k: 0 for k in CHANGE_ORDER}
    for k, n in chg.group_by("change").agg(pl.len()).rows():
        counts[k] = n
    names = cur.select("compound_id", "name", "district", "street", "safety_index", "status")
    rows = (
        chg.filter(pl.col("change") != "unchanged")
        .join(names, on="compound_id", how="left")
        .with_columns(pl.col("change").replace_strict(
            {k: i for i, k in enumerate(CHANGE_ORDER)}, default=99).alias("_o"))
        .sort("_o", "district", "street", "compound_id")
        .to_dicts()
    )
    for r in rows:
        r["change_zh"] = CHANGE_ZH.get(r["change"], r["change"])
        r["link"] = r["compound_id"] in explained
        r["reason_zh"] = reason_zh(r.get("reason"))
    return {"counts": [(k, CHANGE_ZH[k], counts[k]) for k in CHANGE_ORDER], "rows": rows}


def _alerts(cur: pl.DataFrame, chg: pl.DataFrame, explained: set[str]) -> list[dict]:
    change = chg.select("compound_id", "change", "stars_before")
    rows = (cur.filter(pl.col("status").is_in(["vetoed", "downgraded"]))
            .join(change, on="compound_id", how="left")
            .sort(pl.col("status") != "vetoed", "district", "street", "compound_id").to_dicts())
    for r in rows:
        r["status_zh"] = STATUS_ZH[r["status"]]
        r["rules_zh"] = rules_zh(r.get("rules"))
        r["new"] = r.get("change") in ("vetoed", "down", "new")
        r["link"] = r["compound_id"] in explained
    return rows


def _problems(problems: pl.DataFrame, settings: CommonProblems) -> dict:
    if problems is None or problems.height == 0:
        return {"rows": [], "total": 0, "settings": settings}
    rows = problems.head(50).to_dicts()
    for r in rows:
        r["kind_zh"] = PROBLEM_KIND_ZH.get(r.get("kind"), r.get("kind"))
        r["level_zh"] = LEVEL_ZH.get(r.get("level"), r.get("level"))
    return {"rows": rows, "total": problems.height, "settings": settings}


def _table(df: pl.DataFrame | None) -> dict:
    """Any frame as columns + rows, so extra columns (e.g. per-reason counts) show as well.

    A per-source frame is turned on its side — one row per figure, one column per source —
    so a dozen figures fit the page width instead of running off its right edge."""
    if df is None:
        return {"columns": [], "rows": []}
    if "rate" in df.columns:
        pct = (pl.col("rate").cast(pl.Float64) * 100).round(1)
        df = df.with_columns(pl.format("{}%", pct).alias("rate"))
    if "source" in df.columns and df.height:
        sources = [str(s) for s in df["source"].to_list()]
        figures = [c for c in df.columns if c != "source"]
        columns = [{"code": "figure", "zh": "指标"}] + [{"code": s, "zh": SOURCE_ZH.get(s, s)} for s in sources]
        rows = [(_column_zh(c) or c, *df[c].to_list()) for c in figures]
        return {"columns": columns, "rows": rows, "codes": figures}
    columns = [{"code": c, "zh": _column_zh(c)} for c in df.columns]
    return {"columns": columns, "rows": df.rows()}


def _column_zh(code: str) -> str | None:
    zh = column_zh(code)
    return None if zh == code else zh


def _quality(df: pl.DataFrame | None) -> dict:
    """Per-source figures, with the per-reason quarantine counts as their own table (only
    the reasons that occurred; the others are named in one line)."""
    if df is None or df.height == 0:
        return {"main": _table(df), "reasons": _table(None), "zero": []}
    reason_cols = [c for c in df.columns if c.startswith(_REASON_PREFIX)]
    numeric = [c for c in reason_cols if df.schema[c].is_numeric()]
    seen = [c for c in numeric if (df[c].fill_null(0).sum() or 0) > 0]
    zero = [_column_zh(c)[3:] for c in numeric if c not in seen]
    keys = [c for c in ("source",) if c in df.columns]
    return {"main": _table(df.drop([c for c in numeric])),
            "reasons": _table(df.select(keys + seen)) if seen else _table(None),
            "zero": zero}


def _intake(cur: pl.DataFrame, intake: pl.DataFrame | None) -> dict | None:
    if intake is None:
        return None
    joined = intake.join(cur.select("compound_id", "name", "district"), on="compound_id", how="left")
    per = joined.group_by("district").agg(
        pl.col("n_needs_month").sum(), pl.col("n_checkins_month").sum(),
        (pl.col("n_checkins_month") > 0).sum().alias("compounds_checked_in"),
    ).sort("district", nulls_last=True)
    top = joined.sort("n_needs_month", "compound_id", descending=[True, False]).head(10)
    return {"per_district": per.to_dicts(), "top_needs": top.filter(pl.col("n_needs_month") > 0).to_dicts(),
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


def trend_counts(history: pl.DataFrame | None, as_of: date) -> pl.DataFrame:
    """`trend_counts_sql` over a ratings history held in memory."""
    if history is None or history.height == 0:
        return pl.DataFrame()
    with duckdb.connect() as conn:
        conn.register("history", history.select("as_of", "district", "status", "stars", "safety_index").to_arrow())
        return conn.sql(trend_counts_sql("history"), params=[as_of]).pl()


def _trend(counts: pl.DataFrame) -> dict:
    if counts.height == 0:
        return {"rows": [], "chart_share": "", "chart_index": ""}
    n = pl.col("n")
    index_n = pl.col("n_index").sum()
    per = (
        counts.group_by("as_of").agg(
            n.sum().alias("compounds"),
            n.filter(pl.col("status") != "not_rated").sum().alias("rated"),
            n.filter(pl.col("stars") == 5).sum().alias("five_star"),
            pl.when(index_n > 0).then(pl.col("index_micros").sum() / 1e6 / index_n).alias("mean_index"),
            n.filter(pl.col("status") == "vetoed").sum().alias("vetoed"),
            n.filter(pl.col("status") == "downgraded").sum().alias("downgraded"),
        ).with_columns(pl.when(pl.col("rated") > 0).then(pl.col("five_star") / pl.col("rated"))
                       .alias("five_star_share"))
        .sort("as_of")
    )
    dates = [str(d) for d in per["as_of"].to_list()]

    def points(series: str, values) -> list[dict]:
        return [{"date": d, "series": series, "value": v} for d, v in zip(dates, values)]

    line = (FIVE_STAR_LINE * 100, f"基准线 {FIVE_STAR_LINE:.0%}")
    share = charts.line_chart(
        points("五星占比", [None if v is None else v * 100 for v in per["five_star_share"].to_list()]),
        title="五星小区占比走势", y_title="五星占比（%）", min_span=10, lo=0, hi=100, ref=line)
    index = charts.line_chart(points("平均平安指数", per["mean_index"].to_list()), title="平均平安指数走势",
                              y_title="平均平安指数（0–100）", min_span=2, lo=0, hi=100)
    flags = charts.line_chart(points("一票否决", per["vetoed"].to_list()) + points("降星", per["downgraded"].to_list()),
                              title="一票否决与降星小区数走势", y_title="小区数（个）", integer=True,
                              colours=["#b71c1c", "#ff9900"])
    by_district = (
        counts.group_by("as_of", "district").agg(
            n.filter(pl.col("status") != "not_rated").sum().alias("rated"),
            n.filter(pl.col("stars") == 5).sum().alias("five"))
        .with_columns(pl.when(pl.col("rated") > 0).then(pl.col("five") / pl.col("rated") * 100).alias("share"))
        .sort("district", "as_of")
    )
    district_points = [{"date": str(a), "series": d, "value": v}
                       for d, a, v in by_district.select("district", "as_of", "share").rows()]
    districts_chart = charts.line_chart(district_points, title="各区五星占比走势", y_title="五星占比（%）",
                                        series_title="区", min_span=10, lo=0, hi=100, ref=line)
    return {"rows": per.to_dicts(), "chart_share": share, "chart_index": index, "chart_flags": flags,
            "chart_districts": districts_chart}


def _render_explanations(out: Path, env: Environment, as_of: date, cur: pl.DataFrame,
                         chg: pl.DataFrame, explanations: pl.DataFrame, ids: set[str]) -> None:
    """One page per changed, vetoed or downgraded compound."""
    if not ids:
        return
    template = env.get_template("report_explain.html")
    wanted = sorted(ids)
    lines = _explanation_lines(explanations.filter(pl.col("compound_id").is_in(wanted)), as_of)
    lines_by = {cid: rows.drop("compound_id").to_dicts()
                for (cid,), rows in lines.partition_by("compound_id", as_dict=True, maintain_order=True).items()}
    chg_by = {r["compound_id"]: r for r in chg.filter(pl.col("compound_id").is_in(wanted)).to_dicts()}
    # One thread writes the pages (kernel time, the GIL released) while this one renders the
    # next batch: a night writes tens of thousands of them into one folder.
    batch: list[tuple[Path, bytes]] = []
    with ThreadPoolExecutor(max_workers=1) as files:
        writes = []
        for r in cur.filter(pl.col("compound_id").is_in(wanted)).to_dicts():
            cid = r["compound_id"]
            c = chg_by.get(cid)
            if c:
                c = dict(c, change_zh=CHANGE_ZH.get(c["change"], c["change"]))
            r = dict(r, status_zh=STATUS_ZH.get(r["status"], r["status"]), rules_zh=rules_zh(r.get("rules")))
            html = template.render(as_of=as_of, r=r, change=c, lines=lines_by.get(cid, []))
            batch.append((out / f"{safe_file_name(cid)}.html", html.encode("utf-8")))
            if len(batch) == EXPLAIN_BATCH:
                writes.append(files.submit(_write_all, batch))
                batch = []
        writes.append(files.submit(_write_all, batch))
        for write in writes:
            write.result()  # raise any error of the writes


EXPLAIN_BATCH = 2000


def _write_all(pages: list[tuple[Path, bytes]]) -> None:
    for path, data in pages:
        _write_bytes(path, data)


# what the value of an explanation line counts, by kind: stars of a rule, days until the
# lift, index points of a category, source or comparison
VALUE_UNIT_ZH = {"rule": "星", "lift": "天", "category": "分", "source": "分", "compare": "分"}
_KIND_ORDER = {k: i for i, k in enumerate(["rule", "override", "lift", "category", "source", "compare"])}


def _explanation_lines(ex: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The explanation lines in page order — per compound, rules first, then what lifts it,
    then the biggest contributions — with their Chinese labels, sorted once for all."""
    if "as_of" in ex.columns and ex.height:
        ex = ex.filter(pl.col("as_of") == as_of)
    names = category_names()
    pairs = ex.select("kind", "key").unique().rows()
    key_zh = {f"{k}\x1f{key}": (rules_zh(key) if k == "rule" or _RULE_TOKEN.fullmatch(key or "") else
                                KEY_ZH.get(key) or SOURCE_ZH.get(key) or names.get(key, key)) for k, key in pairs}
    return (
        ex.with_row_index("_row")
        .with_columns(
            pl.col("kind").replace_strict(_KIND_ORDER, default=9, return_dtype=pl.Int64).alias("_k"),
            # -(value or 0) as the page sorted it; + 0.0 folds -0.0 into 0.0 so ties stay ties
            (-pl.col("value").fill_null(0.0) + 0.0).alias("_v"),
            pl.col("kind").replace_strict(KIND_ZH, default=pl.col("kind"), return_dtype=pl.String).alias("kind_zh"),
            pl.concat_str("kind", pl.lit("\x1f"), "key").replace_strict(key_zh, default=pl.col("key"),
                                                                       return_dtype=pl.String).alias("key_zh"),
        )
        .sort("compound_id", "_k", "_v", "key", "_row")
        .select("compound_id", "kind_zh", "key_zh", "value", "detail",
                pl.col("kind").replace_strict(VALUE_UNIT_ZH, default="", return_dtype=pl.String).alias("unit"))
    )


def _write_bytes(path: Path, data: bytes) -> None:
    """A small file written with one system call (tens of thousands per report)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def safe_file_name(cid: str) -> str:
    """A compound id as a file name (ids are registry codes; guard against path tricks)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in cid).lstrip(".") or "_"
