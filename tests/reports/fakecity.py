"""A small synthetic city on Xiamen's real divisions, for the report tests and the map bench."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import shapely

ROOT = Path(__file__).resolve().parents[2]
OUTLINES = ROOT / "generator" / "realdata" / "xiamen_districts.geojson"
DIVISIONS = ROOT / "generator" / "realdata" / "xiamen_divisions.csv"
GROUPS = ["暴力", "盗窃", "诈骗", "黄赌毒", "治安", "纠纷", "矫正帮教", "信访"]


def outlines() -> dict:
    return json.loads(OUTLINES.read_text(encoding="utf-8"))


def compounds(n: int, seed: int = 7) -> pl.DataFrame:
    """``n`` compounds placed inside their district's real outline, on real streets."""
    rng = np.random.default_rng(seed)
    div = pl.read_csv(DIVISIONS, schema_overrides={"district_code": pl.String,
                                                   "street_code": pl.String,
                                                   "community_code": pl.String})
    div = div.filter(pl.col("community").str.contains("社区"))
    pick = div.sample(n, with_replacement=True, seed=seed).sort("community_code", maintain_order=True)
    shapes = {f["properties"]["district"]: shapely.geometry.shape(f["geometry"])
              for f in outlines()["features"]}
    lon = np.empty(n)
    lat = np.empty(n)
    dist = pick["district"].to_numpy()
    for d, geom in shapes.items():
        idx = np.flatnonzero(dist == d)
        if idx.size == 0:
            continue
        x0, y0, x1, y1 = geom.bounds
        got = np.empty((0, 2))
        while len(got) < idx.size:
            cand = np.column_stack([rng.uniform(x0, x1, idx.size * 4), rng.uniform(y0, y1, idx.size * 4)])
            got = np.vstack([got, cand[shapely.contains_xy(geom, cand[:, 0], cand[:, 1])]])
        lon[idx], lat[idx] = got[: idx.size, 0], got[: idx.size, 1]
    households = rng.integers(30, 3000, n)
    return pl.DataFrame({
        "compound_id": [f"XM{i:06d}" for i in range(n)],
        "name": [f"测试小区{i}号" for i in range(n)],
        "aliases": [None] * n,
        "district": pick["district"],
        "district_code": pick["district_code"],
        "street": pick["street"],
        "community": pick["community"],
        "grid_code": [f"S{chr(97 + i // 1000 % 26)}{i % 1000:03d}" for i in range(n)],
        "address": [None] * n,
        "households": households,
        "population": households * 3,
        "lon": lon, "lat": lat,
        "coord_sys": ["WGS84"] * n,
    }, schema_overrides={"aliases": pl.String, "address": pl.String})


def polygons(comp: pl.DataFrame, every: int = 2, half: float = 0.0008) -> dict:
    """Square polygons (clockwise, to test re-orientation) for every ``every``-th compound."""
    feats = []
    for row in comp.gather_every(every).iter_rows(named=True):
        x, y = row["lon"], row["lat"]
        ring = [[x - half, y - half], [x - half, y + half], [x + half, y + half],
                [x + half, y - half], [x - half, y - half]]
        feats.append({"type": "Feature", "properties": {"compound_id": row["compound_id"]},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": feats}


def ratings(comp: pl.DataFrame, as_of: date, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed + as_of.toordinal())
    n = comp.height
    index = np.round(rng.uniform(40, 100, n), 2)
    stars = np.clip(((index - 40) / 12).astype(int) + 1, 1, 5)
    status = np.full(n, "rated", dtype=object)
    roll = rng.random(n)
    status[roll < 0.02] = "vetoed"
    status[(roll >= 0.02) & (roll < 0.06)] = "downgraded"
    status[(roll >= 0.06) & (roll < 0.07)] = "not_rated"
    stars = np.where(np.isin(status, ["vetoed", "not_rated"]), 0, stars)
    stars = np.where(status == "downgraded", np.maximum(stars - 1, 1), stars)
    rules = np.where(status == "vetoed", "veto:homicide",
                     np.where(status == "downgraded", "downgrade:burglary", None))
    return pl.DataFrame({
        "compound_id": comp["compound_id"], "name": comp["name"],
        "district": comp["district"], "street": comp["street"],
        "safety_index": np.where(status == "not_rated", np.nan, index),
        "stars": stars, "status": status.astype(str), "rules": list(rules),
        "ruleset_version": "test-1", "as_of": as_of,
    }, schema_overrides={"stars": pl.Int8, "safety_index": pl.Float64, "rules": pl.String}
    ).with_columns(pl.col("safety_index").fill_nan(None))


def history(comp: pl.DataFrame, as_of: date, months: int = 4) -> pl.DataFrame:
    dates = [as_of - timedelta(days=30 * k) for k in range(months - 1, -1, -1)]
    return pl.concat([ratings(comp, d) for d in dates])


def public_stats(comp: pl.DataFrame, as_of: date, seed: int = 7, boost: dict | None = None) -> pl.DataFrame:
    """Counts per compound and group; ``boost`` = {(street, group): extra} adds incidents."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(comp["compound_id"].to_numpy(), len(GROUPS))
    groups = np.tile(np.array(GROUPS), comp.height)
    n = rng.poisson(1.0, ids.size)
    df = pl.DataFrame({"compound_id": ids, "as_of": as_of, "category_group": groups, "n": n},
                      schema_overrides={"n": pl.Int32})
    if boost:
        street = comp.select("compound_id", "street")
        df = df.join(street, on="compound_id")
        for (s, g), extra in boost.items():
            df = df.with_columns(
                pl.when((pl.col("street") == s) & (pl.col("category_group") == g))
                .then(pl.col("n") + extra).otherwise(pl.col("n")).cast(pl.Int32).alias("n"))
        df = df.drop("street")
    return df.filter(pl.col("n") > 0)


def changes(cur: pl.DataFrame, prev: pl.DataFrame) -> pl.DataFrame:
    j = cur.join(prev.select("compound_id", pl.col("stars").alias("before"),
                             pl.col("status").alias("status_before"),
                             pl.col("as_of").alias("previous_as_of")), on="compound_id", how="left")
    change = (
        pl.when(pl.col("before").is_null()).then(pl.lit("new"))
        .when(pl.col("status") == "vetoed").then(pl.lit("vetoed"))
        .when(pl.col("status") == "not_rated").then(pl.lit("not_rated"))
        .when(pl.col("status_before") == "vetoed").then(pl.lit("restored"))
        .when(pl.col("stars") > pl.col("before")).then(pl.lit("up"))
        .when(pl.col("stars") < pl.col("before")).then(pl.lit("down"))
        .otherwise(pl.lit("unchanged"))
    )
    return j.select(
        "compound_id", "as_of", "previous_as_of", change.alias("change"),
        pl.col("before").alias("stars_before"), pl.col("stars").alias("stars_after"),
        pl.col("rules").alias("reason"),
    )


def explanations(cur: pl.DataFrame) -> pl.DataFrame:
    ids = cur["compound_id"].to_list()
    rows = []
    for cid in ids:
        rows.append((cid, "category", "theft", 3.5, "盗窃 3 起"))
        rows.append((cid, "source", "police", 3.5, None))
        rows.append((cid, "lift", "next_star", 4.2, "指数再提高 4.2 可升一星"))
    for cid, rules in cur.filter(pl.col("rules").is_not_null()).select("compound_id", "rules").iter_rows():
        rows.append((cid, "rule", rules, None, "police:P20260101001"))
    as_of = cur["as_of"][0]
    return pl.DataFrame(rows, schema=["compound_id", "kind", "key", "value", "detail"],
                        orient="row").with_columns(pl.lit(as_of).alias("as_of"))
