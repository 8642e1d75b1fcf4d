"""Which column of an export feeds which canonical column (mapping.yaml `columns`, `constants`)."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ingest.mapping import CANONICAL_COLUMNS, REQUIRED_COLUMNS, FileMapping
from ingest.sniff import FileRejected


@dataclass(frozen=True)
class ColumnPlan:
    """Which file header (or constant) feeds each canonical column."""

    sources: dict[str, str]  # canonical -> header
    constants: dict[str, str]
    extras: list[str]

    def canonical(self, frame: pl.DataFrame) -> pl.DataFrame:
        exprs = []
        for col in CANONICAL_COLUMNS:
            if col in self.constants:
                exprs.append(pl.lit(self.constants[col], pl.String).alias(col))
            elif col in self.sources:
                exprs.append(pl.col(self.sources[col]).cast(pl.String).alias(col))
            else:
                exprs.append(pl.lit(None, pl.String).alias(col))
        return frame.select(exprs)


def plan_columns(headers: list[str], fm: FileMapping) -> ColumnPlan:
    """Match a file's headers to canonical columns, rejecting the file if a required one is missing."""
    sources: dict[str, str] = {}
    extras = []
    for header in headers:
        target = fm.columns.get(header)
        if target is None and header.lower() in CANONICAL_COLUMNS:
            target = header.lower()
        if target is None:
            extras.append(header)
            continue
        if target in sources:
            raise FileRejected(
                f"headers {sources[target]!r} and {header!r} both map to {target!r}; "
                "keep one of them in mapping.yaml `columns`"
            )
        sources[target] = header
    missing = [c for c in REQUIRED_COLUMNS if c not in sources and c not in fm.constants]
    if missing:
        expected = {c: [h for h, t in fm.columns.items() if t == c] or [c] for c in missing}
        wanted = "; ".join(f"{c} (header {' or '.join(map(repr, hs))})" for c, hs in expected.items())
        raise FileRejected(
            f"missing required column(s): {wanted}; the file's headers are: {', '.join(headers) or '(none)'}. "
            "Add the column to the export or map its header in mapping.yaml `columns`"
        )
    return ColumnPlan(sources=sources, constants=dict(fm.constants), extras=extras)
