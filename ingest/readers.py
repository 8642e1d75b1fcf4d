"""Readers: every supported export shape as batches of string columns, in file order.

A reader yields the file's rows as Polars frames of String columns named by the file's
own headers. Rows it cannot even split into fields (a ragged CSV row, a JSON line that is
not an object) are reported by `problems()` with their line, so they are quarantined
rather than lost. `line_numbers()` gives the 1-based data line of every row yielded:
for CSV the data record number (header excluded, a quoted multi-line field is one
record), for JSON Lines the physical line, for Excel the sheet's data row.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import polars as pl

from ingest.mapping import FileMapping
from ingest.sniff import (
    FileRejected,
    NotUtf8,
    check_text,
    detect_encoding,
    looks_like,
    read_head,
    transcode_to_utf8,
)

BATCH_ROWS = 500_000
PROBLEM_SCHEMA = {"line": pl.Int64, "reason": pl.String, "field": pl.String, "value": pl.String, "record_id": pl.String}
CSV_EXTS = {".csv", ".tsv", ".txt"}
EXCEL_EXTS = {".xlsx", ".xlsm", ".xls"}
JSON_EXTS = {".jsonl", ".ndjson", ".json"}
PARQUET_EXTS = {".parquet", ".pq"}
SUPPORTED_EXTS = CSV_EXTS | EXCEL_EXTS | JSON_EXTS | PARQUET_EXTS
VALUE_CHARS = 200


def empty_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=PROBLEM_SCHEMA)


def unique_headers(headers: list[str]) -> list[str]:
    """Headers trimmed (BOM too) and made unique, so a repeated column cannot shadow another."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers):
        name = (h or "").replace("\ufeff", "").strip() or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}#{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


class RawReader:
    """Base reader: subclasses fill headers/notes and implement batches()."""

    headers: list[str]
    notes: list[str]

    def batches(self) -> Iterator[pl.DataFrame]:
        raise NotImplementedError

    def problems(self) -> pl.DataFrame:
        return empty_problems()

    def line_numbers(self, n_good: int) -> np.ndarray:
        return np.arange(1, n_good + 1, dtype=np.int64)

    def close(self) -> None:
        pass


def _has_empty_line(path: Path, chunk: int = 16 << 20) -> bool:
    """Whether two line ends meet anywhere (\\n\\n or \\n\\r\\n), scanned with NumPy in chunks."""
    carry = b""  # the previous chunk's last two bytes, so a pair split by a boundary is seen
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            data = np.frombuffer(carry + block, np.uint8)
            ends = np.flatnonzero(data == 10)
            gaps = np.diff(ends)
            if (gaps == 1).any() or ((gaps == 2) & (data[ends[1:] - 1] == 13)).any():
                return True
            carry = block[-2:]
    return False


class CsvReader(RawReader):
    """CSV through DuckDB's parallel reader, all columns as text, bad rows collected as rejects."""

    def __init__(self, path: Path, fm: FileMapping, batch_rows: int = BATCH_ROWS):
        self.path, self.notes, self.batch_rows = path, [], batch_rows
        self._tmp: Path | None = None
        head = read_head(path)
        check_text(path, head, "CSV")
        size = path.stat().st_size
        codec = detect_encoding(head, fm.encoding, at_eof=len(head) >= size)
        if fm.encoding == "auto" and codec not in ("utf-8",):
            self.notes.append(f"encoding detected: {codec}")
        self.readable = path
        if codec not in ("utf-8", "utf-8-sig"):
            self._tmp = Path(tempfile.mkdtemp(prefix="safestar-ingest-"))
            self.readable = self._tmp / "utf8.csv"
            transcode_to_utf8(path, self.readable, codec)
            head = read_head(self.readable)
            size = self.readable.stat().st_size
        self.codec = codec
        try:
            # final only at end of file: the sample may stop inside a multi-byte character.
            text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=len(head) >= size)
        except UnicodeDecodeError as exc:
            raise FileRejected(
                f"not valid UTF-8 at byte {exc.start} of the header; the mapping declares "
                f"encoding {fm.encoding!r}; the file is probably GB18030/GBK: set `encoding: auto` or `gb18030`"
            ) from exc
        first_line = text.split("\n", 1)[0]
        self.delimiter = fm.delimiter or max([",", "\t", ";", "|"], key=first_line.count)
        try:
            header = next(csv.reader(io.StringIO(text), delimiter=self.delimiter))
        except StopIteration:  # pragma: no cover - check_text rules out an empty file
            raise FileRejected("empty file: no header row")
        self.headers = unique_headers(header)
        self.con = duckdb.connect()
        self.con.execute("SET preserve_insertion_order = true")
        # Plain Arrow strings: Polars copies them into its own buffers, so no batch keeps
        # DuckDB's (larger) result buffers alive.
        self.con.execute("SET produce_arrow_string_view = false")
        self._consumed = 0

    def _relation(self):
        columns = {f"c{i}": "VARCHAR" for i in range(len(self.headers))}
        # max_line_size costs memory on every read (64 MiB tripled the footprint); 8 MiB still
        # holds a 200,000-character description many times over.
        return self.con.sql(
            """
            SELECT * FROM read_csv($path, header = true, auto_detect = false, columns = $columns,
                delim = $delim, quote = '"', escape = '"', all_varchar = true,
                store_rejects = true, rejects_table = 'rej_errors', rejects_scan = 'rej_scans',
                max_line_size = 8388608, buffer_size = 33554432, strict_mode = true)
            """,
            params={"path": str(self.readable), "columns": columns, "delim": self.delimiter},
        )

    def batches(self) -> Iterator[pl.DataFrame]:
        try:
            reader = self._relation().to_arrow_reader(self.batch_rows)
            for batch in reader:
                frame = pl.from_arrow(batch)
                if frame.height:
                    frame.columns = self.headers
                    self._consumed += frame.height
                    yield frame
        except duckdb.Error as exc:
            raise FileRejected(f"CSV could not be parsed: {str(exc).splitlines()[0]}") from exc

    def _rejects(self) -> pl.DataFrame:
        try:
            return self.con.sql(
                "SELECT line, error_type::VARCHAR AS error_type, column_name, csv_line FROM rej_errors ORDER BY line"
            ).pl()
        except duckdb.Error:
            return pl.DataFrame(schema={"line": pl.Int64, "error_type": pl.String, "column_name": pl.String, "csv_line": pl.String})

    def problems(self) -> pl.DataFrame:
        rej = self._rejects()
        bad_enc = rej.filter(pl.col("error_type") == "INVALID ENCODING")
        if bad_enc.height:
            raise NotUtf8(
                f"not valid UTF-8 ({bad_enc.height} rows, first at data line {bad_enc['line'][0] - 1}); "
                "the file is probably GB18030/GBK: set `encoding: auto` or `gb18030` in mapping.yaml"
            )
        if rej.height == 0:
            return empty_problems()
        reason = (
            pl.when(pl.col("error_type").is_in(["TOO MANY COLUMNS", "MISSING COLUMNS"]))
            .then(pl.lit("ragged_row"))
            .when(pl.col("error_type") == "LINE SIZE OVER MAXIMUM")
            .then(pl.lit("line_too_long"))
            .when(pl.col("error_type") == "UNQUOTED VALUE")
            .then(pl.lit("bad_quote"))
            .otherwise(pl.lit("unreadable_row"))
        )
        return (
            rej.unique("line", keep="first", maintain_order=True)
            .select(
                (pl.col("line").cast(pl.Int64) - 1).alias("line"),
                reason.alias("reason"),
                pl.col("error_type").str.to_lowercase().alias("field"),
                pl.col("csv_line").str.strip_chars_end("\r\n").str.slice(0, VALUE_CHARS).alias("value"),
                pl.lit(None, pl.String).alias("record_id"),
            )
        )

    def line_numbers(self, n_good: int) -> np.ndarray:
        # DuckDB keeps row order; the good rows take the data lines the rejects did not.
        bad = np.union1d(self.problems()["line"].to_numpy(), self._blank_lines())
        total = n_good + bad.size
        lines = np.setdiff1d(np.arange(1, total + 1, dtype=np.int64), bad, assume_unique=True)
        return lines[:n_good]

    def _blank_lines(self) -> np.ndarray:
        """Data lines of blank records: DuckDB skips them but counts them in its numbering.

        Rare, so the exact (Python csv) scan runs only when the bytes hold an empty line.
        """
        if not _has_empty_line(self.readable):
            return np.empty(0, np.int64)
        with open(self.readable, encoding="utf-8-sig", newline="") as fh:
            rows = csv.reader(fh, delimiter=self.delimiter)
            # Record 0 is the header; data line n is record n.
            return np.array([i for i, r in enumerate(rows) if not r and i > 0], dtype=np.int64)

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)


class ExcelReader(RawReader):
    """One sheet of a workbook (the declared one, else the first), all cells as text."""

    def __init__(self, path: Path, fm: FileMapping):
        import fastexcel

        self.path, self.notes = path, []
        what = looks_like(read_head(path, 16))
        if what and not what.startswith(("a ZIP", "a legacy Office")):
            raise FileRejected(f"not an Excel workbook: its content is {what}")
        try:
            names = fastexcel.read_excel(path).sheet_names
        except Exception as exc:
            raise FileRejected(f"not a readable Excel workbook: {exc}") from exc
        sheet = fm.sheet if fm.sheet is not None else 0
        if isinstance(sheet, int):
            if sheet >= len(names):
                raise FileRejected(f"sheet index {sheet} does not exist; the workbook has {len(names)} sheet(s): {', '.join(names)}")
            name = names[sheet]
        elif sheet in names:
            name = sheet
        else:
            raise FileRejected(f"sheet {sheet!r} not found; the workbook's sheets are: {', '.join(names)}")
        self.sheet = name
        self.notes.append(f"sheet read: {name!r} (workbook sheets: {', '.join(names)})")
        try:
            frame = pl.read_excel(path, sheet_name=name, engine="calamine", infer_schema_length=0)
        except Exception as exc:
            raise FileRejected(f"sheet {name!r} could not be read: {exc}") from exc
        self.headers = unique_headers([str(c) for c in frame.columns])
        frame.columns = self.headers
        self.frame = frame.select(pl.all().cast(pl.String))

    def batches(self) -> Iterator[pl.DataFrame]:
        if self.frame.height:
            yield self.frame


def _to_strings(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text: temporal values in ISO form, nested values as JSON."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype.is_temporal() and dtype != pl.Duration:
            exprs.append(col.dt.to_string("iso").str.replace("T", " ").alias(name))
        elif isinstance(dtype, pl.Struct):
            exprs.append(col.struct.json_encode().alias(name))
        elif isinstance(dtype, (pl.List, pl.Array)):
            exprs.append(col.cast(pl.List(pl.String)).list.join(",").alias(name))
        else:
            exprs.append(col.cast(pl.String).alias(name))
    return frame.select(exprs)


class ParquetReader(RawReader):
    """Parquet in record batches (never the whole file at once)."""

    def __init__(self, path: Path, fm: FileMapping, batch_rows: int = BATCH_ROWS):
        import pyarrow.parquet as pq

        self.path, self.notes, self.batch_rows = path, [], batch_rows
        if read_head(path, 4) != b"PAR1":
            what = looks_like(read_head(path, 16)) or "not Parquet"
            raise FileRejected(f"not a Parquet file: its content is {what}")
        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:
            raise FileRejected(f"unreadable Parquet file: {exc}") from exc
        self.headers = unique_headers(self.file.schema_arrow.names)

    def batches(self) -> Iterator[pl.DataFrame]:
        try:
            for batch in self.file.iter_batches(batch_size=self.batch_rows):
                frame = pl.from_arrow(batch)
                if frame.height:
                    frame.columns = self.headers
                    yield _to_strings(frame)
        except Exception as exc:
            raise FileRejected(f"Parquet file could not be read: {exc}") from exc


class JsonLinesReader(RawReader):
    """JSON Lines: one object per line; any other line is a problem row, not a crash."""

    def __init__(self, path: Path, fm: FileMapping, batch_rows: int = BATCH_ROWS):
        self.path, self.notes, self.batch_rows = path, [], batch_rows
        head = read_head(path)
        check_text(path, head, "JSON Lines")
        codec = detect_encoding(head, fm.encoding, at_eof=len(head) >= path.stat().st_size)
        try:
            text = path.read_bytes().decode(codec)
        except UnicodeDecodeError as exc:
            raise FileRejected(f"not valid {codec} at byte {exc.start}; check `encoding` in mapping.yaml") from exc
        text = text.lstrip("\ufeff")
        if text.lstrip().startswith("["):
            self.notes.append("JSON array read as one record per element")
            lines = self._array_lines(text)
        else:
            lines = pl.Series("raw", text.split("\n"), pl.String)
        frame = pl.DataFrame({"raw": lines}).with_row_index("line", offset=1).with_columns(
            pl.col("raw").str.strip_chars()
        ).filter(pl.col("raw") != "")
        is_obj = pl.col("raw").str.starts_with("{")
        self._bad = frame.filter(~is_obj)
        objs = frame.filter(is_obj)
        parsed, lines_ok, failed = self._parse(objs)
        self._bad = pl.concat([self._bad, failed]).sort("line")
        self._lines = lines_ok
        self.frame = parsed
        self.headers = list(parsed.columns)

    @staticmethod
    def _array_lines(text: str) -> pl.Series:
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FileRejected(f"invalid JSON array: {exc}") from exc
        if not isinstance(items, list):
            raise FileRejected("a .json file must hold JSON Lines or an array of objects")
        return pl.Series("raw", [json.dumps(i, ensure_ascii=False) for i in items], pl.String)

    @staticmethod
    def _parse(objs: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, pl.DataFrame]:
        """Parse object lines fast with Polars; fall back line by line only if that fails."""
        if objs.height == 0:
            return pl.DataFrame(), np.empty(0, np.int64), objs
        try:
            parsed = pl.read_ndjson(
                io.BytesIO("\n".join(objs["raw"].to_list()).encode()), infer_schema_length=None
            )
            if parsed.height == objs.height:
                return _to_strings(parsed), objs["line"].cast(pl.Int64).to_numpy(), objs.clear()
        except Exception:
            pass
        rows, ok = [], []
        for value in objs["raw"].to_list():
            try:
                item = json.loads(value)
            except json.JSONDecodeError:
                item = None
            ok.append(isinstance(item, dict))
            if isinstance(item, dict):
                rows.append({k: (v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in item.items()})
        mask = pl.Series(ok)
        parsed = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
        return (
            parsed.select(pl.all().cast(pl.String)),
            objs.filter(mask)["line"].cast(pl.Int64).to_numpy(),
            objs.filter(~mask),
        )

    def batches(self) -> Iterator[pl.DataFrame]:
        for start in range(0, self.frame.height, self.batch_rows):
            yield self.frame.slice(start, self.batch_rows)

    def problems(self) -> pl.DataFrame:
        return self._bad.select(
            pl.col("line").cast(pl.Int64),
            pl.when(pl.col("raw").str.starts_with("{")).then(pl.lit("bad_json")).otherwise(pl.lit("not_an_object")).alias("reason"),
            pl.lit(None, pl.String).alias("field"),
            pl.col("raw").str.slice(0, VALUE_CHARS).alias("value"),
            pl.lit(None, pl.String).alias("record_id"),
        )

    def line_numbers(self, n_good: int) -> np.ndarray:
        return self._lines[:n_good]


def open_reader(path: Path, fm: FileMapping) -> RawReader:
    """The reader for a file's extension (rejecting types we cannot read)."""
    ext = path.suffix.lower()
    if ext in CSV_EXTS:
        return CsvReader(path, fm)
    if ext in EXCEL_EXTS:
        return ExcelReader(path, fm)
    if ext in JSON_EXTS:
        return JsonLinesReader(path, fm)
    if ext in PARQUET_EXTS:
        return ParquetReader(path, fm)
    raise FileRejected(
        f"unsupported file type {ext or '(no extension)'!r}; supported: {', '.join(sorted(SUPPORTED_EXTS))}"
    )
