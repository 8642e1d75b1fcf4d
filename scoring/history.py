"""Rating changes between rating dates: what moved since the last run, and why."""
from __future__ import annotations

import polars as pl
from pandera.typing.polars import DataFrame

from schemas.ratings import Rating as R
from schemas.ratings import RatingChange

CHANGE_COLUMNS = list(RatingChange.to_schema().columns)


def _rule_set(col: str) -> pl.Expr:
    return pl.col(col).fill_null("").str.split("|").list.eval(pl.element().filter(pl.element() != ""))


def rating_changes(previous: DataFrame[R] | None, current: DataFrame[R]) -> DataFrame[RatingChange]:
    """One row per compound of `current`: its change since its latest rating in `previous`.

    `previous` may hold several rating dates (the history table); each compound is compared
    with its own latest rating before current's `as_of`. Changes: new (first rating, or
    rated for the first time after being not_rated), vetoed, restored (vetoed before, rated
    now), not_rated, up, down, unchanged. `reason` names the rules that came or went and
    the index move.
    """
    cur = current.select(R.compound_id, R.as_of, R.stars, R.status, R.rules, R.safety_index)
    if previous is None or previous.height == 0:
        prev = cur.clear().rename({c: f"{c}_p" for c in cur.columns if c != R.compound_id})
    else:
        as_of = cur[R.as_of].max()
        prev = (
            previous.filter(pl.col(R.as_of) < as_of)
            .sort(R.as_of)
            .group_by(R.compound_id).agg(pl.all().last())
            .select(R.compound_id, R.as_of, R.stars, R.status, R.rules, R.safety_index)
            .rename({c: f"{c}_p" for c in cur.columns if c != R.compound_id})
        )
    d = cur.join(prev, on=R.compound_id, how="left", maintain_order="left")
    st, stp = pl.col(R.status), pl.col("status_p")
    change = (
        pl.when(stp.is_null()).then(pl.lit("new"))
        .when(st == "not_rated").then(pl.when(stp == "not_rated").then(pl.lit("unchanged")).otherwise(pl.lit("not_rated")))
        .when(st == "vetoed").then(pl.when(stp == "vetoed").then(pl.lit("unchanged")).otherwise(pl.lit("vetoed")))
        .when(stp == "vetoed").then(pl.lit("restored"))
        .when(stp == "not_rated").then(pl.lit("new"))
        .when(pl.col(R.stars) > pl.col("stars_p")).then(pl.lit("up"))
        .when(pl.col(R.stars) < pl.col("stars_p")).then(pl.lit("down"))
        .otherwise(pl.lit("unchanged"))
    )
    added = _rule_set(R.rules).list.set_difference(_rule_set("rules_p")).list.sort().list.join(", ")
    gone = _rule_set("rules_p").list.set_difference(_rule_set(R.rules)).list.sort().list.join(", ")
    idx = _index_move(pl.col("safety_index_p"), pl.col(R.safety_index))
    parts = pl.concat_list(
        pl.when(added != "").then(pl.format("rules fired: {}", added)),
        pl.when(gone != "").then(pl.format("rules lapsed: {}", gone)),
        pl.when(st == "not_rated").then(pl.lit("no population or household count")),
        pl.when(stp.is_not_null() & (pl.col(R.safety_index) != pl.col("safety_index_p"))).then(idx),
        pl.when(stp.is_null() & (st != "not_rated")).then(pl.format("first rating, index {}", pl.col(R.safety_index).round(1))),
    ).list.drop_nulls().list.join("; ")
    out = d.select(
        R.compound_id, R.as_of,
        pl.col("as_of_p").alias("previous_as_of"),
        change.alias("change"),
        pl.col("stars_p").alias("stars_before"),
        pl.col(R.stars).alias("stars_after"),
        parts.replace("", None).alias("reason"),
    )
    return RatingChange.validate(out.select(CHANGE_COLUMNS))


def _index_move(before: pl.Expr, after: pl.Expr) -> pl.Expr:
    """``index a → b`` with one decimal, or as many more as it takes for a move to show
    (89.9986 → 90.0046 reads "89.999 → 90.005", never "90.0 → 90.0")."""
    text = pl.format("index {} → {}", before.round(6).fill_null("–"), after.round(6).fill_null("–"))
    for d in (5, 4, 3, 2, 1):
        text = pl.when(before.round(d) != after.round(d)).then(
            pl.format("index {} → {}", before.round(d), after.round(d))).otherwise(text)
    return pl.when(before.is_null() | after.is_null()).then(
        pl.format("index {} → {}", before.round(1).fill_null("–"), after.round(1).fill_null("–"))).otherwise(text)
