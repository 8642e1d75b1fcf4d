"""The compounds a need or check-in may name: those of the current publication."""
from __future__ import annotations

from typing import Callable, Iterable

from reports.site_store import Publication


class CompoundList:
    """Known compound ids: the served publication's (followed as it changes) and ``extra``."""

    def __init__(self, current: Callable[[], Publication] | None, extra: Iterable[str] | None = None):
        if current is None and extra is None:
            raise ValueError("the intake service needs a compound list: pass --out with a published rating date")
        self._current = current
        self._extra = frozenset(extra or ())

    def has(self, compound_id: str) -> bool:
        return compound_id in self._extra or (self._current is not None and self._current().has_compound(compound_id))

    def count(self) -> int:
        return len(self._extra) + (self._current().count() if self._current is not None else 0)

    def as_of(self) -> str | None:
        return self._current().as_of.isoformat() if self._current is not None else None
