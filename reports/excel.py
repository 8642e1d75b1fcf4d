"""Files analysts open in Excel on a Chinese desktop: the one writer of people-CSVs and of
workbooks.

A people-CSV is UTF-8 with a BOM (Excel on Chinese Windows otherwise reads it as GBK and
garbles every name) under Chinese headers, and every text cell that Excel would take for a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is neutralised
with a leading apostrophe (OWASP "CSV injection"). Machine-readable CSVs stay as they are,
written beside these by their own assets.

Workbooks are written by xlsxwriter, row by row in constant-memory mode, text always as
text (never a formula or a link): per sheet an optional title row, a bold header row kept
in view (frozen panes), an autofilter, column widths from the display width of the text
(East Asian wide and full-width characters count two columns) and a print set-up
(landscape A4, fitted to the page width, title and header rows repeated on every page).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from schemas.events import SOURCE_ZH as SOURCE_ZH_CONTRACT

# Excel's rows, less a title and a header row: longer frames continue on further sheets.
MAX_ROWS = 1_048_576 - 2
MAX_WIDTH = 60
_FORMULA_START = r"^[=+\-@\t\r]"
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


def column_zh(code: str) -> str:
    """The Chinese header of a column code (the code itself when there is none)."""
    if code in HEADERS_ZH:
        return HEADERS_ZH[code]
    if code in REASON_ZH:
        return REASON_ZH[code]
    if code.startswith("quarantined_"):
        reason = code[len("quarantined_"):]
        return f"隔离·{REASON_ZH.get(reason, reason)}"
    if code.startswith("n_") and code[2:] in METHOD_ZH:
        return f"方式·{METHOD_ZH[code[2:]]}"
    return code


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell that a spreadsheet would run as a formula, prefixed with ``'``."""
    text = [c for c, t in frame.schema.items() if t in (pl.String, pl.Categorical, pl.Enum)]
    return frame.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(c).cast(pl.String)).otherwise(pl.col(c).cast(pl.String)).alias(c)
        for c in text)


def for_people(frame: pl.DataFrame, headers: dict[str, str] | None = None) -> pl.DataFrame:
    """Chinese statuses, sources, reasons, rules and headers (``headers`` before the shared ones)."""
    fixes = [pl.col(c).cast(pl.String).replace(vocab) for c, vocab in
             (("status", STATUS_ZH), ("source", SOURCE_ZH), ("reason", REASON_ZH)) if c in frame.columns]
    if "rules" in frame.columns and frame.schema["rules"] == pl.String:
        from reports.analyst import rules_zh  # the report owns the rule vocabulary; it imports this module

        codes = frame["rules"].drop_nulls().unique().to_list()
        fixes.append(pl.col("rules").replace_strict({c: rules_zh(c) for c in codes}, default=None))
    return frame.with_columns(fixes).rename({c: (headers or {}).get(c) or column_zh(c) for c in frame.columns})


def write_people_csv(frame: pl.DataFrame, path: Path, headers: dict[str, str] | None = None) -> Path:
    """``frame`` as a CSV for Excel on Chinese Windows: BOM, Chinese headers, no formulas."""
    path = Path(path)
    neutralise(for_people(frame, headers)).write_csv(path, include_bom=True)
    return path


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced grid: East Asian wide/full-width count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_widths(frame: pl.DataFrame, formats: dict[str, str] | None = None) -> list[float]:
    """Excel column widths (in characters of the default font) from the widest header or
    value of each column. Only values that could be the widest are measured one by one:
    a value of n characters takes n to 2n columns."""
    widths = []
    for name in frame.columns:
        text = frame[name].cast(pl.String).drop_nulls()
        if frame.schema[name].is_float():
            text = frame[name].drop_nulls().round(2).cast(pl.String)
        longest = int(text.str.len_chars().max() or 0)
        candidates = text.filter(text.str.len_chars() * 2 >= longest).unique()
        widest = max([display_width(str(name))] + [display_width(v) for v in candidates.to_list()])
        if formats and "%" in formats.get(name, ""):
            widest += 1
        widths.append(float(min(MAX_WIDTH, widest + 2)))
    return widths


@dataclass
class Sheet:
    """One frame (headers already as people read them) and how to lay it out."""

    name: str
    frame: pl.DataFrame
    title: str | None = None
    formats: dict[str, str] = field(default_factory=dict)  # column -> Excel number format


def sheet_name(name: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique in ``used``."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    out, k = clean, 2
    while out in used:
        out = f"{clean[:28]}_{k}"
        k += 1
    used.add(out)
    return out


def write_workbook(path: Path, sheets: list[Sheet], *, title: str = "") -> Path:
    """Write ``sheets`` into the workbook ``path`` (replaced); returns the path."""
    path = Path(path)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    wb.set_properties({"title": title, "created": _CREATED})
    bold = wb.add_format({"bold": True, "bg_color": "#EEF2F6", "border": 1, "text_wrap": False})
    title_fmt = wb.add_format({"bold": True, "font_size": 13})
    cell_formats: dict[str, object] = {}

    def fmt(spec: str | None):
        if spec is None:
            return None
        if spec not in cell_formats:
            cell_formats[spec] = wb.add_format({"num_format": spec})
        return cell_formats[spec]

    used: set[str] = set()
    for sheet in sheets:
        frame = sheet.frame
        parts = [frame.slice(i, MAX_ROWS) for i in range(0, max(frame.height, 1), MAX_ROWS)]
        widths = column_widths(frame, sheet.formats)
        for k, part in enumerate(parts):
            ws = wb.add_worksheet(sheet_name(sheet.name if k == 0 else f"{sheet.name}{k + 1}", used))
            _write_sheet(ws, part, sheet, widths, bold, title_fmt, fmt)
    wb.close()
    return path


def _write_sheet(ws, frame: pl.DataFrame, sheet: Sheet, widths: list[float], bold, title_fmt, fmt) -> None:
    header_row = 1 if sheet.title else 0
    formats = [fmt(sheet.formats.get(c) or _default_format(frame.schema[c])) for c in frame.columns]
    for k, width in enumerate(widths):
        ws.set_column(k, k, width, formats[k])
    ws.freeze_panes(header_row + 1, 0)
    last_row = header_row + max(frame.height, 1)
    ws.autofilter(header_row, 0, last_row, max(frame.width - 1, 0))
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many tall as it takes
    ws.repeat_rows(0, header_row)
    ws.set_footer("&C第 &P 页，共 &N 页")
    if sheet.title:
        ws.write_string(0, 0, sheet.title, title_fmt)
    for k, name in enumerate(frame.columns):
        ws.write_string(header_row, k, name, bold)
    # NaN and infinities stay empty; booleans read 是/否; time zones dropped (Excel has none)
    frame = frame.with_columns(
        [pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c, t in frame.schema.items() if t.is_float()]
        + [pl.col(c).replace_strict({True: "是", False: "否"}, return_dtype=pl.String)
           for c, t in frame.schema.items() if t == pl.Boolean]
        + [pl.col(c).dt.replace_time_zone(None) for c, t in frame.schema.items()
           if isinstance(t, pl.Datetime) and t.time_zone])
    cells = [(k, _writer(ws, frame.schema[c]), formats[k]) for k, c in enumerate(frame.columns)]
    for r, row in enumerate(frame.iter_rows(), start=header_row + 1):
        for k, write, cell_format in cells:
            if row[k] is not None:
                write(r, k, row[k], cell_format)


def _default_format(dtype: pl.DataType) -> str | None:
    if dtype.is_float():
        return "#,##0.0"
    if dtype.is_integer():
        return "0"
    if dtype == pl.Date:
        return "yyyy-mm-dd"
    if isinstance(dtype, pl.Datetime):
        return "yyyy-mm-dd hh:mm:ss"
    return None


def _writer(ws, dtype: pl.DataType):
    """The worksheet method for a column: text is always written as text, never a formula."""
    if dtype.is_numeric():
        return ws.write_number
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return ws.write_datetime
    if dtype == pl.String:
        return ws.write_string
    return lambda r, k, v, f: ws.write_string(r, k, str(v), f)
