"""The monthly ranking's files (每月通报): a workbook, CSV per level, an HTML page and a
one-page summary for the committee. Same frames give the same bytes (no clock, fixed
workbook metadata), so a month re-run writes identical files."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from governance.config import PARTS, load_governance_config
from reports.excel import Sheet, for_people, write_people_csv, write_workbook
from reports.templating import render_template

LEVEL_ZH = {"street": "街道", "community": "社区", "grid": "网格"}
TITLES = {"street": "街道排名（全市）", "community": "社区排名（全市）", "grid": "网格排名（街道内）"}
PART_ZH = {
    "five_star_share": ("五星占比", "参评小区中五星小区的比例（本月最后一个评定日）"),
    "no_veto_share": ("无否决比例", "1 − 被一票否决小区的比例"),
    "no_downgrade_share": ("无降星比例", "1 − 被降星小区的比例"),
    "on_time_share": ("按时办结率", "本月办结的需求中在时限内反馈结果、未超时上报的比例"),
    "satisfaction": ("满意率", "本月评价中“满意”“基本满意”的比例"),
    "checkins": ("干警报到", "本月每个小区的干警报到次数 ÷ 目标次数，最高为 1"),
}
# Frame column → Chinese header, in the order the files show them.
COLUMNS = {
    "rank": "排名", "of": "参与排名数", "district": "区", "street": "街道", "community": "社区", "grid_code": "网格编码",
    "score": "治理得分", "prev_rank": "上月排名", "rank_change": "排名变化", "score_change": "得分变化",
    "compounds": "小区数", "rated_compounds": "参评小区数", "five_star": "五星小区数", "five_star_rate": "五星占比",
    "vetoed": "一票否决小区", "downgraded": "降星小区", "received": "受理需求", "closed": "办结需求",
    "closed_on_time": "按时办结", "on_time_rate": "按时办结率", "median_hours_to_close": "办结用时中位数（小时）",
    "escalations": "上报次数", "rated": "群众评价数", "satisfied": "满意数", "satisfaction_rate": "满意率",
    "open_at_end": "月末未办结", "overdue_open_at_end": "超期未办结", "checkins": "干警报到次数",
}
KEYS = {"street": ["district", "street"], "community": ["district", "street", "community"],
        "grid": ["district", "street", "community", "grid_code"]}
RATES = ("five_star_rate", "on_time_rate", "satisfaction_rate")


def _rate(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then((pl.col(num) / pl.col(den)).round(4))


def people_table(ranked: pl.DataFrame, level: str) -> pl.DataFrame:
    """One level's ranking with the figures behind it, in the files' column order (English names)."""
    frame = ranked.filter(pl.col("level") == level).with_columns(
        five_star_rate=_rate("five_star", "rated_compounds"), on_time_rate=_rate("closed_on_time", "closed"),
        satisfaction_rate=_rate("satisfied", "rated"))
    cols = ["rank", "of", *KEYS[level]] + [c for c in COLUMNS if c not in ("rank", "of", *KEYS["grid"])]
    return frame.select(cols)


def _month_label(first: date) -> str:
    return f"{first.year}年{first.month}月"


def _period_note(first: date, rated_on: date | None, data_until: date | None) -> str:
    rated = f"星级取 {rated_on} 评定结果" if rated_on else "本月尚无评定结果"
    needs = f"需求与报到数据截至 {data_until}" if data_until else "本月尚无需求与报到数据"
    return f"{rated}；{needs}"


def _write_csv(frame: pl.DataFrame, path: Path) -> Path:
    return write_people_csv(frame, path, COLUMNS)


def _write_workbook(path: Path, sheets: list[tuple[str, pl.DataFrame]], title: str) -> Path:
    """The month's workbook: a sheet per level, the districts and the method; rates as %."""
    return write_workbook(path, [
        Sheet(name, for_people(frame, COLUMNS), formats={COLUMNS[c]: "0.0%" for c in RATES if c in frame.columns})
        for name, frame in sheets], title=title)


def _display(frame: pl.DataFrame) -> list[list]:
    """Rows for the HTML tables: rates as percentages, changes with a sign."""
    shown = frame.with_columns(
        *[pl.when(pl.col(c).is_not_null()).then(pl.format("{}%", (pl.col(c) * 100).round(1))).alias(c) for c in RATES],
        rank_change=pl.when(pl.col("rank_change") > 0).then(pl.format("↑{}", "rank_change"))
        .when(pl.col("rank_change") < 0).then(pl.format("↓{}", -pl.col("rank_change")))
        .when(pl.col("rank_change") == 0).then(pl.lit("—")),
    )
    return [list(r) for r in shown.iter_rows()]


def _summary(first: date, ranked: pl.DataFrame, figures: pl.DataFrame) -> dict:
    city = figures.filter(pl.col("level") == "city").row(0, named=True) if figures.filter(
        pl.col("level") == "city").height else {}

    def share(num: str, den: str) -> str:
        return f"{city[num] / city[den]:.1%}" if city.get(den) else "—"

    cards = [
        {"label": "受理需求", "value": f"{city.get('received', 0):,}"},
        {"label": "办结需求", "value": f"{city.get('closed', 0):,}"},
        {"label": "按时办结率", "value": share("closed_on_time", "closed")},
        {"label": "满意率", "value": share("satisfied", "rated")},
        {"label": "上报次数", "value": f"{city.get('escalations', 0):,}"},
        {"label": "干警报到", "value": f"{city.get('checkins', 0):,}"},
        {"label": "五星小区占比", "value": share("five_star", "rated_compounds")},
    ]
    streets = people_table(ranked, "street")

    def rows(frame: pl.DataFrame) -> list[dict]:
        return [{"rank": r["rank"], "street": r["street"], "district": r["district"], "score": r["score"],
                 "change": "—" if r["rank_change"] in (None, 0) else (f"↑{r['rank_change']}" if r["rank_change"] > 0
                                                                     else f"↓{-r['rank_change']}"),
                 "on_time": r["on_time_rate"], "satisfaction": r["satisfaction_rate"]} for r in frame.iter_rows(named=True)]

    top = streets.head(5)
    bottom = streets.slice(5).tail(3)
    # One page: the three most overdue streets, the vetoes in one line, the three biggest falls.
    attention = []
    for r in streets.filter(pl.col("overdue_open_at_end") > 0).sort(
            "overdue_open_at_end", "district", "street", descending=[True, False, False]).head(3).iter_rows(named=True):
        attention.append(f"{r['district']}{r['street']}：月末有 {r['overdue_open_at_end']} 件需求超期未办结")
    vetoed = streets.filter(pl.col("vetoed") > 0).sort("vetoed", "district", "street", descending=[True, False, False])
    if vetoed.height:
        where = "、".join(f"{r['street']}{r['vetoed']}个" for r in vetoed.head(5).iter_rows(named=True))
        more = f"等 {vetoed.height} 个街道" if vetoed.height > 5 else ""
        attention.append(f"一票否决小区共 {int(vetoed['vetoed'].sum())} 个：{where}{more}")
    for r in streets.filter(pl.col("rank_change") <= -3).sort("rank_change", "district", "street").head(3).iter_rows(named=True):
        attention.append(f"{r['district']}{r['street']}：排名下降 {-r['rank_change']} 位（第 {r['prev_rank']} → 第 {r['rank']} 名）")
    return {"cards": cards, "top": rows(top), "bottom": rows(bottom), "attention": attention}


def write_month(folder: Path, first: date, ranked: pl.DataFrame, figures: pl.DataFrame, *,
                rated_on: date | None, data_until: date | None, version: str) -> list[Path]:
    """Write the month's workbook, CSV files, ranking page and summary into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = load_governance_config()
    label = _month_label(first)
    workbook = f"每月通报_{first:%Y-%m}.xlsx"
    levels = [lv for lv in cfg.ranking.levels if lv in TITLES]
    tables = {lv: people_table(ranked, lv) for lv in levels}
    districts = figures.filter(pl.col("level") == "district").with_columns(
        five_star_rate=_rate("five_star", "rated_compounds"), on_time_rate=_rate("closed_on_time", "closed"),
        satisfaction_rate=_rate("satisfied", "rated")).select(
        "district", *[c for c in COLUMNS if c in figures.columns and c not in KEYS["grid"]
                      and c not in ("rank", "of", "score")], *RATES)
    paths = [_write_csv(tables[lv], folder / f"{LEVEL_ZH[lv]}排名.csv") for lv in levels]
    paths.append(_write_csv(districts, folder / "各区情况.csv"))
    note = _period_note(first, rated_on, data_until)
    method = pl.DataFrame({
        "项目": [PART_ZH[p][0] for p in PARTS], "含义": [PART_ZH[p][1] for p in PARTS],
        "权重": [cfg.score.weights[p] for p in PARTS]})
    sheets = [(TITLES[lv].split("（")[0], tables[lv]) for lv in levels] + [("各区情况", districts), ("评分方法", method)]
    paths.append(_write_workbook(folder / workbook, sheets, f"基层治理每月通报 {label}"))
    context = {"month_label": label, "period_note": note, "workbook": workbook, "version": version,
               "as_of": rated_on or label}
    html_tables = [{"title": TITLES[lv], "csv": f"{LEVEL_ZH[lv]}排名.csv",
                    "columns": [COLUMNS[c] for c in tables[lv].columns], "rows": _display(tables[lv])} for lv in levels]
    parts = [{"name": PART_ZH[p][0], "meaning": PART_ZH[p][1], "weight": cfg.score.weights[p]} for p in PARTS]
    page = folder / "index.html"
    page.write_text(render_template("governance_month.html", tables=html_tables, parts=parts,
                                    decimals=cfg.score.decimals, prior=f"{cfg.score.prior_cases:g}", **context),
                    encoding="utf-8")
    summary = folder / "summary.html"
    summary.write_text(render_template("governance_summary.html", **_summary(first, ranked, figures), **context),
                       encoding="utf-8")
    return [*paths, page, summary]
