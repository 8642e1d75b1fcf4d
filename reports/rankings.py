"""Rankings by safety index (city, district and street, and the five-star share per district),
and the files of every ranking: people-CSVs, a workbook and a zh-CN page (the monthly
governance ranking, reports/governance_month.py, writes its own through the same helpers).

The five-star share per district is the programme's headline figure (every district above
25%). Ranks are dense within ties of the index rounded to one decimal; compounds that are
not rated carry no rank and sort last.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl
from pandera.typing.polars import DataFrame

from reports.excel import Sheet, for_people, write_people_csv, write_workbook
from reports.templating import render_template
from schemas.ratings import Rating
from schemas.registry import Compound

FIVE_STAR_LINE = 0.25
# rows of each ranking on the page (all 100,000 compounds made it 27 MB); the files hold all
PAGE_ROWS = 200
# English frame columns → Chinese headers of every written file (beside reports.excel.HEADERS_ZH)
HEADERS = {
    "rank_city": "全市排名", "rank_district": "区内排名", "rank_street": "街道内排名", "rank": "排名",
    "compounds": "小区数", "rated": "参评小区数", "mean_index": "平均平安指数",
    "five_star": "五星小区数", "five_star_share": "五星占比", "above_line": "高于25%",
    "stars_1": "一星", "stars_2": "二星", "stars_3": "三星", "stars_4": "四星", "stars_5": "五星",
    "vetoed": "一票否决数", "downgraded": "降星数",
}
# the tables in page order: file name, and what the table is
FILES = {"five_star_share": "各区五星占比", "district": "各区排名", "street": "各街道排名", "city": "全市小区排名"}
TITLES = {"five_star_share": "各区五星占比（五星小区数 / 参评小区数，基准线 25%）", "district": "各区排名（按平均平安指数）",
          "street": "各街道排名（按平均平安指数）", "city": "全市小区平安星级排名"}


def build_rankings(ratings: DataFrame[Rating], compounds: DataFrame[Compound]) -> dict[str, pl.DataFrame]:
    """``city`` (one row per compound), ``district``, ``street`` and ``five_star_share``, of
    the latest rating date in ``ratings``."""
    latest = ratings.filter(pl.col(Rating.as_of) == pl.col(Rating.as_of).max())
    extra = compounds.select(pl.col(Compound.compound_id).cast(pl.String), Compound.community, Compound.grid_code)
    idx = pl.col(Rating.safety_index).round(1)

    def rank_within(*keys: str) -> pl.Expr:
        r = (-idx).rank("min")
        return pl.when((pl.col(Rating.status) != "not_rated") & idx.is_not_null()).then(
            r.over(keys) if keys else r).cast(pl.UInt32)

    city = (
        latest.join(extra, on="compound_id", how="left")
        .with_columns(idx.alias(Rating.safety_index))
        .with_columns(rank_city=rank_within(), rank_district=rank_within(Rating.district),
                      rank_street=rank_within(Rating.district, Rating.street))
        .sort(["rank_city", Rating.district, Rating.street, Rating.compound_id], nulls_last=True)
        .select("rank_city", "rank_district", "rank_street", Rating.compound_id, Rating.name,
                Rating.district, Rating.street, "community", "grid_code", Rating.safety_index,
                Rating.stars, Rating.status, Rating.rules, Rating.as_of)
    )
    district = _regions(city, [Rating.district])
    share = district.select(
        Rating.district, "compounds", "rated", "five_star", "five_star_share",
        above_line=pl.col("five_star_share") > FIVE_STAR_LINE,
    ).sort("five_star_share", Rating.district, descending=[True, False])
    return {"city": city, "district": district, "street": _regions(city, [Rating.district, Rating.street]),
            "five_star_share": share}


def _regions(city: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per-region figures, ranked by mean index (ties by five-star share)."""
    rated = pl.col("status") != "not_rated"
    count = lambda cond: cond.sum().cast(pl.UInt32)  # noqa: E731
    agg = city.group_by(keys).agg(
        compounds=pl.len().cast(pl.UInt32), rated=count(rated),
        mean_index=pl.col("safety_index").filter(rated).mean().round(1), five_star=count(pl.col("stars") == 5),
        **{f"stars_{s}": count(pl.col("stars") == s) for s in range(1, 6)},
        vetoed=count(pl.col("status") == "vetoed"), downgraded=count(pl.col("status") == "downgraded"),
    ).with_columns(five_star_share=pl.when(pl.col("rated") > 0).then(pl.col("five_star") / pl.col("rated")).round(4))
    order = pl.struct(pl.col("mean_index").fill_null(-1), pl.col("five_star_share").fill_null(-1))
    return agg.with_columns(rank=order.rank("min", descending=True).cast(pl.UInt32)).sort(["rank", *keys]).select(
        "rank", *keys, pl.exclude("rank", *keys))


def write_rankings(out_dir: Path, rankings: dict[str, pl.DataFrame], *, write_book=write_workbook) -> list[Path]:
    """The rankings as people-CSVs, one workbook (the summaries, the whole city, then a sheet
    per district with its streets: the whole-city sheet, filtered on 区, ranks a district's
    compounds) and one page, into ``out_dir``. ``write_book(path, sheets, title=...)`` writes
    the workbook (e.g. in another process, ``pipelines.background``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    city = rankings["city"]
    as_of = str(city["as_of"].max()) if city.height else ""
    rates = ["five_star_share"]
    paths = [write_people_csv(rankings[key], out_dir / f"{stem}.csv", HEADERS) for key, stem in FILES.items()]
    # the date is in every sheet's title: not 100,000 times in a column
    sheets = [sheet("全市" if key == "city" else stem, rankings[key].drop("as_of", strict=False), HEADERS, rates,
                    f"{TITLES[key]}　评定日期 {as_of}") for key, stem in FILES.items()]
    sheets += [sheet(d, rankings["street"].filter(pl.col("district") == d), HEADERS, rates,
                     f"{d} 各街道排名（本区小区：在“全市”表按“区”筛选）　评定日期 {as_of}")
               for d in rankings["district"]["district"].drop_nulls().sort()]
    write_book(out_dir / "平安星级排名.xlsx", sheets, title=f"平安星级小区排名 {as_of}")
    paths.append(out_dir / "平安星级排名.xlsx")
    tables = [page_table(stem if rankings[key].height <= PAGE_ROWS else
                         f"{stem}（前 {PAGE_ROWS} 名，全部 {rankings[key].height:,} 个见 CSV 与 Excel）", f"{stem}.csv",
                         rankings[key].drop("as_of", strict=False).head(PAGE_ROWS), HEADERS, rates)
              for key, stem in FILES.items()]
    paths.append(write_page(out_dir / "index.html", "report_tables.html", title=f"平安星级小区排名 {as_of}",
                            heading="平安星级小区排名", note=f"评定日期 {as_of} · 五星占比基准线 {FIVE_STAR_LINE:.0%}",
                            workbook="平安星级排名.xlsx", nav=[("../report/index.html", "研判报告")], tables=tables,
                            as_of=as_of))
    return paths


# --- what every ranking's files share --------------------------------------------------------
def sheet(name: str, frame: pl.DataFrame, headers: dict[str, str], rates=(), title: str | None = None) -> Sheet:
    """A workbook sheet of ``frame`` under Chinese headers, the ``rates`` (0–1) as percentages."""
    return Sheet(name, for_people(frame, headers), title, {headers[c]: "0.0%" for c in rates if c in frame.columns})


def page_table(title: str, csv: str, frame: pl.DataFrame, headers: dict[str, str], rates=()) -> dict:
    """A table of a ranking page: Chinese headers, ``rates`` as percentages, numbers marked."""
    shown = for_people(frame.with_columns(pl.format("{}%", (pl.col(c) * 100).round(1)).alias(c)
                                          for c in rates if c in frame.columns), headers)
    return {"title": title, "csv": csv, "rows": shown.rows(),
            "columns": [(c, t.is_numeric()) for c, t in zip(shown.columns, frame.schema.values())]}


def write_page(path: Path, template: str, **context) -> Path:
    path.write_text(render_template(template, **context), encoding="utf-8")
    return path
