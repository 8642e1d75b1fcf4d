"""The safety index (平安指数): stabilised severity-weighted incident rate, mapped to 0-100."""
from __future__ import annotations

import numpy as np
import polars as pl

from schemas.registry import Compound as C
from scoring.rules import Rules


def exposure(rules: Rules) -> pl.Expr:
    """Residents the rate is per: population when > 0, else households x persons/household."""
    pop = pl.col(C.population).cast(pl.Float64)
    hh = pl.col(C.households).cast(pl.Float64) * rules.population.persons_per_household
    n = pl.when(pop > 0).then(pop).when(hh > 0).then(hh).otherwise(None)
    return pl.when(n >= rules.sufficiency.min_exposure_residents).then(n).otherwise(None)


def index_frame(compounds: pl.DataFrame, harm: np.ndarray, rules: Rules) -> pl.DataFrame:
    """Per compound: exposure, harm, prior rate, stabilised rate R, index and index stars.

    `harm[i]` is the sum of severity x recency of compound row i's counted incidents.
    Rows keep the registry's order. Compounds without exposure get null index and 0 stars.

    R = 1000 * (H + m * mu0) / (N + m), with mu0 = min(prior rate, five-star rate). With
    `prior: five_star` (the default) the prior rate is the five-star boundary itself, so a
    compound's rating depends on its own incidents only: an incident, an override or a
    correction elsewhere never moves it. With `street`/`city` the prior is that area's
    pooled H/N; the cap means a compound is never pulled below five stars by neighbours.
    """
    m = rules.shrinkage.strength_residents
    r5 = rules.rate_threshold(5) / 1000.0
    base = (
        compounds.lazy()
        .select(C.compound_id, C.district, C.street, exposure(rules).alias("exposure"))
        .with_columns(pl.Series("harm", harm, dtype=pl.Float64))
    )
    rated = pl.col("exposure").is_not_null()
    h_r = pl.when(rated).then(pl.col("harm")).otherwise(0.0)
    n_r = pl.col("exposure").fill_null(0.0)
    if rules.shrinkage.prior == "five_star":
        prior = pl.lit(r5)
    elif rules.shrinkage.prior == "street":
        keys = [C.district, C.street]
        prior = (h_r.sum().over(keys) / n_r.sum().over(keys))
    else:
        prior = h_r.sum() / n_r.sum()
    city = h_r.sum() / n_r.sum()
    # A street with no rated resident has no rate of its own: fall back to the city's.
    prior = pl.when(prior.is_finite()).then(prior).otherwise(city.fill_nan(0.0))
    scale = rules.index.scale_per_1000
    out = base.with_columns(prior.fill_nan(0.0).fill_null(0.0).alias("prior_rate")).with_columns(
        pl.min_horizontal("prior_rate", pl.lit(r5)).alias("prior_used"),
    ).with_columns(
        pl.when(rated)
        .then(1000.0 * (pl.col("harm") + m * pl.col("prior_used")) / (pl.col("exposure") + m))
        .alias("rate"),
    ).with_columns(
        (100.0 * (-pl.col("rate") / scale).exp()).alias("safety_index"),
        index_stars(pl.col("rate"), rules).alias("index_stars"),
    )
    return out.collect()


def index_stars(rate: pl.Expr, rules: Rules) -> pl.Expr:
    """Stars earned by the index alone (floor..5); 0 when there is no rate.

    Compared on the rate scale (R <= R_k  <=>  index >= threshold_k) so that a rate
    exactly at a threshold is not lost to rounding in exp().
    """
    stars = pl.lit(1, dtype=pl.Int8)
    for k in (2, 3, 4, 5):
        stars = stars + (rate <= rules.rate_threshold(k)).cast(pl.Int8)
    stars = pl.max_horizontal(stars, pl.lit(rules.stars.floor, dtype=pl.Int8))
    return pl.when(rate.is_not_null()).then(stars).otherwise(pl.lit(0, dtype=pl.Int8))
