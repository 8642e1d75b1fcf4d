"""One month's ranking from the warehouse's needs, check-ins, ratings and registry frames."""
from __future__ import annotations

from datetime import date, datetime, time

import polars as pl

from governance.config import GovernanceConfig
from governance.figures import _areas, need_facts, unit_figures
from governance.ranking import governance_scores, rank_units, safety_by_unit, with_change


def month_end(first: date) -> date:
    """The last day of the month that starts on ``first``."""
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def previous_month(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def month_scores(first: date, needs: pl.DataFrame, events: pl.DataFrame, checkins: pl.DataFrame,
                 compounds: pl.DataFrame, ratings: pl.DataFrame | None, cfg: GovernanceConfig) -> pl.DataFrame:
    """Every unit's figures, safety counts, score parts and score for the month starting on
    ``first`` (needs as of the month's last moment; ``ratings``: the month's last rating date,
    or None when the month has none)."""
    last = month_end(first)
    facts = need_facts(needs, events, datetime.combine(last, time.max))
    figures = unit_figures(facts, events, checkins, compounds, first, last, cfg.satisfied)
    rated = ratings if ratings is not None else pl.DataFrame(
        schema={"compound_id": pl.String, "stars": pl.Int64, "status": pl.String})
    safety = safety_by_unit(rated, compounds, _areas(compounds))
    units = figures.join(safety, on=["level", "unit_id"], how="left").with_columns(
        pl.col("rated_compounds", "five_star", "vetoed", "downgraded").fill_null(0))
    return governance_scores(units, cfg)


def monthly_ranking(first: date, needs: pl.DataFrame, events: pl.DataFrame, checkins: pl.DataFrame,
                    compounds: pl.DataFrame, ratings: pl.DataFrame | None, previous_ratings: pl.DataFrame | None,
                    cfg: GovernanceConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(ranked units of the month with last month's score and rank and the change, the
    month's figures for every level including district and city)."""
    current = month_scores(first, needs, events, checkins, compounds, ratings, cfg)
    prev = previous_month(first)
    # Scores compare only when last month was rated too (its safety parts are half the score).
    before = (rank_units(month_scores(prev, needs, events, checkins, compounds, previous_ratings, cfg), cfg)
              if previous_ratings is not None else None)
    ranked = with_change(rank_units(current, cfg), before, cfg.score.decimals)
    return ranked.with_columns(pl.lit(first).alias("month")), current.with_columns(pl.lit(first).alias("month"))
