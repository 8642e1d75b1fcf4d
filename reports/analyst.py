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
from markupsafe import Markup, escape
from pandera.typing.polars import DataFrame

from reports import charts
from reports.bulk_render import Number, fill_rows, mark
from reports.explain_pages import ExplainPages
from reports.rankings import FIVE_STAR_LINE, STATUS_ZH
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
SOURCE_ZH = {"police": "公安", "procuratorate": "检察", "court": "法院", "justice": "司法",
             "petition": "信访", "intake": "群众需求"}
REASON_ZH = {
    "missing_id": "缺少编号", "duplicate_id": "重复编号", "bad_date": "日期无效", "future_date": "未来日期",
    "bad_type": "类型错误", "out_of_bbox": "坐标越界", "unknown_category": "未知类别",
    "invalid_status": "状态无效", "ragged_row": "列数不符", "bad_quote": "引号错误",
    "line_too_long": "行过长", "unreadable_row": "无法读取", "not_an_object": "非对象", "bad_json": "JSON 错误",
}
METHOD_ZH = {"explicit": "部门指定", "decision": "人工判定", "polygon": "落入小区范围", "address": "地址匹配",
             "nearest": "最近小区", "unmatched": "未匹配", "excluded": "排除"}
# column codes of the quality and match-rate frames → Chinese headers (the code stays visible)
COLUMN_ZH = {
    "source": "来源", "files": "文件数", "files_loaded": "已入库文件", "files_rejected": "拒收文件",
    "files_skipped_duplicate": "重复文件", "rows": "读取记录", "rows_read": "读取记录",
    "accepted": "入库记录", "rows_accepted": "入库记录", "quarantined": "隔离记录",
    "rows_quarantined": "隔离记录", "rejected_files": "拒收文件", "superseded": "被替换版本",
    "records": "现存记录", "records_revoked": "已撤销", "incidents": "事件数",
    "chains_linked": "跨部门串联", "records_in_chains": "串联记录", "events": "事件数",
    "matched": "已归属", "excluded": "排除", "review": "待核查", "rate": "归属率",
    **REASON_ZH,
}
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
_REASON_WORDS = [("rules fired", "触发规则"), ("rules lapsed", "规则失效"), ("index", "指数")]


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
        "alerts_body": Markup(_alert_rows(alerts)),
        "problems": _problems(problems, problem_settings or load_rules().common_problems),
        "quality": _quality(quality),
        "match_rates": _table(match_rates),
        "review_size": review_size,
        "intake": _intake(cur, intake),
        "trend": _trend(trend if trend is not None else trend_counts(history, as_of)),
    }
    env = jinja_env()
    path = report_dir / "index.html"
    path.write_text(env.get_template("report_index.html").render(**ctx), encoding="utf-8")
    _render_explanations(report_dir / "explain", env, as_of, cur, chg, explanations, explained)
    return path


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
    return {"counts": [(k, CHANGE_ZH[k], counts[k]) for k in CHANGE_ORDER], "rows": rows,
            "body": Markup(_change_rows(rows))}


class _Id:
    """A marker for a compound id: one text in the page, another through ``fname``."""

    def __html__(self) -> str:
        return mark("r.compound_id")

    def __str__(self) -> str:
        return mark("r.href")


def _text(values) -> list[str]:
    return [str(escape(v)) for v in values]


def _change_rows(rows: list[dict]) -> str:
    """The change table's rows: ``report_change_row.html`` per row, filled in bulk."""
    def context(link: bool) -> dict:
        return {"r": {"change": mark("r.change"), "change_zh": mark("r.change_zh"), "link": link,
                      "compound_id": _Id(), "name": mark("r.name"), "district": mark("r.district"),
                      "street": mark("r.street"), "stars_before": mark("r.stars_before"),
                      "stars_after": mark("r.stars_after"), "safety_index": Number("r.safety_index"),
                      "reason_zh": mark("r.reason_zh")}}
    num = jinja_env().filters["num"]
    values = {
        "r.change": _text(r["change"] for r in rows), "r.change_zh": _text(r["change_zh"] for r in rows),
        "r.href": _text(safe_file_name(str(r["compound_id"])) for r in rows),
        "r.compound_id": _text(r["compound_id"] for r in rows),
        "r.name": _text(r["name"] or r["compound_id"] for r in rows),
        "r.district": _text(r["district"] or "" for r in rows), "r.street": _text(r["street"] or "" for r in rows),
        "r.stars_before": _text("—" if r["stars_before"] is None else r["stars_before"] for r in rows),
        "r.stars_after": _text(r["stars_after"] for r in rows),
        "r.safety_index": _text(num(r["safety_index"]) for r in rows),
        "r.reason_zh": _text(r["reason_zh"] or "" for r in rows),
    }
    return fill_rows(jinja_env().get_template("report_change_row.html"),
                     {True: context(True), False: context(False)},
                     pl.Series([r["link"] for r in rows], dtype=pl.Boolean), values)


def _alert_rows(rows: list[dict]) -> str:
    """The alert table's rows: ``report_alert_row.html`` per row, filled in bulk."""
    def context(link: bool, new: bool) -> dict:
        return {"r": {"status": mark("r.status"), "status_zh": mark("r.status_zh"), "link": link, "new": new,
                      "compound_id": _Id(), "name": mark("r.name"), "district": mark("r.district"),
                      "street": mark("r.street"), "stars": mark("r.stars"), "rules_zh": mark("r.rules_zh")}}
    values = {
        "r.status": _text(r["status"] for r in rows), "r.status_zh": _text(r["status_zh"] for r in rows),
        "r.href": _text(safe_file_name(str(r["compound_id"])) for r in rows),
        "r.compound_id": _text(r["compound_id"] for r in rows), "r.name": _text(r["name"] for r in rows),
        "r.district": _text(r["district"] for r in rows), "r.street": _text(r["street"] for r in rows),
        "r.stars": _text(r["stars"] for r in rows), "r.rules_zh": _text(r["rules_zh"] for r in rows),
    }
    shapes = {(link, new): context(link, new) for link in (True, False) for new in (True, False)}
    shape = pl.Series([f"{bool(r['link'])}|{bool(r['new'])}" for r in rows], dtype=pl.String)
    return fill_rows(jinja_env().get_template("report_alert_row.html"),
                     {f"{link}|{new}": ctx for (link, new), ctx in shapes.items()}, shape, values)


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
    """Any frame as columns + rows, so extra columns (e.g. per-reason counts) show as well."""
    if df is None:
        return {"columns": [], "rows": []}
    if "source" in df.columns:
        df = df.with_columns(pl.col("source").cast(pl.String).replace(SOURCE_ZH))
    if "rate" in df.columns:
        pct = (pl.col("rate").cast(pl.Float64) * 100).round(1)
        df = df.with_columns(pl.format("{}%", pct).alias("rate"))
    columns = [{"code": c, "zh": _column_zh(c)} for c in df.columns]
    return {"columns": columns, "rows": df.rows()}


def _column_zh(code: str) -> str | None:
    if code in COLUMN_ZH:
        return COLUMN_ZH[code]
    if code.startswith(_REASON_PREFIX):
        reason = code[len(_REASON_PREFIX):]
        return f"隔离·{REASON_ZH.get(reason, reason)}"
    if code.startswith("n_") and code[2:] in METHOD_ZH:
        return f"方式·{METHOD_ZH[code[2:]]}"
    return None


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
    labels = [str(d) for d in per["as_of"].to_list()]
    share = charts.line_chart(
        labels, [("五星占比 (%)", [None if v is None else v * 100 for v in per["five_star_share"].to_list()])],
        title="五星小区占比走势", y_format="{:.1f}", ref=(FIVE_STAR_LINE * 100, "25%"))
    index = charts.line_chart(
        labels, [("平均平安指数", per["mean_index"].to_list())], title="平均平安指数走势", y_format="{:.1f}")
    flags = charts.line_chart(
        labels, [("一票否决", [float(v) for v in per["vetoed"].to_list()]),
                 ("降星", [float(v) for v in per["downgraded"].to_list()])],
        title="一票否决与降星小区数走势")
    by_district = (
        counts.group_by("as_of", "district").agg(
            n.filter(pl.col("status") != "not_rated").sum().alias("rated"),
            n.filter(pl.col("stars") == 5).sum().alias("five"))
        .with_columns(pl.when(pl.col("rated") > 0).then(pl.col("five") / pl.col("rated") * 100).alias("share"))
        .pivot(on="district", index="as_of", values="share").sort("as_of")
    )
    districts = sorted(c for c in by_district.columns if c != "as_of")
    by_date = dict(zip(by_district["as_of"].to_list(), by_district.select(districts).rows()))
    district_series = [(d, [by_date.get(a, (None,) * len(districts))[k] for a in per["as_of"].to_list()])
                       for k, d in enumerate(districts)]
    districts_chart = charts.line_chart(labels, district_series, title="各区五星占比走势 (%)",
                                        y_format="{:.1f}", ref=(FIVE_STAR_LINE * 100, "25%"))
    return {"rows": per.to_dicts(), "chart_share": share, "chart_index": index, "chart_flags": flags,
            "chart_districts": districts_chart}


def _render_explanations(out: Path, env: Environment, as_of: date, cur: pl.DataFrame,
                         chg: pl.DataFrame, explanations: pl.DataFrame, ids: set[str]) -> None:
    """One page per changed, vetoed or downgraded compound."""
    if not ids:
        return
    pages = ExplainPages(env, as_of)
    wanted = sorted(ids)
    lines_by = pages.line_rows(_explanation_lines(explanations.filter(pl.col("compound_id").is_in(wanted)), as_of))
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
            html = pages.render(dict(r, status_zh=STATUS_ZH.get(r["status"], r["status"]), rules_zh=rules_zh(r.get("rules"))),
                                c, lines_by.get(cid, ""))
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


_KIND_ORDER = {k: i for i, k in enumerate(["rule", "override", "lift", "category", "source", "compare"])}


def _explanation_lines(ex: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The explanation lines in page order — per compound, rules first, then what lifts it,
    then the biggest contributions — with their Chinese labels, sorted once for all."""
    if "as_of" in ex.columns and ex.height:
        ex = ex.filter(pl.col("as_of") == as_of)
    names = category_names()
    pairs = ex.select("kind", "key").unique().rows()
    key_zh = {f"{k}\x1f{key}": (rules_zh(key) if k == "rule" else KEY_ZH.get(key) or SOURCE_ZH.get(key)
                                or names.get(key, key)) for k, key in pairs}
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
        .select("compound_id", "kind_zh", "key_zh", "value", "detail")
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
