"""Readable text of one compound's rating and explanation (for `safestar explain`)."""
from __future__ import annotations

from datetime import date

import polars as pl

from schemas.ratings import ExplanationRow as X
from schemas.ratings import Rating as R

STATUS_TEXT = {"rated": "rated", "downgraded": "downgraded (降星)", "vetoed": "vetoed (一票否决)",
               "not_rated": "not rated (no population or household count)"}


def _stars(n: int) -> str:
    return "★" * n + "☆" * (5 - n)


def format_explanation(compound_id: str, ratings: pl.DataFrame, explanations: pl.DataFrame,
                       as_of: date | None = None) -> str:
    """Plain text for one compound at `as_of` (default: its latest rating date in `ratings`).

    Returns a one-line "no rating" message when the compound has no rating (on that date).
    """
    mine = ratings.filter(pl.col(R.compound_id) == compound_id)
    if as_of is not None:
        mine = mine.filter(pl.col(R.as_of) == as_of)
    mine = mine.sort(R.as_of)
    if mine.height == 0:
        return f"No rating for compound {compound_id!r}."
    r = mine.row(-1, named=True)
    ex = explanations.filter((pl.col(X.compound_id) == compound_id) & (pl.col(X.as_of) == r[R.as_of]))
    idx = "–" if r[R.safety_index] is None else f"{r[R.safety_index]:.1f}"
    lines = [
        f"{r[R.name]} ({compound_id}) · {r[R.district]} / {r[R.street]}",
        f"Rating on {r[R.as_of]}: {_stars(r[R.stars])} {r[R.stars]} star(s) · safety index {idx} · "
        f"{STATUS_TEXT.get(r[R.status], r[R.status])}",
        f"Rules fired: {r[R.rules] or 'none'} · ruleset {r[R.ruleset_version]}",
    ]

    def section(title: str, kind: str, fmt) -> None:
        rows = ex.filter(pl.col(X.kind) == kind)
        if rows.height:
            lines.append("")
            lines.append(title)
            lines.extend("  " + fmt(row) for row in rows.iter_rows(named=True))

    def cost(row) -> str:
        v = row[X.value]
        return f"{-v:6.1f}  {row[X.detail]}" if v is not None else f"     –  {row[X.detail]}"

    section("Rules that fired (incident ids are internal)", "rule", lambda x: f"{x[X.key]}: {x[X.detail]}")
    section("What would lift it", "lift", lambda x: x[X.detail])
    section("Analyst overrides", "override", lambda x: x[X.detail])
    cats = ex.filter(pl.col(X.kind) == "category").sort(X.value, descending=True, nulls_last=True)
    ex = pl.concat([ex.filter(pl.col(X.kind) != "category"), cats])
    section("Index points lost, by category", "category", cost)
    section("Index points lost, by source", "source", cost)
    section("Compared with", "compare",
            lambda x: f"stabilisation: -{x[X.value]:.1f} points; {x[X.detail]}" if x[X.key] == "prior" else x[X.detail])
    return "\n".join(lines)
