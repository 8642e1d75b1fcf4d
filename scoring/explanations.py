"""Explanation rows (long format): what the index is made of, and how it compares."""
from __future__ import annotations

import numpy as np
import polars as pl

from scoring.rules import Rules

COLUMNS = ["compound_id", "kind", "key", "value", "detail"]
# the prior a small compound's rate is drawn toward (rules.shrinkage.prior), as the text names it
PRIOR_ZH = {"five_star": "五星线", "street": "所在街道", "city": "全市"}


def harm_matrix(counted: pl.DataFrame, n: int, by: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(harm, count) matrices of shape (n compounds, k keys) from integer-coded incidents.

    `by` is `cat` or `src`; bincount on a flat index is far cheaper than a string group-by.
    """
    flat = counted.select(pl.col("cidx") * k + pl.col(by).cast(pl.Int64)).to_series().to_numpy()
    h = np.bincount(flat, weights=counted["weight"].to_numpy(), minlength=n * k).reshape(n, k)
    c = np.bincount(flat, minlength=n * k).reshape(n, k)
    return h, c


def contribution_rows(h: np.ndarray, cnt: np.ndarray, rated: pl.DataFrame, rules: Rules,
                      keys: list[str], labels: list[str], kind: str) -> pl.DataFrame:
    """Index points each category (or source) costs a compound.

    The index loss 100 - I is shared between the terms of R in proportion to their share
    of it: a category's share is its harm/(N+m) over R; the prior's share is a `compare`
    row. For a compound without exposure the value is null (no index to explain).
    """
    m = rules.shrinkage.strength_residents
    i, j = np.nonzero(cnt)
    hij = h[i, j]
    expo = rated["exposure"].to_numpy()[i]
    rate = rated["rate"].to_numpy()[i]
    index = rated["safety_index"].to_numpy()[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(rate > 0, 1000.0 * hij / (expo + m) / rate, 0.0)
        value = (100.0 - index) * share
    return pl.DataFrame({
        "_row": i.astype(np.int64),
        "compound_id": rated["compound_id"].gather(i),
        "kind": pl.Series([kind]).gather(np.zeros(len(i), dtype=np.int64)),
        "key": pl.Series(keys).gather(j),
        "value": pl.Series(value, nan_to_null=True),
        "label": pl.Series(labels).gather(j),
        "n": cnt[i, j],
        "h": hij,
    }).select(
        "compound_id", "kind", "key", "value",
        pl.format("{}：{} 起，按严重程度加权 {}", "label", "n", pl.col("h").round(3)).alias("detail"),
    )


def main_category(h: np.ndarray, rated: pl.DataFrame, labels: list[str]) -> pl.DataFrame:
    """compound_id -> `main_label`: the category carrying most of the compound's harm."""
    rows = np.flatnonzero(h.sum(axis=1) > 0)
    top = np.argmax(h[rows], axis=1)
    return pl.DataFrame({
        "compound_id": rated["compound_id"].gather(rows),
        "main_label": pl.Series(labels).gather(top),
    })


def compare_rows(rated: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """The compound's index against its street, district and city, and the prior's share."""
    ok = pl.col("safety_index").is_not_null()
    five = (pl.col("stars") == 5) & ok
    r = rated.with_row_index("_row").with_columns(
        pl.col("_row").cast(pl.Int64),
        pl.col("safety_index").filter(ok).mean().over("district", "street").alias("street_mean"),
        pl.col("safety_index").filter(ok).mean().over("district").alias("district_mean"),
        (five.sum().over("district") / ok.sum().over("district")).alias("district_five"),
        pl.col("safety_index").filter(ok).mean().alias("city_mean"),
        (five.sum() / ok.sum()).alias("city_five"),
    )
    m = rules.shrinkage.strength_residents
    prior_pts = pl.when(pl.col("rate") > 0).then(
        (100.0 - pl.col("safety_index")) * (1000.0 * m * pl.col("prior_used") / (pl.col("exposure") + m)) / pl.col("rate")
    ).otherwise(0.0)
    parts = [
        r.select("_row", "compound_id", pl.lit("compare").alias("kind"), pl.lit("street").alias("key"),
                 pl.col("street_mean").alias("value"),
                 pl.format("{}：平均平安指数 {}", "street", pl.col("street_mean").round(1)).alias("detail")),
        r.select("_row", "compound_id", pl.lit("compare").alias("kind"), pl.lit("district").alias("key"),
                 pl.col("district_mean").alias("value"),
                 pl.format("{}：平均平安指数 {}，五星占比 {}%", "district", pl.col("district_mean").round(1),
                           (100 * pl.col("district_five")).round(1)).alias("detail")),
        r.select("_row", "compound_id", pl.lit("compare").alias("kind"), pl.lit("city").alias("key"),
                 pl.col("city_mean").alias("value"),
                 pl.format("全市：平均平安指数 {}，五星占比 {}%", pl.col("city_mean").round(1),
                           (100 * pl.col("city_five")).round(1)).alias("detail")),
        r.filter(ok).select("_row", "compound_id", pl.lit("compare").alias("kind"), pl.lit("prior").alias("key"),
                            prior_pts.alias("value"),
                            pl.format("小样本修正：向{}发生率（每千人 {} 起，不高于五星线）靠拢，"
                                      "修正权重 {} 人，本小区 {} 人",
                                      pl.lit(PRIOR_ZH[rules.shrinkage.prior]), (1000 * pl.col("prior_used")).round(3),
                                      pl.lit(int(m)), pl.col("exposure").round(0).cast(pl.Int64)).alias("detail")),
    ]
    return pl.concat(parts)


def rule_rows(fired: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """One row per rule that fired; `detail` names the incidents (internal only)."""
    return fired.select(
        "compound_id",
        pl.lit("rule").alias("kind"),
        pl.col("rule").alias("key"),
        pl.col("steps").cast(pl.Float64).alias("value"),
        pl.format("{} 起：{}", "n_events", "event_ids").alias("detail"),
    )
