"""Rankings by safety index: city, district and street, and the five-star share per district.

The five-star share per district is the programme's headline figure (every district above
25%). Ranks are dense within ties of the index rounded to one decimal; compounds that are
not rated carry no rank and sort last. Writers give CSV and Excel through `reports.excel`
(BOM and Chinese headers; the whole city and one sheet per district) and zh-CN HTML.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl
from pandera.typing.polars import DataFrame

from reports.excel import Sheet, for_people, write_people_csv, write_workbook
from schemas.ratings import Rating
from schemas.registry import Compound

FIVE_STAR_LINE = 0.25


# English frame columns → Chinese headers of every written file
HEADERS = {
    "rank_city": "全市排名", "rank_district": "区内排名", "rank_street": "街道内排名",
    "rank": "排名", "compound_id": "小区编号", "name": "小区名称", "district": "区",
    "street": "街道", "community": "社区", "grid_code": "网格编码", "safety_index": "平安指数",
    "stars": "星级", "status": "状态", "rules": "触发规则", "as_of": "评定日期",
    "compounds": "小区数", "rated": "参评小区数", "mean_index": "平均平安指数",
    "five_star": "五星小区数", "five_star_share": "五星占比", "above_line": "高于25%",
    "stars_1": "一星", "stars_2": "二星", "stars_3": "三星", "stars_4": "四星", "stars_5": "五星",
    "vetoed": "一票否决数", "downgraded": "降星数",
}

FILES = {"city": "全市小区排名", "district": "各区排名", "street": "各街道排名",
         "five_star_share": "各区五星占比"}


def build_rankings(ratings: DataFrame[Rating], compounds: DataFrame[Compound]) -> dict[str, pl.DataFrame]:
    """``city`` (one row per compound), ``district``, ``street`` and ``five_star_share``.

    Uses the latest rating date in ``ratings``.
    """
    latest = ratings.filter(pl.col(Rating.as_of) == pl.col(Rating.as_of).max())
    extra = compounds.select(
        pl.col(Compound.compound_id).cast(pl.String), Compound.community, Compound.grid_code)
    idx = pl.col(Rating.safety_index).round(1)
    rated = pl.col(Rating.status) != "not_rated"

    def rank_within(*keys: str) -> pl.Expr:
        r = (-idx).rank("min")
        r = r.over(keys) if keys else r
        return pl.when(rated & idx.is_not_null()).then(r).cast(pl.UInt32)

    city = (
        latest.join(extra, on="compound_id", how="left")
        .with_columns(idx.alias(Rating.safety_index))
        .with_columns(
            rank_within().alias("rank_city"),
            rank_within(Rating.district).alias("rank_district"),
            rank_within(Rating.district, Rating.street).alias("rank_street"),
        )
        .sort(["rank_city", Rating.district, Rating.street, Rating.compound_id], nulls_last=True)
        .select("rank_city", "rank_district", "rank_street", Rating.compound_id, Rating.name,
                Rating.district, Rating.street, "community", "grid_code", Rating.safety_index,
                Rating.stars, Rating.status, Rating.rules, Rating.as_of)
    )
    district = _regions(city, [Rating.district])
    street = _regions(city, [Rating.district, Rating.street])
    share = district.select(
        Rating.district, "compounds", "rated", "five_star", "five_star_share",
        (pl.col("five_star_share") > FIVE_STAR_LINE).alias("above_line"),
    ).sort("five_star_share", Rating.district, descending=[True, False])
    return {"city": city, "district": district, "street": street, "five_star_share": share}


def _regions(city: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per-region figures, ranked by mean index (ties by five-star share)."""
    rated = pl.col("status") != "not_rated"
    agg = city.group_by(keys).agg(
        pl.len().cast(pl.UInt32).alias("compounds"),
        rated.sum().cast(pl.UInt32).alias("rated"),
        pl.col("safety_index").filter(rated).mean().round(1).alias("mean_index"),
        (pl.col("stars") == 5).sum().cast(pl.UInt32).alias("five_star"),
        *[(pl.col("stars") == s).sum().cast(pl.UInt32).alias(f"stars_{s}") for s in range(1, 6)],
        (pl.col("status") == "vetoed").sum().cast(pl.UInt32).alias("vetoed"),
        (pl.col("status") == "downgraded").sum().cast(pl.UInt32).alias("downgraded"),
    ).with_columns(
        pl.when(pl.col("rated") > 0).then(pl.col("five_star") / pl.col("rated"))
        .round(4).alias("five_star_share"),
    )
    order = pl.struct(pl.col("mean_index").fill_null(-1), pl.col("five_star_share").fill_null(-1))
    agg = agg.with_columns(order.rank("min", descending=True).cast(pl.UInt32).alias("rank"))
    return agg.sort(["rank", *keys]).select("rank", *keys, pl.exclude("rank", *keys))


def _zh(df: pl.DataFrame) -> pl.DataFrame:
    """Chinese statuses, rules and headers for the written files."""
    if "above_line" in df.columns:
        df = df.with_columns(pl.when(pl.col("above_line")).then(pl.lit("是")).otherwise(pl.lit("否"))
                             .alias("above_line"))
    return for_people(df, HEADERS)


def write_rankings(out_dir: Path, rankings: dict[str, pl.DataFrame]) -> list[Path]:
    """Write the rankings as CSV (for Excel), one Excel workbook and one HTML page into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [write_people_csv(_zh(rankings[key]), out_dir / f"{stem}.csv") for key, stem in FILES.items()]
    paths.append(_write_excel(out_dir / "平安星级排名.xlsx", rankings))
    paths.append(_write_html(out_dir / "index.html", rankings))
    return paths


def _as_of(rankings) -> str:
    city = rankings["city"]
    return str(city["as_of"].max()) if city.height else ""


def _write_excel(path: Path, rankings: dict[str, pl.DataFrame]) -> Path:
    """Summary sheets, the whole city, then one sheet per district; each with a title row."""
    as_of = _as_of(rankings)
    share = {HEADERS["five_star_share"]: "0.0%"}
    sheets = [
        Sheet("各区五星占比", _zh(rankings["five_star_share"]), f"各区五星占比（五星小区数 / 参评小区数，基准线 25%）　评定日期 {as_of}", share),
        Sheet("各区排名", _zh(rankings["district"]), f"各区排名（按平均平安指数）　评定日期 {as_of}", share),
        Sheet("各街道排名", _zh(rankings["street"]), f"各街道排名（按平均平安指数）　评定日期 {as_of}", share),
        Sheet("全市", _zh(rankings["city"]), f"全市小区平安星级排名　评定日期 {as_of}"),
    ]
    city = rankings["city"]
    for d in city["district"].unique().sort().to_list():
        frame = city.filter(pl.col("district") == d).sort("rank_district", "compound_id", nulls_last=True)
        sheets.append(Sheet(d, _zh(frame), f"{d} 小区平安星级排名　评定日期 {as_of}"))
    return write_workbook(path, sheets, title=f"平安星级小区排名 {as_of}")


def _write_html(path: Path, rankings: dict[str, pl.DataFrame]) -> Path:
    from reports.analyst import jinja_env  # the one template environment

    tables = []
    for key, stem in [("five_star_share", FILES["five_star_share"]), ("district", FILES["district"]),
                      ("street", FILES["street"]), ("city", FILES["city"])]:
        frame = rankings[key]
        if "five_star_share" in frame.columns:  # a percentage reads better on the page
            frame = frame.with_columns(pl.format("{}%", (pl.col("five_star_share") * 100).round(1))
                                       .alias("five_star_share"))
        zh = _zh(frame.drop("as_of", strict=False))  # the date heads the page
        numeric = [zh.schema[c].is_numeric() for c in zh.columns]
        tables.append({"title": stem, "csv": f"{stem}.csv", "columns": list(zip(zh.columns, numeric)),
                       "rows": zh.iter_rows()})
    html = jinja_env().get_template("report_rankings.html").render(
        as_of=_as_of(rankings), tables=tables, line=FIVE_STAR_LINE)
    path.write_text(html, encoding="utf-8")
    return path
