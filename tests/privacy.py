"""Privacy scan: does any file under the given paths contain one of the planted strings?

Looks through every encoding a public output could carry a string in: raw UTF-8,
GB18030 and UTF-16 bytes, HTML entities, JSON ``\\uXXXX`` escapes and %-encoding; and
inside containers (xlsx/zip members, gzip, Parquet string columns). Used by the run's
end-to-end privacy test with planted names, ID numbers, phones, descriptions, addresses.
"""
from __future__ import annotations

import gzip
import html
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote


@dataclass(frozen=True)
class Hit:
    """One planted string found: where, which, and in what form."""

    path: str
    needle: str
    form: str


_JSON_ESCAPE = re.compile(rb"\\u[0-9a-fA-F]{4}")


def _texts(data: bytes) -> Iterable[tuple[str, str]]:
    """Decoded views of a byte string, each with the name of the form."""
    text = data.decode("utf-8", errors="replace")
    yield "utf-8", text
    yield "html", html.unescape(text)
    if b"%" in data:
        yield "url", unquote(text)
    if _JSON_ESCAPE.search(data):
        yield "json", _JSON_ESCAPE.sub(lambda m: m.group(0).decode("unicode_escape").encode("utf-8"), data).decode(
            "utf-8", errors="replace")


def _scan_bytes(name: str, data: bytes, needles: list[str], hits: list[Hit]) -> None:
    found = set()
    for needle in needles:
        for enc in ("gb18030", "utf-16-le", "utf-16-be"):
            try:
                if needle.encode(enc) in data and needle.encode("utf-8") != needle.encode(enc):
                    hits.append(Hit(name, needle, enc))
                    found.add(needle)
                    break
            except UnicodeEncodeError:
                continue
    for form, text in _texts(data):
        for needle in needles:
            if needle not in found and needle in text:
                hits.append(Hit(name, needle, form))
                found.add(needle)
    _scan_containers(name, data, needles, hits)


def _scan_containers(name: str, data: bytes, needles: list[str], hits: list[Hit]) -> None:
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for member in z.namelist():
                    _scan_bytes(f"{name}!{member}", z.read(member), needles, hits)
        except zipfile.BadZipFile:
            pass
    elif data[:2] == b"\x1f\x8b":
        try:
            _scan_bytes(f"{name}!gunzip", gzip.decompress(data), needles, hits)
        except OSError:
            pass
    elif data[:4] == b"PAR1":
        import polars as pl

        try:
            frame = pl.read_parquet(io.BytesIO(data))
        except Exception:  # an unreadable parquet is still scanned as raw bytes above
            return
        try:
            cells = frame.select(pl.all().cast(pl.String)).write_csv()
        except Exception:  # nested columns: their repr still carries every string
            cells = repr(frame.to_dicts())
        _scan_bytes(f"{name}!parquet", cells.encode("utf-8"), needles, hits)
    elif data[:16] == b"SQLite format 3\x00":
        # Text may straddle the file's pages: scan every cell of every table as one text.
        import sqlite3
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".sqlite") as tmp:
            tmp.write(data)
            tmp.flush()
            try:
                conn = sqlite3.connect(tmp.name)
                tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                cells = "\n".join(repr(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))
                conn.close()
            except sqlite3.DatabaseError:
                return
        _scan_bytes(f"{name}!sqlite", cells.encode("utf-8"), needles, hits)


def scan_for(paths: Iterable[Path], needles: Iterable[str]) -> list[Hit]:
    """Every (file, needle) where a planted string shows up, walking folders recursively."""
    needles = [n for n in dict.fromkeys(needles) if n]
    hits: list[Hit] = []
    for root in paths:
        root = Path(root)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for f in files:
            _scan_bytes(str(f), f.read_bytes(), needles, hits)
    return hits


__all__ = ["Hit", "scan_for"]
