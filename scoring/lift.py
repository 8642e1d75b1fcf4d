"""What would lift a compound to the next star: rating forecasts with no further incidents."""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from scoring.rules import Rules
from scoring.window import add_months, epoch_day


def horizons(as_of: date, rules: Rules) -> list[tuple[date, str]]:
    """Future rating dates to test, with a plain label: each month ahead over the window,
    plus the next 1 January (when a veto lapses)."""
    out = {add_months(as_of, k): f"{k} 个月" for k in range(1, rules.window.months + 1)}
    jan1 = date(as_of.year + 1, 1, 1)
    out.setdefault(jan1, f"{(jan1 - as_of).days} 天")
    return sorted(out.items())


def lift_rows(rated: pl.DataFrame, counted: pl.DataFrame, fired: pl.DataFrame, rules: Rules,
              as_of: date, main_category: pl.DataFrame) -> pl.DataFrame:
    """Explanation rows of kind `lift` for compounds below five stars.

    Forecast, for each horizon, the rating on that date if no further incident is counted
    (events age by the recency decay and leave the window; a downgrade lapses 12 months
    after its last incident; a veto lapses on 1 January; the prior rate is held as today).
    The first horizon where the stars rise becomes the `next_star` row; each downgrade
    also gets a row with its lapse date. `main_category` maps compound_id -> label of the
    category carrying most of its harm.
    """
    hz = horizons(as_of, rules)
    dates = [d for d, _ in hz]
    labels = [lab for _, lab in hz]
    cuts = [add_months(d, -rules.window.months) for d in dates]  # counted at d iff day > cut
    days_ahead = np.array([(d - as_of).days for d in dates], dtype=np.float64)
    decay = 0.5 ** (days_ahead / rules.window.half_life_days)

    todo = (
        rated.with_row_index("row")
        .filter(pl.col("status").is_in(["rated", "downgraded", "vetoed"]) & (pl.col("stars") < 5))
        .select("row", "compound_id", "exposure", "prior_used", "stars", "status", "index_stars")
        .with_row_index("idx")
    )
    n, nh = todo.height, len(dates)
    if n == 0:
        return _empty()
    # Counted at horizon j iff day > cuts[j]; bucket = number of such horizons. Days span
    # one window, so a lookup table by day beats a binary search per incident.
    cut_days = np.array([epoch_day(c) for c in cuts], dtype=np.int64)
    first = epoch_day(add_months(as_of, -rules.window.months))
    table = np.searchsorted(cut_days, np.arange(first, epoch_day(as_of) + 1), side="left")
    bucket = table[np.clip(counted["day"].to_numpy() - first, 0, len(table) - 1)]
    # s[i, b]: today's weight of compound i's incidents with bucket b, for every compound
    # (one bincount), then only the rows to forecast are kept.
    flat = counted["cidx"].to_numpy() * (nh + 1) + bucket
    s = np.bincount(flat, weights=counted["weight"].to_numpy(), minlength=rated.height * (nh + 1))
    s = s.reshape(rated.height, nh + 1)[todo["row"].to_numpy()]
    # remaining[i, j]: the part still counted at horizon j (bucket b is counted at j < b).
    remaining = np.cumsum(s[:, ::-1], axis=1)[:, ::-1][:, 1:]
    m = rules.shrinkage.strength_residents
    expo = todo["exposure"].to_numpy()[:, None]
    prior = todo["prior_used"].to_numpy()[:, None]
    rate = 1000.0 * (remaining * decay[None, :] + m * prior) / (expo + m)
    # stable stars: a rise needs the threshold passed by the margin; the held level stays
    istars = np.ones((n, nh), dtype=np.int64)
    for k in (2, 3, 4, 5):
        istars += rate <= rules.rate_threshold(k, rules.stable_stars.margin)
    istars = np.maximum(istars, todo["index_stars"].to_numpy().astype(np.int64)[:, None])
    index = 100.0 * np.exp(-rate / rules.index.scale_per_1000)

    # Downgrades active at horizon j: their last incident still counted there.
    down = fired.filter(pl.col("rule_type") == "downgrade").join(todo.select("compound_id", "idx"), on="compound_id")
    steps = np.zeros((n, nh), dtype=np.int64)
    if down.height:
        last_bucket = np.searchsorted(np.array(cuts, dtype="datetime64[D]"),
                                      down["last_day"].to_numpy().astype("datetime64[D]"), side="left")
        active = np.arange(nh)[None, :] < last_bucket[:, None]
        np.add.at(steps, down["idx"].to_numpy(), active * down["steps"].to_numpy()[:, None])
    final = np.maximum(istars - steps, rules.stars.floor)
    vetoed = (todo["status"] == "vetoed").to_numpy()[:, None]
    same_year = np.array([d.year == as_of.year for d in dates])[None, :]
    final = np.where(vetoed & same_year, 0, final)

    current = todo["stars"].to_numpy()[:, None]
    rises = final > current
    has = rises.any(axis=1)
    j = np.argmax(rises, axis=1)
    rows = np.arange(n)
    forecast = pl.DataFrame({
        "idx": np.arange(n, dtype=np.uint32),
        "h_date": np.array(dates, dtype="datetime64[D]")[j],
        "h_label": np.array(labels, dtype=object)[j].astype(str),
        "days": days_ahead[j],
        "to_stars": final[rows, j],
        "to_index": index[rows, j],
        "has": has,
    }).filter(pl.col("has"))
    nxt = (
        todo.join(forecast, on="idx", how="inner")
        .join(main_category, on="compound_id", how="left")
        .with_columns(pl.col("main_label").fill_null("案事件"))
        .select(
            pl.col("row").cast(pl.Int64).alias("_row"),
            "compound_id",
            pl.lit("lift").alias("kind"),
            pl.lit("next_star").alias("key"),
            pl.col("days").alias("value"),
            pl.when(pl.col("status") == "vetoed")
            .then(pl.format(
                "本评定年度一票否决：{} 前不得评星；此后若无新的计分案事件，将为 {} 星（平安指数 {}）",
                pl.col("h_date").cast(pl.String), "to_stars", pl.col("to_index").round(1)))
            .otherwise(pl.format(
                "若今后 {}内不再发生{}（或其他计分案事件）：到 {} 将为 {} 星（平安指数 {}）",
                "h_label", "main_label", pl.col("h_date").cast(pl.String), "to_stars", pl.col("to_index").round(1)))
            .alias("detail"),
        )
    )
    lapse = (
        fired.filter(pl.col("rule_type") == "downgrade")
        .join(todo.select("compound_id", "row"), on="compound_id")
        .with_columns(pl.col("last_day").dt.offset_by(f"{rules.window.months}mo").alias("lapse"))
        .select(
            pl.col("row").cast(pl.Int64).alias("_row"),
            "compound_id",
            pl.lit("lift").alias("kind"),
            "rule",
            (pl.col("lapse") - pl.lit(as_of)).dt.total_days().cast(pl.Float64).alias("value"),
            pl.format("{}降星（降 {} 星）于 {} 失效，前提是此后不再发生{}",
                      pl.col("kind").replace_strict({k: v.label for k, v in rules.downgrade.items()}, default=pl.col("kind")),
                      "steps", pl.col("lapse").cast(pl.String),
                      pl.col("kind").replace_strict({k: v.label for k, v in rules.downgrade.items()}, default=pl.col("kind")))
            .alias("detail"),
        )
        .rename({"rule": "key"})
    )
    return pl.concat([nxt, lapse], how="vertical_relaxed")


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"_row": pl.Int64, "compound_id": pl.String, "kind": pl.String, "key": pl.String,
                                "value": pl.Float64, "detail": pl.String})
