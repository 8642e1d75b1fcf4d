"""The compounds a need or check-in may name: read from the rendered site's search.json."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable


class CompoundList:
    """Known compound ids, re-read when the nightly run replaces ``search.json``."""

    def __init__(self, search_json: Callable[[], Path | None] | Path | None, extra: Iterable[str] | None = None):
        self._where = search_json if callable(search_json) else (lambda: search_json)
        if self._where() is None and extra is None:
            raise ValueError("the intake service needs a compound list: pass --site with a rendered site")
        self._path: Path | None = None
        self._extra = frozenset(extra or ())
        self._mtime: float | None = None
        self._ids: frozenset[str] = frozenset()
        self._as_of: str | None = None
        self._reload()

    def _reload(self) -> None:
        path = self._where()
        if path is None:
            return
        if path != self._path:  # a newer run's site: read its list
            self._path, self._mtime = path, None
        try:
            mtime = self._path.stat().st_mtime_ns
        except FileNotFoundError:
            if self._mtime is None and not self._extra:
                raise FileNotFoundError(
                    f"{self._path} not found: is this a rendered site folder (OUT_DIR/<as_of>/site)?") from None
            return  # keep the last good list while a re-render swaps files
        if mtime == self._mtime:
            return
        try:
            doc = json.loads(self._path.read_text(encoding="utf-8"))
            ids = frozenset(row[0] for row in doc["rows"])
        except (ValueError, KeyError, IndexError, TypeError):
            if self._mtime is None and not self._extra:
                raise ValueError(f"{self._path} is not a SafeStar search index") from None
            return
        self._ids, self._as_of, self._mtime = ids, doc.get("as_of"), mtime

    def has(self, compound_id: str) -> bool:
        self._reload()
        return compound_id in self._ids or compound_id in self._extra

    def count(self) -> int:
        self._reload()
        return len(self._ids | self._extra)

    def as_of(self) -> str | None:
        return self._as_of
