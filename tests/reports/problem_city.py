"""Synthetic count tables for the common-problems statistics: a city of districts, streets
and compounds whose incident counts per group are Poisson, with clusters planted at a known
strength. Small enough for CI (a few milliseconds a city), shared with
bench/common_problems_bench.py, which runs many seeds."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

NOW, BEFORE = date(2026, 11, 1), date(2026, 8, 1)
# incidents per compound per three months, by group (a typical mix: theft and disputes lead)
GROUP_RATES = {"盗窃": 1.5, "纠纷": 1.2, "治安": 0.8, "诈骗": 0.6, "信访": 0.5,
               "黄赌毒": 0.15, "暴力": 0.1, "矫正帮教": 0.3}


@dataclass(frozen=True)
class Plant:
    """A cluster: in ``street``, ``group``'s rate is multiplied by ``strength`` — this period
    only (``rising``) or in both periods (``concentrated``)."""

    kind: str
    street: str
    group: str
    strength: float


@dataclass(frozen=True)
class City:
    compounds: pl.DataFrame
    now: pl.DataFrame
    before: pl.DataFrame


def city(seed: int, plants: tuple[Plant, ...] = (), *, districts: int = 6, streets: int = 6,
         per_street: int = 12) -> City:
    """Counts per compound × group for two equal periods; compounds differ in size (a gamma
    multiplier kept over both periods), so counts are over-dispersed across compounds as in
    real data, but no street or group stands out unless planted."""
    rng = np.random.default_rng(seed)
    rows = [(f"D{d}", f"D{d}S{s}", f"D{d}S{s}C{c:02d}")
            for d in range(districts) for s in range(streets) for c in range(per_street)]
    comp = pl.DataFrame(rows, schema=["district", "street", "compound_id"], orient="row").with_columns(
        pl.format("{}小区", "compound_id").alias("name"))
    size = rng.gamma(4.0, 0.25, comp.height)
    groups = list(GROUP_RATES)
    base = np.outer(size, [GROUP_RATES[g] for g in groups])
    lam_now, lam_before = base.copy(), base.copy()
    street = comp["street"].to_numpy()
    for p in plants:
        rows_in = street == p.street
        col = groups.index(p.group)
        lam_now[rows_in, col] *= p.strength
        if p.kind == "concentrated":
            lam_before[rows_in, col] *= p.strength
    return City(comp, _table(comp, groups, rng.poisson(lam_now), NOW),
                _table(comp, groups, rng.poisson(lam_before), BEFORE))


def _table(comp: pl.DataFrame, groups: list[str], counts: np.ndarray, as_of: date) -> pl.DataFrame:
    ids = np.repeat(comp["compound_id"].to_numpy(), len(groups))
    return pl.DataFrame({
        "compound_id": ids, "as_of": [as_of] * ids.size,
        "category_group": np.tile(groups, comp.height), "n": counts.ravel().astype(np.int32),
    }).filter(pl.col("n") > 0)


def found(listed: pl.DataFrame, plant: Plant) -> bool:
    """The plant is listed at its street, with its kind and group."""
    return listed.filter((pl.col("level") == "street") & (pl.col("region") == plant.street)
                         & (pl.col("group") == plant.group) & (pl.col("kind") == plant.kind)).height > 0
