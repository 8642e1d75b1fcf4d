"""The monthly governance ranking (每月通报): a documented score per street, community and grid.

score = 100 x sum(weight x part), parts in [0, 1] (config/governance.yaml):
  five_star_share     five-star compounds / rated compounds (at the month's last rating date)
  no_veto_share       1 - vetoed compounds / rated compounds
  no_downgrade_share  1 - downgraded compounds / rated compounds
  on_time_share       needs closed on time / needs closed in the month
  satisfaction        ratings 满意 or 基本满意 / ratings given in the month
  checkins            min(1, check-ins per compound in the month / target)
Every share is drawn toward the city's: (count + k x city share) / (base + k), k =
score.prior_cases, so a handful of cases cannot swing a unit, and a part whose base is zero
takes the city's share: a unit neither gains nor loses by having none. Streets and communities are ranked
across the city, grids inside their street; equal (rounded) scores share a rank.
"""
from __future__ import annotations

import polars as pl

from governance.config import PARTS, GovernanceConfig

RATING_COLUMNS = ["rated_compounds", "five_star", "vetoed", "downgraded"]


def safety_by_unit(ratings: pl.DataFrame, compounds: pl.DataFrame, areas: pl.DataFrame) -> pl.DataFrame:
    """Per (level, unit_id): rated compounds and how many have five stars, a veto, a downgrade.
    ``ratings``: compound_id, stars, status of one rating date; ``areas`` as figures._areas."""
    per = ratings.select(
        "compound_id",
        rated=pl.col("status") != "not_rated",
        five=(pl.col("stars") == 5) & (pl.col("status") != "not_rated"),
        vetoed=pl.col("status") == "vetoed",
        downgraded=pl.col("status") == "downgraded",
    )
    return per.join(areas, on="compound_id", how="inner").group_by("level", "unit_id").agg(
        rated_compounds=pl.col("rated").sum().cast(pl.Int64), five_star=pl.col("five").sum().cast(pl.Int64),
        vetoed=pl.col("vetoed").sum().cast(pl.Int64), downgraded=pl.col("downgraded").sum().cast(pl.Int64))


def _share(num: str, den: str, city: dict, k: float) -> pl.Expr:
    """(count + k x city share) / (base + k): the city's share with no base, the unit's own
    share as the base grows."""
    c = city[(num, den)]
    return (pl.when(pl.col(den) + k > 0).then((pl.col(num) + k * c) / (pl.col(den) + k)).otherwise(pl.lit(c)))


def governance_scores(units: pl.DataFrame, cfg: GovernanceConfig) -> pl.DataFrame:
    """The score and its parts per unit. ``units``: unit figures (figures.unit_figures) joined
    with safety_by_unit, including the ``city`` row (its shares fill units with a zero base)."""
    city_row = units.filter(pl.col("level") == "city")
    ratios = [("five_star", "rated_compounds"), ("vetoed", "rated_compounds"), ("downgraded", "rated_compounds"),
              ("closed_on_time", "closed"), ("satisfied", "rated")]
    city = {}
    for num, den in ratios:
        n, d = (city_row[num].sum(), city_row[den].sum()) if city_row.height else (0, 0)
        # with no base anywhere the part is neutral for everyone: 1 for good shares, 0 for bad
        city[(num, den)] = n / d if d else (0.0 if num in ("vetoed", "downgraded") else 1.0)
    w, k = cfg.score.weights, cfg.score.prior_cases
    scored = units.with_columns(
        five_star_share=_share("five_star", "rated_compounds", city, k),
        no_veto_share=1 - _share("vetoed", "rated_compounds", city, k),
        no_downgrade_share=1 - _share("downgraded", "rated_compounds", city, k),
        on_time_share=_share("closed_on_time", "closed", city, k),
        satisfaction=_share("satisfied", "rated", city, k),
        checkins_part=pl.min_horizontal(
            pl.lit(1.0), pl.col("checkins") / pl.col("compounds") / cfg.score.checkins_per_compound_target),
    ).rename({"checkins_part": "checkins_share"})
    total = sum(pl.col("checkins_share" if p == "checkins" else p) * w[p] for p in PARTS)
    return scored.with_columns((100 * total).round(cfg.score.decimals).alias("score"),
                               pl.col(*(p for p in PARTS if p != "checkins"), "checkins_share").round(4))


def rank_units(scored: pl.DataFrame, cfg: GovernanceConfig) -> pl.DataFrame:
    """Rank the configured levels: streets and communities across the city, grids inside their
    street. Equal scores share the better rank; rows are ordered by level, scope, rank, unit."""
    ranked = (scored.filter(pl.col("level").is_in(list(cfg.ranking.levels)))
              .with_columns(scope=pl.when(pl.col("level") == "grid")
                            .then(pl.concat_str("district", "street", separator="/")).otherwise(pl.lit("全市"))))
    ranked = ranked.with_columns(
        rank=pl.col("score").rank("min", descending=True).over("level", "scope").cast(pl.Int64),
        of=pl.len().over("level", "scope").cast(pl.Int64))
    order = {lv: i for i, lv in enumerate(cfg.ranking.levels)}
    return (ranked.with_columns(_o=pl.col("level").replace_strict(order))
            .sort("_o", "scope", "rank", "unit_id").drop("_o"))


def with_change(current: pl.DataFrame, previous: pl.DataFrame | None, decimals: int = 1) -> pl.DataFrame:
    """Adds last month's score and rank and the change (rank_change > 0: moved up)."""
    if previous is None or previous.is_empty():
        return current.with_columns(prev_score=pl.lit(None, pl.Float64), prev_rank=pl.lit(None, pl.Int64),
                                    score_change=pl.lit(None, pl.Float64), rank_change=pl.lit(None, pl.Int64))
    prev = previous.select("level", "unit_id", prev_score="score", prev_rank="rank")
    return current.join(prev, on=["level", "unit_id"], how="left", maintain_order="left").with_columns(
        score_change=(pl.col("score") - pl.col("prev_score")).round(decimals),
        rank_change=(pl.col("prev_rank") - pl.col("rank")))
