"""Stars, veto (一票否决) and downgrade (降星): from the index and the incidents to a rating."""
from __future__ import annotations

from datetime import date

import polars as pl

from scoring.rules import Rules


def fired_rules(rule_events: pl.DataFrame, rules: Rules, as_of: date) -> pl.DataFrame:
    """One row per compound and rule that fired: `rule` id, `steps`, the incidents.

    `rule_events`: counted incidents (`compound_id`, `category_code`, `day`, and
    optionally `event_id`). Veto: a veto category in the rating year (1 January ..
    as_of). Downgrade: a category of a downgrade kind anywhere in the window. With
    `event_id`, `event_ids` lists them sorted and `|`-joined (internal only); `last_day`
    is the latest incident's day (when the rule lapses from).
    """
    year_start = date(as_of.year, 1, 1)
    veto = (
        rule_events.lazy()
        .filter(pl.col("category_code").is_in(sorted(rules.veto_set)) & (pl.col("day") >= year_start))
        .with_columns(
            pl.lit("veto").alias("rule_type"),
            pl.col("category_code").alias("kind"),
            pl.lit(0, dtype=pl.Int32).alias("steps"),
        )
    )
    kind_of = rules.downgrade_kind_of
    steps_of = {k: v.steps for k, v in rules.downgrade.items()}
    down = (
        rule_events.lazy()
        .filter(pl.col("category_code").is_in(sorted(kind_of)))
        .with_columns(
            pl.lit("downgrade").alias("rule_type"),
            pl.col("category_code").replace_strict(kind_of, return_dtype=pl.String).alias("kind"),
        )
        .with_columns(pl.col("kind").replace_strict(steps_of, return_dtype=pl.Int32).alias("steps"))
    )
    return (
        pl.concat([veto, down])
        .group_by("compound_id", "rule_type", "kind")
        .agg(
            pl.col("steps").first(),
            *([pl.col("event_id").sort().str.join("|").alias("event_ids")] if "event_id" in rule_events.columns else []),
            pl.len().cast(pl.Int32).alias("n_events"),
            pl.col("day").max().alias("last_day"),
        )
        .with_columns(pl.format("{}:{}", "rule_type", "kind").alias("rule"))
        .sort("compound_id", "rule")
        .collect()
    )


def counted_rule_events(counted: pl.DataFrame, compound_ids: pl.Series, rules: Rules,
                        codes: list[str], events: pl.DataFrame | None = None) -> pl.DataFrame:
    """The `rule_events` input of `fired_rules` from integer-coded counted incidents.

    Costs nothing like a scan of the events' strings: only the few rows of veto or
    downgrade categories are decoded. With `events` (the frame `counted` came from),
    their `event_id`s are gathered too, for the explanations.
    """
    wanted = [i for i, c in enumerate(codes) if c in rules.veto_set or c in rules.downgrade_kind_of]
    few = counted.filter(pl.col("cat").is_in(wanted))
    out = pl.DataFrame({
        "compound_id": compound_ids.gather(few["cidx"]),
        "category_code": pl.Series(codes, dtype=pl.String).gather(few["cat"]),
        "day": few["day"].cast(pl.Date),
    })
    if events is not None:
        out = out.with_columns(events["event_id"].gather(few["_i"]).alias("event_id"))
    return out


def apply_rules(indexed: pl.DataFrame, fired: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Add `status`, `stars`, `rules` (the `|`-joined rule ids) and `steps` per compound.

    Precedence: not_rated (no exposure) > vetoed > downgraded > rated. A compound whose
    downgrade rule fired is `downgraded` even when the floor absorbs the steps (a 1-star
    compound stays at 1 star): the status says a rule holds it, whatever the arithmetic.
    """
    per = fired.group_by("compound_id").agg(
        (pl.col("rule_type") == "veto").any().alias("vetoed"),
        (pl.col("rule_type") == "downgrade").any().alias("downgraded"),
        pl.col("steps").sum().alias("steps"),
        pl.col("rule").sort().str.join("|").alias("rules"),
    )
    floor = pl.lit(rules.stars.floor, dtype=pl.Int8)
    return (
        indexed.join(per, on="compound_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("vetoed").fill_null(False),
            pl.col("downgraded").fill_null(False),
            pl.col("steps").fill_null(0).cast(pl.Int32),
        )
        .with_columns(
            pl.when(pl.col("rate").is_null()).then(pl.lit("not_rated"))
            .when(pl.col("vetoed")).then(pl.lit("vetoed"))
            .when(pl.col("downgraded")).then(pl.lit("downgraded"))
            .otherwise(pl.lit("rated"))
            .alias("status"),
        )
        .with_columns(
            pl.when(pl.col("status").is_in(["not_rated", "vetoed"])).then(pl.lit(0, dtype=pl.Int8))
            .otherwise(pl.max_horizontal(pl.col("index_stars") - pl.col("steps").cast(pl.Int8), floor))
            .cast(pl.Int8)
            .alias("stars"),
        )
    )
