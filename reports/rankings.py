"""Rankings by safety index: city, district and street, and the five-star share per district.

The five-star share per district is the programme's headline figure (every district above
25%). Ranks are dense within ties of the index rounded to one decimal; compounds that are
not rated carry no rank and sort last. Writers give CSV (UTF-8 with BOM, so Excel opens
the Chinese headers), Excel (one sheet per district, frozen headers) and zh-CN HTML.
"""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter
from markupsafe import Markup
from pandera.typing.polars import DataFrame

from reports.table_markup import fill_sheets, html_rows
from schemas.ratings import Rating
from schemas.registry import Compound

FIVE_STAR_LINE = 0.25

STATUS_ZH = {"rated": "已评定", "downgraded": "降星", "vetoed": "一票否决", "not_rated": "未评定"}

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
    """Chinese statuses and headers for the written files."""
    if "status" in df.columns:
        df = df.with_columns(pl.col("status").replace_strict(STATUS_ZH, default=pl.col("status")))
    if "above_line" in df.columns:
        df = df.with_columns(pl.when(pl.col("above_line")).then(pl.lit("是")).otherwise(pl.lit("否"))
                             .alias("above_line"))
    return df.rename({c: HEADERS.get(c, c) for c in df.columns})


def _sheet_name(name: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    out, k = clean, 2
    while out in used:
        out = f"{clean[:28]}_{k}"
        k += 1
    used.add(out)
    return out


def write_rankings(out_dir: Path, rankings: dict[str, pl.DataFrame]) -> list[Path]:
    """Write the rankings as CSV, one Excel workbook and one HTML page into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, stem in FILES.items():
        path = out_dir / f"{stem}.csv"
        _zh(rankings[key]).write_csv(path, include_bom=True)
        paths.append(path)
    paths.append(_write_excel(out_dir / "平安星级排名.xlsx", rankings))
    paths.append(_write_html(out_dir / "index.html", rankings))
    return paths


def _as_of(rankings) -> str:
    city = rankings["city"]
    return str(city["as_of"].max()) if city.height else ""


def _write_excel(path: Path, rankings: dict[str, pl.DataFrame]) -> Path:
    """Summary sheets, then one sheet per district; a title row and a frozen header row.

    The district sheets hold every compound of the city: XlsxWriter lays out each sheet
    (title, header, table, formats, widths) and writes its first data row, whose cell
    styles ``table_markup.fill_sheets`` then reuses for all rows, built in bulk."""
    as_of = _as_of(rankings)
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer)
    # fixed metadata so the same ratings give the same bytes
    wb.set_properties({"title": f"平安星级小区排名 {as_of}", "created": datetime(2000, 1, 1)})
    title_fmt = wb.add_format({"bold": True, "font_size": 13})
    used: set[str] = set()
    for name, frame, title in [
            ("各区五星占比", rankings["five_star_share"], "各区五星占比（五星小区数 / 参评小区数，基准线 25%）"),
            ("各区排名", rankings["district"], "各区排名（按平均平安指数）"),
            ("各街道排名", rankings["street"], "各街道排名（按平均平安指数）")]:
        sheet = _sheet_name(name, used)
        zh = _zh(frame.with_columns(pl.col(pl.Date).cast(pl.String)))
        formats = {HEADERS["five_star_share"]: "0.0%"} if "five_star_share" in frame.columns else None
        zh.write_excel(workbook=wb, worksheet=sheet, position="A2", autofit=True,
                       table_style="Table Style Light 9", freeze_panes=(2, 0),
                       column_formats=formats, float_precision=1)
        wb.get_worksheet_by_name(sheet).write(0, 0, f"{title}　评定日期 {as_of}", title_fmt)
    fills = {}
    city = rankings["city"]
    for d in city["district"].unique().sort().to_list():
        frame = city.filter(pl.col("district") == d).sort("rank_district", "compound_id", nulls_last=True)
        zh = _zh(frame.with_columns(pl.col(pl.Date).cast(pl.String)))
        ws = _district_sheet(wb, _sheet_name(d, used), zh, f"{d} 小区平安星级排名　评定日期 {as_of}", title_fmt)
        fills[f"xl/worksheets/sheet{wb.worksheets().index(ws) + 1}.xml"] = zh
    wb.close()
    path.write_bytes(fill_sheets(buffer.getvalue(), fills, template_row=3))
    return path


def _district_sheet(wb: xlsxwriter.Workbook, sheet: str, zh: pl.DataFrame, title: str, title_fmt):
    """A district's sheet laid out, with its first data row only (the rest is filled in)."""
    ws = wb.add_worksheet(sheet)
    ws.write(0, 0, title, title_fmt)
    formats = []
    for name, dtype in zh.schema.items():
        if dtype.is_float():
            formats.append(wb.add_format({"num_format": "#,##0.0", "valign": "vcenter"}))
        elif dtype.is_integer():
            formats.append(wb.add_format({"num_format": "#,##0", "valign": "vcenter"}))
        else:
            formats.append(wb.add_format({"valign": "vcenter"}))
    ws.add_table(1, 0, 1 + max(zh.height, 1), zh.width - 1, {
        "columns": [{"header": c, "format": f} for c, f in zip(zh.columns, formats)],
        "style": "Table Style Light 9"})
    for k, (value, fmt) in enumerate(zip(zh.row(0) if zh.height else [None] * zh.width, formats)):
        if value is None:
            ws.write_blank(2, k, None, fmt)
        elif isinstance(value, str):
            ws.write_string(2, k, value, fmt)  # never a formula, whatever the text
        else:
            ws.write_number(2, k, value, fmt)
    # widths from the longest text of each column (a CJK character counts double), not an
    # autofit pass over every cell
    for k, name in enumerate(zh.columns):
        text = zh[name].cast(pl.String).fill_null("")
        wide = (text.str.len_bytes() - text.str.len_chars()) // 2   # 3-byte UTF-8 ≈ double width
        longest = max(int((text.str.len_chars() + wide).max() or 0), 2 * len(name))
        ws.set_column(k, k, min(60, longest * 1.1 + 2))
    ws.freeze_panes(2, 0)
    return ws


def _write_html(path: Path, rankings: dict[str, pl.DataFrame]) -> Path:
    from reports.analyst import jinja_env  # the one template environment

    tables = []
    for key, stem in [("five_star_share", FILES["five_star_share"]), ("district", FILES["district"]),
                      ("street", FILES["street"]), ("city", FILES["city"])]:
        frame = rankings[key]
        if "five_star_share" in frame.columns:  # a percentage reads better on the page
            frame = frame.with_columns(pl.format("{}%", (pl.col("five_star_share") * 100).round(1))
                                       .alias("five_star_share"))
        zh = _zh(frame)
        tables.append({"title": stem, "csv": f"{stem}.csv", "columns": zh.columns,
                       "body": Markup(html_rows(zh))})
    html = jinja_env().get_template("report_rankings.html").render(
        as_of=_as_of(rankings), tables=tables, line=FIVE_STAR_LINE)
    path.write_text(html, encoding="utf-8")
    return path
