"""Files analysts open in Excel on a Chinese desktop: the one writer of people-CSVs and of
workbooks, and the Chinese words they use.

A people-CSV is UTF-8 with a BOM (Excel on Chinese Windows otherwise reads it as GBK and
garbles every name) under Chinese headers, and every text cell that Excel would take for a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading
apostrophe (OWASP "CSV injection"). Machine-readable CSVs are written beside these by their
own assets.

Workbooks (xlsxwriter, constant memory) keep text as text, never a formula or a link; widths
count East Asian wide characters as two.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import polars as pl
import polars.selectors as cs
import xlsxwriter

from ingest.taxonomy import load_taxonomy
from schemas.events import SOURCE_ZH as SOURCE_ZH_CONTRACT

MAX_WIDTH = 60
_FORMULA_START = r"^([=+\-@\t\r])"
# characters of East Asian width W or F (CJK, Hangul, kana, full-width forms, CJK extensions)
_WIDE = ("[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3"
         "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\U00020000-\U0003fffd]")
# the people-CSV beside each machine-readable one (same folder)
PEOPLE_CSV = {"ratings": "评级结果.csv", "data_quality": "数据质量.csv", "quarantine": "隔离记录.csv",
              "file_ledger": "文件台账.csv"}
# fixed metadata: the same frames give the same bytes
_CREATED = datetime(2000, 1, 1)

HEADERS_ZH = {
    # ratings
    "compound_id": "小区编号", "name": "小区名称", "district": "区", "street": "街道", "community": "社区",
    "grid_code": "网格编码", "safety_index": "平安指数", "stars": "星级", "status": "状态",
    "rules": "触发规则", "ruleset_version": "规则版本", "as_of": "评定日期",
    # file ledger and quarantine
    "source": "来源", "file": "文件", "file_sha256": "文件校验值(SHA-256)", "rows_read": "读取记录",
    "rows_accepted": "入库记录", "rows_quarantined": "隔离记录", "error": "错误", "ingested_at": "入库时间",
    "line": "行号", "record_id": "记录编号", "field": "字段", "reason": "原因", "value": "原值",
    # data quality
    "files": "文件数", "files_loaded": "已入库文件", "files_rejected": "拒收文件",
    "files_skipped_duplicate": "重复文件", "superseded": "被替换版本", "records": "现存记录",
    "records_revoked": "已撤销", "incidents": "事件数", "chains_linked": "跨部门串联",
    "records_in_chains": "串联记录", "rows": "读取记录", "accepted": "入库记录", "quarantined": "隔离记录",
    "rejected_files": "拒收文件",
    # match rates
    "events": "事件数", "matched": "已归属", "excluded": "排除", "review": "待核查", "rate": "归属率",
}
REASON_ZH = {
    "missing_id": "缺少编号", "duplicate_id": "重复编号", "bad_date": "日期无效", "future_date": "未来日期",
    "bad_type": "类型错误", "out_of_bbox": "坐标越界", "unknown_category": "未知类别",
    "invalid_status": "状态无效", "ragged_row": "列数不符", "bad_quote": "引号错误",
    "line_too_long": "行过长", "unreadable_row": "无法读取", "not_an_object": "非对象", "bad_json": "JSON 错误",
}
METHOD_ZH = {"explicit": "部门指定", "decision": "人工判定", "polygon": "落入小区范围", "address": "地址匹配",
             "nearest": "最近小区", "unmatched": "未匹配", "excluded": "排除"}
STATUS_ZH = {"rated": "已评定", "downgraded": "降星", "vetoed": "一票否决", "not_rated": "未评定",
             "loaded": "已入库", "rejected": "拒收", "skipped_duplicate": "重复跳过"}
SOURCE_ZH = {**SOURCE_ZH_CONTRACT, "intake": "群众需求"}
RULE_KIND_ZH = {"veto": "一票否决", "downgrade": "降星", "stable": "星级稳定"}


def column_zh(code: str) -> str:
    """The Chinese header of a column code (the code itself when there is none)."""
    if code.startswith("quarantined_"):
        reason = code[len("quarantined_"):]
        return f"隔离·{REASON_ZH.get(reason, reason)}"
    if code.startswith("n_") and code[2:] in METHOD_ZH:
        return f"方式·{METHOD_ZH[code[2:]]}"
    return HEADERS_ZH.get(code) or REASON_ZH.get(code, code)


@cache
def category_zh() -> dict[str, str]:
    """Unified category code → its Chinese name (config/taxonomy.yaml)."""
    return dict(load_taxonomy().categories.select("code", "name_zh").rows())


def rules_zh(rules: str | None) -> str:
    """``veto:homicide|downgrade:burglary`` → ``一票否决·故意杀人，降星·入室盗窃``."""
    names = category_zh()
    parts = [rule.partition(":") for rule in (rules or "").split("|") if rule]
    return "，".join(f"{RULE_KIND_ZH.get(k, k)}·{names.get(c, c)}" if c else RULE_KIND_ZH.get(k, k)
                    for k, _, c in parts)


def for_people(frame: pl.DataFrame, headers: dict[str, str] | None = None) -> pl.DataFrame:
    """Chinese statuses, sources, reasons, rules, yes/no and headers (``headers`` before the shared ones)."""
    fixes = [pl.col(c).cast(pl.String).replace(vocab) for c, vocab in
             (("status", STATUS_ZH), ("source", SOURCE_ZH), ("reason", REASON_ZH)) if c in frame.columns]
    fixes.append(cs.boolean().replace_strict({True: "是", False: "否"}, return_dtype=pl.String))
    if frame.schema.get("rules") == pl.String:
        codes = frame["rules"].drop_nulls().unique().to_list()
        fixes.append(pl.col("rules").replace_strict({c: rules_zh(c) for c in codes}, default=None))
    return frame.with_columns(fixes).rename({c: (headers or {}).get(c) or column_zh(c) for c in frame.columns})


def write_people_csv(frame: pl.DataFrame, path: Path, headers: dict[str, str] | None = None) -> Path:
    """``frame`` as a CSV for Excel on Chinese Windows: BOM, Chinese headers, no formulas."""
    text = (cs.string() | cs.categorical() | cs.enum()).cast(pl.String)
    for_people(frame, headers).with_columns(text.str.replace(_FORMULA_START, "'$1")).write_csv(path, include_bom=True)
    return Path(path)


@dataclass
class Sheet:
    """One frame (headers already as people read them) and how to lay it out."""

    name: str
    frame: pl.DataFrame
    title: str | None = None
    formats: dict[str, str] = field(default_factory=dict)  # column -> Excel number format


def write_workbook(path: Path, sheets: list[Sheet], *, title: str = "") -> Path:
    """Write ``sheets`` into the workbook ``path`` (replaced); returns the path. Per sheet: the
    title row if any, a bold header row kept in view, an autofilter, widths from the text, and
    a landscape A4 print set-up one page wide with the title and header rows repeated."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    wb.set_properties({"title": title, "created": _CREATED})
    header = wb.add_format({"bold": True, "bg_color": "#EEF2F6", "border": 1})
    title_format = wb.add_format({"bold": True, "font_size": 13})
    number_format = cache(lambda spec: spec and wb.add_format({"num_format": spec}))
    used: set[str] = set()
    for sheet in sheets:
        frame, top = _cells(sheet.frame), 1 if sheet.title else 0
        if frame.height + top >= 1_048_576:  # Excel's last row: xlsxwriter would drop the rest unsaid
            raise ValueError(f"{path}: sheet {sheet.name} has {frame.height:,} rows, more than Excel holds")
        ws = wb.add_worksheet(_sheet_name(sheet.name, used))
        for k, (width, (column, dtype)) in enumerate(zip(_widths(sheet.frame, sheet.formats), sheet.frame.schema.items())):
            ws.set_column(k, k, width, number_format(sheet.formats.get(column) or _default_format(dtype)))
        ws.freeze_panes(top + 1, 0)
        ws.autofilter(top, 0, top + max(frame.height, 1), max(frame.width - 1, 0))
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)  # one page wide, as many tall as it takes
        ws.repeat_rows(0, top)
        ws.set_footer("&C第 &P 页，共 &N 页")
        if sheet.title:
            ws.write_string(0, 0, sheet.title, title_format)
        ws.write_row(top, 0, frame.columns, header)
        for r, row in enumerate(frame.iter_rows(), start=top + 1):
            ws.write_row(r, 0, row)  # cells take their column's format
    wb.close()
    return Path(path)


def _cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Values as Excel holds them: NaN and infinities empty, booleans 是/否, no time zones."""
    return frame.with_columns(pl.when(cs.float().is_finite()).then(cs.float()),
                              cs.boolean().replace_strict({True: "是", False: "否"}, return_dtype=pl.String),
                              cs.datetime().dt.replace_time_zone(None))


def _widths(frame: pl.DataFrame, formats: dict[str, str]) -> list[float]:
    """Column widths (characters of the default font) from the widest header or value."""
    def width(s: pl.Series) -> int:
        s = (s.round(2) if s.dtype.is_float() else s).cast(pl.String)
        return int((s.str.len_chars() + s.str.count_matches(_WIDE)).max() or 0)

    return [float(min(MAX_WIDTH, max(width(pl.Series([c])), width(s)) + 2 + ("%" in formats.get(c, ""))))
            for c, s in frame.to_dict().items()]


def _default_format(dtype: pl.DataType) -> str | None:
    if dtype.is_float():
        return "#,##0.0"
    if dtype.is_integer():
        return "0"
    return {pl.Date: "yyyy-mm-dd", pl.Datetime: "yyyy-mm-dd hh:mm:ss"}.get(dtype.base_type())


def _sheet_name(name: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique in ``used``."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    out, k = clean, 2
    while out in used:
        out, k = f"{clean[:28]}_{k}", k + 1
    used.add(out)
    return out
