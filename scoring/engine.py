"""The scoring engine: registry + attributed incidents + rules -> ratings and explanations."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import AttributedEvent as AE
from schemas.ratings import ExplanationRow, Rating
from schemas.registry import Compound as C
from scoring import explanations as ex
from scoring.index import index_frame
from scoring.lift import lift_rows
from scoring.overrides import LOG_COLUMNS, apply_overrides, override_rows
from scoring.rules import Rules
from scoring.verdict import apply_rules, fired_rules
from scoring.window import counted_events, window_start

RATING_COLUMNS = list(Rating.to_schema().columns)
EXPLANATION_COLUMNS = list(ExplanationRow.to_schema().columns)
KIND_ORDER = {k: i for i, k in enumerate(["rule", "lift", "override", "category", "source", "compare"])}


DIGITS = 6


@dataclass(frozen=True)
class ScoreResult:
    """Ratings (one row per registry compound), their explanations, and run figures.

    `overrides_log`: what became of each override row (empty without overrides).
    `summary`: incident counts (total, counted, unplaced, excluded, out_of_window,
    unknown_compound) for the asset's metadata and the data-quality report.
    """

    ratings: DataFrame[Rating]
    explanations: DataFrame[ExplanationRow]
    overrides_log: pl.DataFrame
    summary: dict[str, int] = field(default_factory=dict)


def score(compounds: DataFrame[C], events: DataFrame[AE], rules: Rules, as_of: date, *,
          overrides: pl.DataFrame | None = None) -> ScoreResult:
    """Rate every registry compound on `as_of`; see docs/SCORING.md for the formula.

    Counted incidents: a compound_id, method other than `excluded`, occurred_at in
    (as_of - window, as_of]. Overrides, when given, are applied first (and explained).
    """
    compounds = compounds.unique(C.compound_id, keep="first", maintain_order=True)
    log = pl.DataFrame(schema={c: pl.String for c in LOG_COLUMNS}).with_columns(pl.col("when").cast(pl.Datetime("us")))
    if overrides is not None and overrides.height:
        events, log = apply_overrides(events, overrides, known_compounds=compounds[C.compound_id])

    counted = counted_events(events, rules, as_of).collect()
    known = counted[AE.compound_id].is_in(compounds[C.compound_id].implode())
    summary = _summary(events, counted, known, rules, as_of)
    counted = counted.filter(known)

    harm = counted.group_by(AE.compound_id).agg(pl.col("weight").sum().alias("harm"))
    indexed = index_frame(compounds, harm, rules)
    fired = fired_rules(counted, rules, as_of)
    rated = apply_rules(indexed, fired, rules)

    ratings = (
        compounds.select(C.compound_id, C.name)
        .join(rated, on=C.compound_id, how="left", maintain_order="left")
        .with_columns(
            pl.col("rules").replace("", None),
            # Parallel float sums differ in the last bits from run to run; published
            # figures are rounded so that the same inputs give the same bytes.
            pl.col("safety_index").round(DIGITS),
            pl.lit(rules.version).alias("ruleset_version"),
            pl.lit(as_of).alias("as_of"),
        )
        .select(RATING_COLUMNS)
    )
    ratings = Rating.validate(ratings)

    main = ex.main_category(counted, rules)
    parts = [
        ex.contribution_rows(counted, rated, rules, "category_code", "category"),
        ex.contribution_rows(counted, rated, rules, AE.source, "source"),
        ex.rule_rows(fired, rules),
        lift_rows(rated, counted, fired, rules, as_of, main),
        ex.compare_rows(rated, rules),
        override_rows(log),
    ]
    explanations = (
        pl.concat([p.select(ex.COLUMNS) for p in parts], how="vertical_relaxed")
        .with_columns(pl.lit(as_of).alias("as_of"))
        .with_columns(pl.col("kind").replace_strict(KIND_ORDER, return_dtype=pl.Int8).alias("_k"))
        .sort("compound_id", "_k", "key", "detail")
        .with_columns(pl.col("value").round(DIGITS))
        .select(EXPLANATION_COLUMNS)
    )
    return ScoreResult(ratings=ratings, explanations=explanations, overrides_log=log, summary=summary)


def _summary(events: pl.DataFrame, counted: pl.DataFrame, known: pl.Series, rules: Rules, as_of: date) -> dict[str, int]:
    start = window_start(as_of, rules)
    day = pl.col(AE.occurred_at).cast(pl.Date)
    s = events.lazy().select(
        pl.len().alias("total"),
        pl.col(AE.compound_id).is_null().sum().alias("unplaced"),
        (pl.col(AE.compound_id).is_not_null() & (pl.col(AE.method) == "excluded")).sum().alias("excluded"),
        (pl.col(AE.compound_id).is_not_null() & (pl.col(AE.method) != "excluded")
         & ~day.is_between(pl.lit(start), pl.lit(as_of))).sum().alias("out_of_window"),
    ).collect().row(0, named=True)
    s = {k: int(v) for k, v in s.items()}
    s["unknown_compound"] = int((~known).sum())
    s["counted"] = int(known.sum())
    return s
