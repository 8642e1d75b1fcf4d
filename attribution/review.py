"""The review queue as analysts see it, and the decisions they send back.

The queue is written for people (`reports.excel`: a CSV Excel opens correctly on Chinese
Windows, with no cell that could run as a formula, and a workbook), with Chinese headers; analysts fill in a decisions file (CSV or Excel)
of `source, record_id, compound_id`, where an empty compound_id or `NONE` means "this
record is in no compound". Decisions are read on every run, so they are kept.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl
from pandera.typing.polars import DataFrame

from reports.excel import Sheet, write_people_csv, write_workbook
from schemas.events import ReviewItem

DECISION_COLUMNS = ["source", "record_id", "compound_id"]
# Headers analysts may use instead of the English ones.
_HEADER_ALIASES = {
    "来源": "source", "部门": "source", "source": "source",
    "记录编号": "record_id", "record_id": "record_id", "编号": "record_id",
    "小区编号": "compound_id", "compound_id": "compound_id", "决定小区编号": "compound_id",
}
REVIEW_HEADERS_ZH = {
    "event_id": "事件编号",
    "source": "来源",
    "record_id": "记录编号",
    "reason": "原因",
    "address": "地址",
    "lon_wgs84": "经度(WGS84)",
    "lat_wgs84": "纬度(WGS84)",
    "chosen_compound_id": "当前归属小区",
    "candidates": "候选小区(编号:得分:方法)",
}
# A reviewer works through a few thousand events between two nights: the workbook holds the
# queue's first rows (resolved ones leave the queue), the CSV beside it every row. At
# 100,000 compounds the queue is about 140,000 events, ~9 CPU-s a night to write as a workbook.
WORKBOOK_ROWS = 5_000
REASONS_ZH = {"unmatched": "未匹配", "disagreement": "证据不一致", "low_confidence": "置信度低"}


def _decode(data: bytes) -> str:
    # Excel on a Chinese Windows saves "CSV" as GB18030/GBK; everything else is UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("neither UTF-8 nor GB18030 text")


def read_decisions(path: Path) -> pl.DataFrame:
    """Analyst decisions as `source, record_id, compound_id` (all strings, compound_id may be
    null = "in no compound"). Raises ValueError with the reason for an unusable file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: decisions file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            raw = pl.read_csv(_decode(path.read_bytes()).encode("utf-8"), infer_schema=False)
        elif suffix in (".xlsx", ".xls"):
            raw = pl.read_excel(path, infer_schema_length=0)
        else:
            raise ValueError(f"{path}: decisions must be .csv or .xlsx, not {suffix or 'no extension'}")
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"{path}: cannot read decisions ({type(exc).__name__}: {exc})") from exc
    renamed = {c: _HEADER_ALIASES[c.strip().lstrip("\ufeff")] for c in raw.columns
               if c.strip().lstrip("\ufeff") in _HEADER_ALIASES}
    raw = raw.rename(renamed)
    missing = [c for c in DECISION_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: decisions file lacks column(s) {missing}; found {raw.columns}")
    out = raw.select(
        pl.col(c).cast(pl.String).str.strip_chars() for c in DECISION_COLUMNS
    ).with_columns(pl.when(pl.col("compound_id") == "").then(None).otherwise(pl.col("compound_id")).alias("compound_id"))
    bad = out.filter(pl.col("source").is_null() | (pl.col("source") == "") | pl.col("record_id").is_null() | (pl.col("record_id") == ""))
    if bad.height == out.height and out.height > 0:
        raise ValueError(f"{path}: no decision row has both source and record_id")
    return out.filter(~(pl.col("source").is_null() | (pl.col("source") == "") | pl.col("record_id").is_null() | (pl.col("record_id") == "")))


def write_review_queue(review: DataFrame[ReviewItem], out_dir: Path, stem: str = "review_queue") -> list[Path]:
    """Write the queue as `<stem>.csv` (every row) and `<stem>.xlsx` (the first
    `WORKBOOK_ROWS`, as its sheet's tab says) for people; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cols = [c for c in REVIEW_HEADERS_ZH if c in review.columns]
    table = review.select(cols).with_columns(pl.col("reason").replace(REASONS_ZH))
    csv_path = write_people_csv(table, out_dir / f"{stem}.csv", REVIEW_HEADERS_ZH)
    # the header stays on the first row (analysts sort and filter it); a cut queue says so on its tab
    name, title = "待复核", "待复核事件（归属存疑或未匹配）"
    if table.height > WORKBOOK_ROWS:
        name = f"待复核 前{WORKBOOK_ROWS:,}条 共{table.height:,}条"
        title += f"：共 {table.height:,} 条，本表为前 {WORKBOOK_ROWS:,} 条，全部见 {csv_path.name}"
    xlsx_path = write_workbook(out_dir / f"{stem}.xlsx",
                               [Sheet(name, table.head(WORKBOOK_ROWS).rename(REVIEW_HEADERS_ZH, strict=False))], title=title)
    return [csv_path, xlsx_path]
