"""The five departments' exports: file layout, headers, formats and mapping.yaml per source.

Each `build_*` turns the source's records (enriched with compound, point and text
columns) into a *role frame*: canonical roles (`record_id`, `category`, `occurred`,
`address`, `lon`, `lat`, `case_no`, `status`, `description`) as strings, plus extra export
columns under their Chinese headers, the target `file` and the truth columns. Bad rows are
planted on the role frame; `SourceSpec.headers` then renames roles to the export headers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from generator import catalog
from geo.coords import from_wgs84
from generator.text import gather_str

XLSX_MAX_ROWS = 1_000_000
ROLE_TO_CANON = {"record_id": "record_id", "category": "category", "occurred": "occurred_at",
                 "address": "address", "lon": "lon", "lat": "lat", "case_no": "police_case_no",
                 "status": "status", "description": "description", "compound": "compound_id"}
# Carried through from the records for truth/records.parquet (coord_kind is added by _coords).
TRUTH_COLS = ["incident", "compound_id", "revoked", "planted", "code", "at", "chain"]


@dataclass
class SourceSpec:
    """How one department exports: file shape, headers, date format, coordinate system."""

    name: str
    fmt: str                       # strftime pattern or "epoch_ms"
    headers: dict[str, str]        # role -> export header, in column order
    extras: list[str]              # extra export columns (already Chinese) after the roles
    encoding: str
    kind: str                      # csv | xlsx | jsonl
    coord_sys: str
    date_formats: list[str]
    categories: dict[str, str] = field(default_factory=dict)
    files: list[dict] = field(default_factory=list)
    file_headers: dict[str, dict[str, str]] = field(default_factory=dict)  # file -> role->header
    file_extras: dict[str, list[str]] = field(default_factory=dict)

    def format_date(self, at: pl.Expr) -> pl.Expr:
        if self.fmt == "epoch_ms":
            # Epoch milliseconds are instants; local time is UTC+8 (no DST in China).
            return (at.dt.replace_time_zone("Asia/Shanghai").dt.epoch("ms")).cast(pl.String)
        return at.dt.strftime(self.fmt)

    def mapping(self) -> dict:
        """mapping.yaml content, in the layout docs/CONTRACTS.md fixes."""
        valid, revoked = catalog.STATUS[self.name]
        out = {
            "source": self.name,
            "encoding": self.encoding if self.kind == "csv" else "auto",
            "date_formats": self.date_formats,
            "coord_sys": self.coord_sys,
            "columns": {h: ROLE_TO_CANON[r] for r, h in self.headers.items()},
            "categories": dict(self.categories),
            "valid_values": valid,
            "revoked_values": revoked,
            "constants": {},
        }
        if self.files:
            out["files"] = self.files
        return out


def _coords(df: pl.DataFrame, systems: pl.Series) -> pl.DataFrame:
    """lon/lat strings in each row's coordinate system (6 decimals), empty where none."""
    lon_w = df["lon_w"].to_numpy()
    lat_w = df["lat_w"].to_numpy()
    lon = np.full(df.height, np.nan)
    lat = np.full(df.height, np.nan)
    sys_np = systems.to_numpy()
    for s in ("WGS84", "GCJ02", "BD09"):
        m = sys_np == s
        if m.any():
            lon[m], lat[m] = from_wgs84(lon_w[m], lat_w[m], s)
    out = pl.DataFrame({"lon": lon, "lat": lat}).with_columns(pl.all().fill_nan(None))
    return out.select(pl.format("{}", pl.col(c).round(6)).alias(c) for c in ("lon", "lat")).with_columns(
        coord_kind=pl.when(pl.col("lon").is_null()).then(pl.lit("none"))
        .otherwise(systems.str.to_lowercase()))


def _status(rng: np.random.Generator, source: str, revoked: pl.Series) -> pl.Series:
    valid, bad = catalog.STATUS[source]
    n = revoked.len()
    i = np.where(revoked.to_numpy(), len(valid) + rng.integers(0, len(bad), n), rng.integers(0, len(valid), n))
    return gather_str(valid + bad, i)


def _seq(by: list[str] | str) -> pl.Expr:
    return (pl.int_range(pl.len()).over(by) + 1).cast(pl.String)


def police_coord_sys(months: list[str]) -> dict[str, str]:
    """Coordinate system of each monthly police file: mostly GCJ-02, some WGS-84 and BD-09."""
    return {m: ("WGS84" if i % 5 == 1 else "BD09" if i % 5 == 3 else "GCJ02") for i, m in enumerate(months)}


def build_police(rng: np.random.Generator, df: pl.DataFrame) -> tuple[pl.DataFrame, SourceSpec]:
    df = df.sort("at", "incident")
    month = df["at"].dt.strftime("%Y-%m")
    months = month.unique(maintain_order=True).to_list()
    sys_by_month = police_coord_sys(months)
    systems = month.replace_strict(sys_by_month, return_dtype=pl.String)
    coords = _coords(df, systems)
    spec = SourceSpec(
        name="police", fmt="%Y/%m/%d %H:%M", encoding="gb18030", kind="csv", coord_sys="GCJ02",
        date_formats=["%Y/%m/%d %H:%M", "%Y/%m/%d"],
        headers={"record_id": "警情编号", "occurred": "报警时间", "category": "警情类别", "address": "发生地址",
                 "lon": "经度", "lat": "纬度", "case_no": "案件编号", "status": "处理状态",
                 "description": "简要警情"},
        extras=["接警单位", "处警民警"],
        categories={code: uni for uni, (code, _) in catalog.POLICE.items()},
        files=[{"pattern": f"警情_{m}.csv", "coord_sys": s} for m, s in sys_by_month.items() if s != "GCJ02"],
    )
    out = df.select(
        *TRUTH_COLS,
        file=pl.format("警情_{}.csv", month),
        record_id=pl.format("JQ{}{}", pl.col("at").dt.strftime("%Y%m"),
                            _seq(pl.col("at").dt.strftime("%Y-%m")).str.zfill(7)),
        category="label", occurred=spec.format_date(pl.col("at")), address="address",
        case_no="case_no", status=_status(rng, "police", df["revoked"]), description="description",
        接警单位=pl.col("street").str.replace("(街道|镇)$", "") + pl.lit("派出所"),
        处警民警="officer",
    ).with_columns(coords)
    return out, spec


def build_procuratorate(rng: np.random.Generator, df: pl.DataFrame) -> tuple[pl.DataFrame, SourceSpec]:
    df = df.sort("at", "incident")
    coords = _coords(df, pl.Series(["WGS84"] * df.height, dtype=pl.String))
    spec = SourceSpec(
        name="procuratorate", fmt="%Y%m%d", encoding="auto", kind="xlsx", coord_sys="WGS84",
        date_formats=["%Y%m%d"],
        headers={"record_id": "受案号", "category": "案由", "occurred": "案发日期", "address": "案发地点",
                 "lon": "经度", "lat": "纬度", "case_no": "公安案件编号", "status": "案件状态",
                 "description": "简要案情"},
        extras=["承办检察官"],
        files=[{"pattern": "*.xlsx", "sheet": 0}],
    )
    year = pl.col("at").dt.year().cast(pl.String)
    # One workbook per year, split further below Excel's 1,048,576-row sheet limit.
    part = pl.int_range(pl.len()).over(pl.col("at").dt.year()) // XLSX_MAX_ROWS
    out = df.select(
        *TRUTH_COLS,
        file=pl.format("检察院受案登记_{}{}.xlsx", year,
                       pl.when(part > 0).then(pl.format("_{}", part + 1)).otherwise(pl.lit(""))),
        record_id=pl.format("厦{}检刑受〔{}〕{}号", pl.col("district").str.slice(0, 1), year,
                            _seq([pl.col("district"), pl.col("at").dt.year()])),
        category="label", occurred=spec.format_date(pl.col("at")), address="address", case_no="case_no",
        status=_status(rng, "procuratorate", df["revoked"]), description="description",
        承办检察官="officer",
    ).with_columns(coords)
    return out, spec


def build_court(rng: np.random.Generator, df: pl.DataFrame) -> tuple[pl.DataFrame, SourceSpec]:
    df = df.sort("at", "incident")
    crim = pl.col("kind") == "criminal"
    coords = _coords(df, pl.Series(["WGS84"] * df.height, dtype=pl.String))
    civil_file = "民事案件_立案登记.csv"
    spec = SourceSpec(
        name="court", fmt="%Y-%m-%d", encoding="utf-8-sig", kind="csv", coord_sys="WGS84",
        date_formats=["%Y-%m-%d", "%Y/%m/%d"],
        headers={"record_id": "案号", "category": "罪名", "occurred": "案发日期", "address": "案发地点",
                 "lon": "经度", "lat": "纬度", "case_no": "公安案件编号", "status": "审理状态",
                 "description": "案情摘要"},
        extras=["审判长"],
        files=[{"pattern": "民事*.csv", "columns": {"案号": "record_id", "案由": "category", "立案日期": "occurred_at",
                                                   "当事人住址": "address", "结案方式": "status",
                                                   "案情摘要": "description"}}],
        file_headers={civil_file: {"record_id": "案号", "category": "案由", "occurred": "立案日期",
                                   "address": "当事人住址", "status": "结案方式", "description": "案情摘要"}},
        file_extras={civil_file: []},
    )
    year = pl.col("at").dt.year().cast(pl.String)
    kind_word = pl.when(crim).then(pl.lit("刑初")).otherwise(pl.lit("民初"))
    out = df.select(
        *TRUTH_COLS,
        file=pl.when(crim).then(pl.lit("刑事案件_判决信息.csv")).otherwise(pl.lit(civil_file)),
        record_id=pl.format("（{}）闽{}{}{}号", year, pl.col("district_code").str.slice(2, 4), kind_word,
                            _seq([pl.col("district_code"), pl.col("at").dt.year(), pl.col("kind")])),
        category="label",
        occurred=pl.when(crim).then(spec.format_date(pl.col("at"))).otherwise(pl.col("at").dt.strftime("%Y/%m/%d")),
        address="address", case_no="case_no", status=_status(rng, "court", df["revoked"]),
        description="description", 审判长="officer", kind="kind",
    ).with_columns(coords).with_columns(
        # Civil files have no coordinate columns at all.
        [pl.when(crim).then(pl.col(c)).alias(c) for c in ("lon", "lat")],
    ).with_columns(coord_kind=pl.when(pl.col("lon").is_null()).then(pl.lit("none")).otherwise("coord_kind"))
    return out.drop("kind"), spec


def build_justice(rng: np.random.Generator, df: pl.DataFrame) -> tuple[pl.DataFrame, SourceSpec]:
    df = df.sort("at", "incident")
    coords = _coords(df, pl.Series(["GCJ02"] * df.height, dtype=pl.String))
    spec = SourceSpec(
        name="justice", fmt="epoch_ms", encoding="auto", kind="jsonl", coord_sys="GCJ02",
        date_formats=["epoch_ms"],
        headers={"record_id": "编号", "category": "类型", "occurred": "登记时间", "address": "住址",
                 "compound": "小区编码", "lon": "经度", "lat": "纬度", "status": "状态", "description": "情况说明"},
        extras=["承办人"],
        categories={label: code for code, label, _ in catalog.JUSTICE},
    )
    year = pl.col("at").dt.year().cast(pl.String)
    knows = pl.Series(rng.random(df.height) < 0.5)
    out = df.select(
        *TRUTH_COLS,
        file=pl.format("司法局_调解矫正帮教_{}.jsonl", year),
        record_id=pl.format("SF{}{}", year, _seq(pl.col("at").dt.year()).str.zfill(7)),
        category="label", occurred=spec.format_date(pl.col("at")), address="address",
        compound=pl.when(knows).then(pl.col("compound_id")), case_no=pl.lit(None, pl.String),
        status=_status(rng, "justice", df["revoked"]), description="description", 承办人="officer",
    ).with_columns(coords)
    return out, spec


def build_petition(rng: np.random.Generator, df: pl.DataFrame) -> tuple[pl.DataFrame, SourceSpec]:
    df = df.sort("at", "incident")
    coords = _coords(df, pl.Series(["BD09"] * df.height, dtype=pl.String))
    spec = SourceSpec(
        name="petition", fmt="%Y年%-m月%-d日", encoding="utf-8", kind="csv", coord_sys="BD09",
        date_formats=["%Y年%m月%d日"],
        headers={"record_id": "信访件编号", "occurred": "登记日期", "category": "内容分类", "address": "问题属地",
                 "lon": "经度", "lat": "纬度", "status": "办理状态", "description": "信访内容"},
        extras=["信访人", "联系电话", "是否集体访", "是否重复访"],
    )
    out = df.select(
        *TRUTH_COLS,
        file=pl.lit("信访事项登记表.csv"),
        record_id=pl.format("XF{}{}", pl.col("at").dt.strftime("%Y%m%d"),
                            _seq(pl.col("at").dt.date()).str.zfill(4)),
        category="label", occurred=spec.format_date(pl.col("at")), address="address",
        case_no=pl.lit(None, pl.String), status=_status(rng, "petition", df["revoked"]),
        description="description", 信访人="person", 联系电话="phone",
        是否集体访=pl.when(pl.col("code") == "petition_mass").then(pl.lit("是")).otherwise(pl.lit("否")),
        # A repeat petition: the same kind of matter from the same compound was raised before.
        是否重复访=pl.when(pl.int_range(pl.len()).over("cidx", "code") > 0).then(pl.lit("是")).otherwise(pl.lit("否")),
    ).with_columns(coords)
    return out, spec


BUILDERS: dict[str, Callable[[np.random.Generator, pl.DataFrame], tuple[pl.DataFrame, SourceSpec]]] = {
    "police": build_police, "procuratorate": build_procuratorate, "court": build_court,
    "justice": build_justice, "petition": build_petition,
}


def export_frame(roles: pl.DataFrame, spec: SourceSpec, file: str) -> pl.DataFrame:
    """The rows of one file under their export headers, in export column order."""
    headers = spec.file_headers.get(file, spec.headers)
    extras = spec.file_extras.get(file, spec.extras)
    return roles.select([pl.col(r).alias(h) for r, h in headers.items()] + [pl.col(e) for e in extras])


def month_range(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
