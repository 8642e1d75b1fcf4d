"""The publication file: one read-only SQLite file of a rating date's public data.

SQLite, not DuckDB, because the web service reads it: many concurrent point lookups (one
compound, one plaque) from every worker process and thread, each answered from an index in
microseconds, with no lock and no writer ever (the file is opened ``immutable``). DuckDB is
built for scans and holds a process-wide lock on a file a writer may open; neither helps here.
The same inputs give the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from contextlib import closing
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path

import polars as pl

from reports.site_data import trend_months

FILE_NAME = "public.sqlite"
SCHEMA = Path(__file__).with_name("site_publication.sql")
TABLES = ["compounds", "streets", "districts", "plaques"]


def write_publication(path: Path, tables: dict[str, pl.DataFrame], meta: dict[str, str]) -> Path:
    """Write ``tables`` (``reports.site_data.public_tables``) and ``meta`` to ``path``
    atomically; ``meta`` gains ``publication``, a digest of everything in the file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    digest = hashlib.sha256()
    for key in sorted(meta):
        digest.update(f"{key}={meta[key]}\n".encode())
    tables = {**tables, "compounds": tables["compounds"].join(
        _json_lists(tables["groups"], "groups", "ord", ["label", "n"]), on="compound_id", how="left").join(
        _json_lists(tables["months"], "months", "month", ["n", "safety_index"]), on="compound_id", how="left",
    ).with_columns(pl.col("groups", "months").fill_null('{"rows":[]}'))}
    with closing(sqlite3.connect(tmp)) as conn:
        conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA.read_text(encoding="utf-8"))
        for name, columns in _expected_columns().items():
            frame = tables[name].select(columns)
            digest.update(frame.write_csv().encode("utf-8"))
            frame = frame.with_columns(pl.col(pl.Date).dt.to_string(), pl.col(pl.Boolean).cast(pl.Int8))
            conn.executemany(f"INSERT INTO {name} VALUES ({','.join('?' * len(columns))})", frame.iter_rows())
        pub = {**meta, "publication": digest.hexdigest()[:16]}
        conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(pub.items()))
        conn.commit()
    os.replace(tmp, path)
    return path


def _json_lists(frame: pl.DataFrame, name: str, order: str, fields: list[str]) -> pl.DataFrame:
    """compound_id, ``name``: each compound's rows of ``frame`` (``fields`` only, in ``order``)
    as one JSON object ``{"rows": [{field: value, ...}, ...]}``."""
    return frame.sort("compound_id", order).group_by("compound_id", maintain_order=True).agg(
        pl.struct(fields).alias("rows")).select("compound_id", pl.struct("rows").struct.json_encode().alias(name))


@lru_cache(maxsize=1)
def _expected_columns() -> dict[str, tuple[str, ...]]:
    """The columns of each table, as this code writes them (``site_publication.sql``)."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA.read_text(encoding="utf-8"))
    return {t: tuple(r[1] for r in conn.execute(f"PRAGMA table_info({t})")) for t in TABLES}


class Publication:
    """A publication file opened read-only; every page of one response reads one of these."""

    def __init__(self, path: Path):
        uri = Path(path).resolve().as_uri() + "?mode=ro&immutable=1"
        self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        try:
            self.meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{path} is not a SafeStar publication file ({exc}); "
                             "run `safestar run` to write one") from None
        # what this code reads that the file lacks (a file of an older version)
        have = {(t, r[1]) for t in TABLES for r in self._conn.execute(f"PRAGMA table_info({t})")}
        missing = [f"{t}.{c}" for t, columns in _expected_columns().items() for c in columns if (t, c) not in have]
        if missing:
            raise ValueError(f"{path} was written by another version of SafeStar (no {', '.join(missing)}); "
                             "run `safestar run` to write it again")
        self.id = self.meta["publication"]
        self.as_of = date.fromisoformat(self.meta["as_of"])
        self.trend = [f"{m:%Y-%m}" for m in trend_months(self.as_of)]  # every compound's months, in order
        self.suppress_below = int(self.meta["suppress_below"])
        self.demo = self.meta.get("demo") == "1"

    def _one(self, sql: str, *params) -> dict | None:
        row = self._conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def _all(self, sql: str, *params) -> list[dict]:
        return [dict(r) for r in self._conn.execute(sql, params).fetchall()]

    def _compound(self, row: dict | None) -> dict | None:
        """A compound's row, its ``groups`` and its 12 trend ``months`` as lists of dicts."""
        if row is not None:
            row["groups"] = json.loads(row["groups"])["rows"]
            row["months"] = [dict(m, month=month) for month, m in zip(self.trend, json.loads(row["months"])["rows"])]
        return row

    def compound(self, slug: str) -> dict | None:
        return self._compound(self._one("SELECT * FROM compounds WHERE slug = ?", slug))

    def compound_by_id(self, compound_id: str) -> dict | None:
        return self._compound(self._one("SELECT * FROM compounds WHERE compound_id = ?", compound_id))

    def has_compound(self, compound_id: str) -> bool:
        """Whether the publication knows the compound (an index lookup, no row read)."""
        return self._one("SELECT 1 AS x FROM compounds WHERE compound_id = ?", compound_id) is not None

    def count(self) -> int:
        return self._one("SELECT count(*) AS n FROM compounds")["n"]

    def street(self, slug: str) -> dict | None:
        return self._one("SELECT * FROM streets WHERE street_slug = ?", slug)

    def street_compounds(self, slug: str, offset: int, limit: int) -> list[dict]:
        return self._all("SELECT slug, name, stars, status, safety_index FROM compounds WHERE street_slug = ? "
                         "ORDER BY name, compound_id LIMIT ? OFFSET ?", slug, limit, offset)

    def streets(self) -> list[dict]:
        return self._all("SELECT * FROM streets ORDER BY district, street")

    @cached_property
    def districts(self) -> list[dict]:
        """The districts, the city last (read once: the file never changes)."""
        return self._all("SELECT * FROM districts ORDER BY district IS NULL, district")

    def plaque(self, serial: str) -> dict | None:
        return self._one("SELECT * FROM plaques WHERE serial = ?", serial)

    def search_rows(self) -> list[list]:
        return [list(r) for r in self._conn.execute(
            "SELECT compound_id, name, aliases, district, street, stars, status, slug FROM compounds "
            "ORDER BY compound_id").fetchall()]

    def slugs(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT slug FROM compounds ORDER BY compound_id")]

    def plaque_paths(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT path FROM plaques WHERE path IS NOT NULL ORDER BY serial")]

    def close(self) -> None:
        self._conn.close()
