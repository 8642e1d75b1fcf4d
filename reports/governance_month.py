"""The monthly ranking's files (每月通报): a workbook, CSV per level, an HTML page and a
one-page summary for the committee. Same frames give the same bytes (no clock, fixed
workbook metadata), so a month re-run writes identical files."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from governance.config import PARTS, GovernanceConfig
from reports.excel import write_people_csv, write_workbook
from reports.rankings import page_table, sheet, write_page

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
FIGURES = [c for c in COLUMNS if c not in ("rank", "of", "score", *KEYS["grid"])]


def _with_rates(frame: pl.DataFrame) -> pl.DataFrame:
    def rate(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then((pl.col(num) / pl.col(den)).round(4))

    return frame.with_columns(five_star_rate=rate("five_star", "rated_compounds"),
                              on_time_rate=rate("closed_on_time", "closed"),
                              satisfaction_rate=rate("satisfied", "rated"))


def people_table(ranked: pl.DataFrame, level: str) -> pl.DataFrame:
    """One level's ranking with the figures behind it, in the files' column order (English names)."""
    frame = _with_rates(ranked.filter(pl.col("level") == level))
    return frame.select("rank", "of", *KEYS[level], "score", *[c for c in FIGURES if c in frame.columns])


def _arrow() -> pl.Expr:
    """The rank change as the pages show it: ↑ up, ↓ down, — none."""
    change = pl.col("rank_change")
    return (pl.when(change > 0).then(pl.format("↑{}", change)).when(change < 0).then(pl.format("↓{}", -change))
            .otherwise(pl.lit("—")))


def _summary(ranked: pl.DataFrame, figures: pl.DataFrame) -> dict:
    """The committee's page: the city's figures, the streets at the top and the bottom, and
    what needs attention (the most overdue streets, the vetoes, the biggest falls)."""
    city = next(figures.filter(pl.col("level") == "city").iter_rows(named=True), {})

    def share(num: str, den: str) -> str:
        return f"{city[num] / city[den]:.1%}" if city.get(den) else "—"

    cards = [("受理需求", f"{city.get('received', 0):,}"), ("办结需求", f"{city.get('closed', 0):,}"),
             ("按时办结率", share("closed_on_time", "closed")), ("满意率", share("satisfied", "rated")),
             ("上报次数", f"{city.get('escalations', 0):,}"), ("干警报到", f"{city.get('checkins', 0):,}"),
             ("五星小区占比", share("five_star", "rated_compounds"))]
    streets = people_table(ranked, "street")
    order = ["district", "street"]
    attention = [f"{r['district']}{r['street']}：月末有 {r['overdue_open_at_end']} 件需求超期未办结" for r in
                 streets.filter(pl.col("overdue_open_at_end") > 0)
                 .sort("overdue_open_at_end", *order, descending=[True, False, False]).head(3).iter_rows(named=True)]
    vetoed = streets.filter(pl.col("vetoed") > 0).sort("vetoed", *order, descending=[True, False, False])
    if vetoed.height:
        where = "、".join(f"{r['street']}{r['vetoed']}个" for r in vetoed.head(5).iter_rows(named=True))
        more = f"等 {vetoed.height} 个街道" if vetoed.height > 5 else ""
        attention.append(f"一票否决小区共 {int(vetoed['vetoed'].sum())} 个：{where}{more}")
    attention += [f"{r['district']}{r['street']}：排名下降 {-r['rank_change']} 位（第 {r['prev_rank']} → 第 {r['rank']} 名）"
                  for r in streets.filter(pl.col("rank_change") <= -3).sort("rank_change", *order).head(3)
                  .iter_rows(named=True)]
    rows = streets.with_columns(change=_arrow())
    return {"cards": cards, "top": rows.head(5).to_dicts(), "bottom": rows.slice(5).tail(3).to_dicts(),
            "attention": attention}


def write_month(folder: Path, first: date, ranked: pl.DataFrame, figures: pl.DataFrame, *,
                rated_on: date | None, data_until: date | None, cfg: GovernanceConfig) -> list[Path]:
    """Write the month's workbook, CSV files, ranking page and summary into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    label = f"{first.year}年{first.month}月"
    workbook = f"每月通报_{first:%Y-%m}.xlsx"
    levels = [lv for lv in cfg.ranking.levels if lv in TITLES]
    tables = {lv: people_table(ranked, lv) for lv in levels}
    districts = _with_rates(figures.filter(pl.col("level") == "district"))
    districts = districts.select("district", *[c for c in FIGURES if c in districts.columns])
    paths = [write_people_csv(tables[lv], folder / f"{LEVEL_ZH[lv]}排名.csv", COLUMNS) for lv in levels]
    paths.append(write_people_csv(districts, folder / "各区情况.csv", COLUMNS))
    method = pl.DataFrame({"项目": [PART_ZH[p][0] for p in PARTS], "含义": [PART_ZH[p][1] for p in PARTS],
                           "权重": [cfg.score.weights[p] for p in PARTS]})
    sheets = [sheet(TITLES[lv].split("（")[0], tables[lv], COLUMNS, RATES) for lv in levels]
    sheets += [sheet("各区情况", districts, COLUMNS, RATES), sheet("评分方法", method, COLUMNS)]
    paths.append(write_workbook(folder / workbook, sheets, title=f"基层治理每月通报 {label}"))
    note = (f"{f'星级取 {rated_on} 评定结果' if rated_on else '本月尚无评定结果'}；"
            f"{f'需求与报到数据截至 {data_until}' if data_until else '本月尚无需求与报到数据'}")
    context = {"month_label": label, "note": note, "workbook": workbook, "version": cfg.version,
               "as_of": rated_on or label}
    page_tables = [page_table(TITLES[lv], f"{LEVEL_ZH[lv]}排名.csv", tables[lv].with_columns(rank_change=_arrow()),
                              COLUMNS, RATES) for lv in levels]
    parts = [{"name": PART_ZH[p][0], "meaning": PART_ZH[p][1], "weight": cfg.score.weights[p]} for p in PARTS]
    return [*paths,
            write_page(folder / "index.html", "governance_month.html", title=f"每月通报 {label}",
                       heading=f"基层治理每月通报 · {label}", links=[("summary.html", "一页纸摘要")],
                       nav=[("#method", "评分方法")], tables=page_tables, parts=parts, decimals=cfg.score.decimals,
                       prior=f"{cfg.score.prior_cases:g}", **context),
            write_page(folder / "summary.html", "governance_summary.html", **_summary(ranked, figures), **context)]
