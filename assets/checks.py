"""Table-level asset checks that guard what may be published. Each reads the warehouse as
written and re-derives its fact independently of the engine that wrote it."""
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from assets.common import markdown_table
from assets.ratings import RATINGS_KEY
from pipelines.resources import WAREHOUSE_POOL, Policy, Warehouse
from schemas.public import CompoundMonthly, CompoundPublicStats
from schemas.ratings import Rating
from scoring.rules import Rules

SQL = Path(__file__).with_name("sql")
# A check run on its own, without a rating date (from the UI), has no ratings to look at.
NO_DATE = dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                              description="no rating date: run the check with the ratings of a partition")
PUBLIC_COLUMNS = {
    "marts.ratings": set(Rating.to_schema().columns),
    "marts.public_stats": set(CompoundPublicStats.to_schema().columns),
    "marts.public_monthly": set(CompoundMonthly.to_schema().columns),
}


@dg.asset_check(asset=RATINGS_KEY, blocking=True, pool=WAREHOUSE_POOL, description=(
    "Public tables hold only their contract's columns (no description, address, name of a "
    "person, phone or ID column) and no value that looks like an ID or mobile number."))
def no_personal_data_in_public_tables(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
    as_of = date.fromisoformat(context.partition_key) if context.has_partition_key else None
    with warehouse.connect(read_only=True) as conn:
        extra = {}
        for table, allowed in PUBLIC_COLUMNS.items():
            schema, name = table.split(".")
            columns = {r[0] for r in conn.sql(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                params=[schema, name]).fetchall()}
            if columns - allowed:
                extra[table] = sorted(columns - allowed)
        hits = conn.sql((SQL / "public_pii.sql").read_text(), params=[as_of, as_of]).fetchall() if as_of else []
    return dg.AssetCheckResult(
        passed=not extra and not hits,
        metadata={"unexpected_columns": str(extra), "suspicious_values": len(hits),
                  "examples": str([(t, c) for t, c, _ in hits[:5]])},
    )


@dg.asset_check(asset=RATINGS_KEY, blocking=True, pool=WAREHOUSE_POOL, description=(
    "Every compound of the registry (core.compounds) has exactly one rating on the date in "
    "marts.ratings, and no rating names a compound the registry does not hold (SQL over the "
    "tables as written)."))
def every_compound_rated_once(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
    if not context.has_partition_key:
        return NO_DATE
    as_of = date.fromisoformat(context.partition_key)
    wrong = warehouse.query((SQL / "rating_coverage.sql").read_text(), [as_of, as_of])
    missing, repeated, unknown = (wrong.filter(cond) for cond in (pl.col("n") == 0, pl.col("n") > 1, pl.col("n") == -1))
    return dg.AssetCheckResult(
        passed=wrong.is_empty(),
        description=None if wrong.is_empty() else (
            f"nothing published for {as_of}: ratings do not cover the registry once each ({missing.height} "
            f"unrated, {repeated.height} rated twice, {unknown.height} not in the registry, e.g. "
            f"{', '.join(wrong['compound_id'].head(3))}); re-run the date, and report it if it persists"),
        metadata={"unrated": missing.height, "rated_more_than_once": repeated.height,
                  "not_in_registry": unknown.height, "examples": wrong["compound_id"].head(20).to_list()},
    )


def star_disagreements(ratings: pl.DataFrame, rules: Rules, margin: float = 0.0) -> pl.DataFrame:
    """Ratings whose stars the published index, status and fired rules do not explain, with
    the `problem`: re-derived from the rules' thresholds, not by the engine's code.

    The level the index earns is the highest star level whose threshold it reaches (the
    floor below the lowest); with stable stars a level may hold while the index stays within
    `margin` of a threshold, so the stars may lie between the levels of index -/+ margin.
    A downgrade lowers that level by the steps of the kinds that fired, never under the
    floor; a veto and not_rated hold 0 stars."""
    floor = rules.stars.floor
    tolerance = margin + 1e-6  # the index is published rounded

    def level(index: pl.Expr) -> pl.Expr:
        expr = pl.lit(floor)
        for star, threshold in sorted(rules.stars.thresholds.items()):
            expr = pl.when(index >= threshold).then(pl.lit(star)).otherwise(expr)
        return expr

    steps = {f"downgrade:{kind}": spec.steps for kind, spec in rules.downgrade.items()}
    fired = pl.col("rules").fill_null("").str.split("|")
    frame = ratings.with_columns(
        level(pl.col("safety_index") - tolerance).alias("_low"),
        level(pl.col("safety_index") + tolerance).alias("_high"),
        fired.list.eval(pl.element().replace_strict(steps, default=0, return_dtype=pl.Int64)).list.sum().alias("_steps"),
        fired.list.eval(pl.element().str.starts_with("veto:")).list.any().alias("_veto"),
        fired.list.eval(pl.element().str.starts_with("downgrade:")).list.any().alias("_downgrade"),
    )
    low = pl.max_horizontal(pl.col("_low") - pl.col("_steps"), pl.lit(floor))
    high = pl.max_horizontal(pl.col("_high") - pl.col("_steps"), pl.lit(floor))
    s, st = pl.col("stars").cast(pl.Int64), pl.col("status")
    problem = (
        pl.when(~st.is_in(["rated", "downgraded", "vetoed", "not_rated"])).then(pl.format("unknown status {}", st))
        .when(st == "not_rated").then(pl.when((s != 0) | pl.col("safety_index").is_not_null())
                                      .then(pl.lit("not_rated with stars or an index")))
        .when(st == "vetoed").then(pl.when((s != 0) | ~pl.col("_veto")).then(pl.lit("vetoed without 0 stars and a veto rule")))
        .when(pl.col("safety_index").is_null()).then(pl.lit("rated without an index"))
        .when(pl.col("_veto")).then(pl.lit("a veto rule fired but the status is not vetoed"))
        .when((st == "downgraded") != pl.col("_downgrade")).then(pl.lit("status and downgrade rules disagree"))
        .when((s < low) | (s > high)).then(pl.format("{} stars, the index and rules give {}..{}", s, low, high))
    )
    return (frame.with_columns(problem.alias("problem")).filter(pl.col("problem").is_not_null())
            .select("compound_id", "safety_index", "stars", "status", "rules", "problem"))


@dg.asset_check(asset=RATINGS_KEY, blocking=True, pool=WAREHOUSE_POOL, description=(
    "The stars of every rating on the date follow from its published index, status and fired "
    "rules under the ruleset's thresholds (re-derived from config/rules.yaml in this check, "
    "not by the engine's code): level by threshold, minus downgrade steps, never under the "
    "floor; 0 for vetoed and not rated."))
def stars_follow_the_rules(context: dg.AssetCheckExecutionContext, warehouse: Warehouse, policy: Policy):
    if not context.has_partition_key:
        return NO_DATE
    as_of = date.fromisoformat(context.partition_key)
    rules = policy.rules
    rated = warehouse.read("marts.ratings", where="as_of = ?", params=[as_of],
                           columns=["compound_id", "safety_index", "stars", "status", "rules"])
    margin = getattr(getattr(rules, "stable_stars", None), "margin", 0.0)
    bad = star_disagreements(rated, rules, margin)
    return dg.AssetCheckResult(
        passed=bad.is_empty(),
        description=None if bad.is_empty() else (
            f"nothing published for {as_of}: {bad.height} rating(s) whose stars the index and rules do not explain "
            f"(e.g. {bad['compound_id'][0]}: {bad['problem'][0]}); do not publish, report it with the ruleset version"),
        metadata={"disagreements": bad.height, "examples": dg.MetadataValue.md(markdown_table(bad.head(10)))},
    )
