"""The scoring engine: registry + attributed incidents + rules -> ratings and explanations."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import SOURCE_ZH
from schemas.events import AttributedEvent as AE
from schemas.ratings import ExplanationRow, Rating
from schemas.registry import Compound as C
from scoring import explanations as ex
from scoring.index import index_frame
from scoring.lift import lift_rows
from scoring.overrides import LOG_COLUMNS, apply_overrides, override_rows
from scoring.rules import Rules
from scoring.verdict import apply_rules, counted_rule_events, fired_rules, held_levels, stable_rows
from scoring.window import category_codes, counted_events, in_window, source_keys

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
    `events`: the attributed events as scored (overrides applied), e.g. for
    `scoring.public.public_aggregates`, so public counts agree with the ratings.
    """

    ratings: DataFrame[Rating]
    explanations: DataFrame[ExplanationRow]
    overrides_log: pl.DataFrame
    summary: dict[str, int] = field(default_factory=dict)
    events: pl.DataFrame | None = None


@dataclass(frozen=True)
class _Rated:
    """The rating stage's results, kept for the explanations."""

    ratings: pl.DataFrame
    rated: pl.DataFrame
    counted: pl.DataFrame
    fired: pl.DataFrame
    events: pl.DataFrame  # after overrides
    log: pl.DataFrame
    summary: dict[str, int]


def _rate(compounds: pl.DataFrame, events: pl.DataFrame, rules: Rules, as_of: date,
          overrides: pl.DataFrame | None, previous: pl.DataFrame | None = None) -> _Rated:
    compounds = compounds.unique(C.compound_id, keep="first", maintain_order=True)
    log = pl.DataFrame(schema={c: pl.String for c in LOG_COLUMNS}).with_columns(pl.col("when").cast(pl.Datetime("us")))
    if overrides is not None and overrides.height:
        events, log = apply_overrides(events, overrides, known_compounds=compounds[C.compound_id])

    ids = compounds[C.compound_id]
    counted = counted_events(events, rules, as_of, ids)
    summary = _summary(events, counted.height, rules, as_of)
    harm = np.bincount(counted["cidx"].to_numpy(), weights=counted["weight"].to_numpy(), minlength=compounds.height)
    # stable stars: the level held from the previous rating unless the index passed a
    # threshold by the margin (or stayed across it); rules then act on it at once
    indexed = held_levels(index_frame(compounds, harm, rules), previous, rules, as_of)
    fired = fired_rules(counted_rule_events(counted, ids, rules, category_codes(rules)), rules, as_of)
    rated = apply_rules(indexed, fired, rules)
    # The NumPy matrices are indexed by registry row: the frame must keep that order.
    if not rated[C.compound_id].equals(ids):
        raise RuntimeError("scoring: compound order lost between index and rules")
    ratings = rated.with_columns(
        compounds[C.name],
        pl.col("rules").replace("", None),
        # Float sums may differ in the last bits from run to run (parallel reductions);
        # published figures are rounded so that the same inputs give the same bytes.
        pl.col("safety_index").round(DIGITS),
        pl.lit(rules.version).alias("ruleset_version"),
        pl.lit(as_of).alias("as_of"),
    ).select(RATING_COLUMNS)
    return _Rated(Rating.validate(ratings), rated, counted, fired, events, log, summary)


def rate(compounds: DataFrame[C], events: DataFrame[AE], rules: Rules, as_of: date, *,
         overrides: pl.DataFrame | None = None, previous: DataFrame[Rating] | None = None) -> DataFrame[Rating]:
    """Only the ratings of `score` (same rows, same values), without explanations."""
    return _rate(compounds, events, rules, as_of, overrides, previous).ratings


def score(compounds: DataFrame[C], events: DataFrame[AE], rules: Rules, as_of: date, *,
          overrides: pl.DataFrame | None = None, previous: DataFrame[Rating] | None = None) -> ScoreResult:
    """Rate every registry compound on `as_of` and explain each rating (docs/SCORING.md).

    Counted incidents: a compound_id, method other than `excluded`, occurred_at in
    (as_of - window, as_of]. Overrides, when given, are applied first (and explained).
    `previous`: earlier ratings (at least each compound's latest, and the nights of the last
    `stable_stars.days`), for stable stars; without them the thresholds apply as they are.
    A compound_id repeated in the registry keeps its first row. Ratings and explanations
    follow the registry's order.
    """
    r = _rate(compounds, events, rules, as_of, overrides, previous)
    rated, counted, fired, ids, n = r.rated, r.counted, r.fired, r.rated[C.compound_id], r.rated.height
    codes, labels = category_codes(rules), [rules.label(c) for c in category_codes(rules)]
    h_cat, n_cat = ex.harm_matrix(counted, n, "cat", len(codes))
    h_src, n_src = ex.harm_matrix(counted, n, "src", len(source_keys()))
    parts = [
        ex.contribution_rows(h_cat, n_cat, rated, rules, codes, labels, "category"),
        ex.contribution_rows(h_src, n_src, rated, rules, source_keys(),
                             [SOURCE_ZH.get(k, k) for k in source_keys()], "source"),
        # The incident ids behind each rule, gathered for the explanations only.
        ex.rule_rows(fired_rules(counted_rule_events(counted, ids, rules, codes, r.events), rules, as_of), rules),
        lift_rows(rated, counted, fired, rules, as_of, ex.main_category(h_cat, rated, labels)),
        ex.compare_rows(rated, rules),
        stable_rows(rated, rules),
        override_rows(r.log),
    ]
    # Sort by registry row and kind (integers, stable): each part is already in a
    # deterministic order within a compound, and a string sort of ~1M rows is costly.
    rows = pl.DataFrame({C.compound_id: ids}).with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
    parts = [p if "_row" in p.columns else p.join(rows, on=C.compound_id, how="left") for p in parts]
    explanations = (
        pl.concat([p.select("_row", *ex.COLUMNS) for p in parts], how="vertical_relaxed")
        .with_columns(pl.lit(as_of).alias("as_of"),
                      pl.col("kind").replace_strict(KIND_ORDER, return_dtype=pl.Int8).alias("_k"))
        .sort("_row", "_k", nulls_last=True, maintain_order=True)
        .with_columns(pl.col("value").round(DIGITS))
        .select(EXPLANATION_COLUMNS)
    )
    return ScoreResult(ratings=r.ratings, explanations=explanations, overrides_log=r.log, summary=r.summary,
                       events=r.events)


def _summary(events: pl.DataFrame, counted: int, rules: Rules, as_of: date) -> dict[str, int]:
    placed = pl.col(AE.compound_id).is_not_null()
    s = events.lazy().select(
        pl.len().alias("total"),
        (~placed).sum().alias("unplaced"),
        (placed & (pl.col(AE.method) == "excluded")).sum().alias("excluded"),
        (placed & (pl.col(AE.method) != "excluded") & ~in_window(as_of, rules)).sum().alias("out_of_window"),
        (placed & (pl.col(AE.method) != "excluded") & in_window(as_of, rules)).sum().alias("_in"),
    ).collect().row(0, named=True)
    s = {k: int(v) for k, v in s.items()}
    s["unknown_compound"] = s.pop("_in") - counted
    s["counted"] = counted
    return s
