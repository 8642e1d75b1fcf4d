"""Stars, veto (一票否决) and downgrade (降星): from the index and the incidents to a rating."""
from __future__ import annotations

from datetime import date, timedelta

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


def held_levels(indexed: pl.DataFrame, previous: pl.DataFrame | None, rules: Rules, as_of: date) -> pl.DataFrame:
    """Stable stars: replace `index_stars` (the level the index earns) by the level held
    from the previous rating unless the index passed a threshold by the margin, or stayed
    across it at every nightly rating of the last `stable_stars.days` days.

    `previous`: earlier ratings (`compound_id`, `as_of`, `stars`, `status`, `rules`,
    `safety_index`), the latest per compound being its previous rating; the last `days`
    days of them are read for the persistence rule. Adds `plain_stars` (the level from the
    thresholds alone). A compound without a previous level (new, vetoed or not rated
    before) takes the plain level. Vetoes and downgrades are applied afterwards, at once.
    """
    st = rules.stable_stars
    plain = pl.col("index_stars")
    out = indexed.with_columns(plain.alias("plain_stars"))
    if previous is None or previous.height == 0:
        return out
    prev = previous.filter(pl.col("as_of") < as_of)
    latest = (prev.sort("as_of").group_by("compound_id").agg(pl.all().last())
              .select("compound_id", _previous_level(rules).alias("_held")))
    idx = pl.col("safety_index")
    up = pl.min_horizontal(_level(idx, st.margin, rules), plain) if st.margin else plain
    keep = pl.max_horizontal(_level(idx, -st.margin, rules), plain) if st.margin else plain
    out = out.join(latest, on="compound_id", how="left", maintain_order="left")
    window = _persistence_window(prev, rules, as_of)
    if window is not None:
        out = out.join(window, on="compound_id", how="left", maintain_order="left")
        lo = pl.min_horizontal("_lo", idx)
        hi = pl.max_horizontal("_hi", idx)
        up = pl.when(pl.col("_lo").is_not_null()).then(pl.max_horizontal(up, _level(lo, 0.0, rules))).otherwise(up)
        keep = pl.when(pl.col("_hi").is_not_null()).then(pl.min_horizontal(keep, _level(hi, 0.0, rules))).otherwise(keep)
    held = pl.max_horizontal(up, pl.min_horizontal(pl.col("_held"), keep)).cast(pl.Int8)
    out = out.with_columns(
        pl.when(pl.col("rate").is_null()).then(plain)
        .when(pl.col("_held").is_null()).then(plain)
        .otherwise(held).alias("index_stars"))
    return out.drop("_held", "_lo", "_hi", strict=False)


def _level(index: pl.Expr, offset: float, rules: Rules) -> pl.Expr:
    """Stars from the index against every threshold moved by `offset` points (floor..5)."""
    stars = pl.lit(1, dtype=pl.Int8)
    for k in (2, 3, 4, 5):
        stars = stars + (index >= rules.stars.thresholds[k] + offset).cast(pl.Int8)
    return pl.max_horizontal(stars, pl.lit(rules.stars.floor, dtype=pl.Int8))


def _previous_level(rules: Rules) -> pl.Expr:
    """The index level a previous rating held: its stars when rated; its stars plus the
    downgrade steps when downgraded (at the floor, where the steps may have been absorbed,
    the level its index gives within what the steps allow); none after a veto or not_rated."""
    steps = pl.lit(0, dtype=pl.Int32)
    for kind, spec in rules.downgrade.items():
        fired = pl.col("rules").fill_null("").str.split("|").list.contains(pl.lit(f"downgrade:{kind}"))
        steps = steps + fired.cast(pl.Int32) * spec.steps
    stars, floor = pl.col("stars").cast(pl.Int32), rules.stars.floor
    at_floor = pl.min_horizontal(pl.max_horizontal(_level(pl.col("safety_index"), 0.0, rules).cast(pl.Int32), floor),
                                 stars + steps)
    return (
        pl.when(pl.col("status") == "rated").then(stars)
        .when((pl.col("status") == "downgraded") & (stars > floor)).then(pl.min_horizontal(stars + steps, 5))
        .when(pl.col("status") == "downgraded").then(at_floor)
        .otherwise(None)
        .cast(pl.Int8)
    )


def _persistence_window(prev: pl.DataFrame, rules: Rules, as_of: date) -> pl.DataFrame | None:
    """Per compound, the least and greatest index of the previous `days - 1` nightly
    ratings, when every one of those nights was rated (else no persistence rule)."""
    days = rules.stable_stars.days
    if days < 2:
        return None
    start = as_of - timedelta(days=days - 1)
    recent = prev.filter((pl.col("as_of") >= start) & (pl.col("as_of") < as_of))
    if recent["as_of"].n_unique() < days - 1:
        return None
    return (recent.group_by("compound_id")
            .agg(pl.col("safety_index").min().alias("_lo"), pl.col("safety_index").max().alias("_hi"),
                 pl.col("safety_index").count().alias("_n"))
            .filter(pl.col("_n") == days - 1).drop("_n"))


def stable_rows(rated: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Explanation rows (kind `rule`, key `stable`) for compounds whose level is held
    against what the thresholds alone would give, with what it takes to change it."""
    st = rules.stable_stars
    t = {k: v for k, v in rules.stars.thresholds.items()}
    held, plain = pl.col("index_stars"), pl.col("plain_stars")
    # the threshold in question: the next one above the held level, or the held level's own
    up_t = pl.col("index_stars").add(1).replace_strict(t, default=None, return_dtype=pl.Float64)
    own_t = pl.col("index_stars").replace_strict(t, default=None, return_dtype=pl.Float64)
    idx = pl.col("safety_index").round(3)  # 90.005 next to the line 90, not "90.0"
    if st.days >= 2:
        up = pl.format(f"平安指数 {{}} 已达 {{}} 星线 {{}}，但未超过缓冲 {{}} 分（需达到 {{}}，或连续 {st.days} "
                       "天每晚不低于 {}）：星级保持 {} 星",
                       idx, held + 1, up_t, pl.lit(st.margin), (up_t + st.margin).round(2), up_t, held)
        down = pl.format(f"平安指数 {{}} 低于 {{}} 星线 {{}}，但未低于缓冲 {{}} 分（低于 {{}}，或连续 {st.days} "
                         "天每晚低于 {}，才降星）：星级保持 {} 星",
                         idx, held, own_t, pl.lit(st.margin), (own_t - st.margin).round(2), own_t, held)
    else:
        up = pl.format("平安指数 {} 已达 {} 星线 {}，但未超过缓冲 {} 分（需达到 {}）：星级保持 {} 星",
                       idx, held + 1, up_t, pl.lit(st.margin), (up_t + st.margin).round(2), held)
        down = pl.format("平安指数 {} 低于 {} 星线 {}，但未低于缓冲 {} 分（低于 {} 才降星）：星级保持 {} 星",
                         idx, held, own_t, pl.lit(st.margin), (own_t - st.margin).round(2), held)
    detail = pl.when(plain > held).then(up).otherwise(down)
    return rated.filter(pl.col("plain_stars").is_not_null() & (plain != held) & pl.col("rate").is_not_null()).select(
        "compound_id",
        pl.lit("rule").alias("kind"),
        pl.lit("stable").alias("key"),
        plain.cast(pl.Float64).alias("value"),
        detail.alias("detail"),
    )
