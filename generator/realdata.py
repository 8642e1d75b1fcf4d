"""Loaders for the real Xiamen reference data shipped in `generator/realdata/` (see its README)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import polars as pl
import shapely
from shapely.geometry import shape

REALDATA = Path(__file__).parent / "realdata"


def divisions() -> pl.DataFrame:
    """Districts, streets and communities with their official codes, plus a placement weight.

    `weight` says how readily the unit hosts residential compounds: urban communities (社区)
    most, villages (村委会) little, virtual units of parks and farms (虚拟社区/生活区) not at all.
    `community_short` is the everyday name (鸿山社区, 后溪村) used in the registry.
    """
    df = pl.read_csv(REALDATA / "xiamen_divisions.csv", infer_schema=False)
    name = pl.col("community")
    return df.with_columns(
        weight=pl.when(name.str.contains("虚拟")).then(0.0)
        .when(name.str.ends_with("村委会")).then(0.15)
        .when(name.str.contains("社区")).then(1.0)
        .otherwise(0.05),
        community_short=name.str.replace(r"(居民委员会|居委会)$", "").str.replace(r"村委会$", "村"),
    )


@lru_cache(maxsize=1)
def district_shapes() -> dict[str, tuple[str, shapely.Geometry, tuple[float, float]]]:
    """District name → (district code, outline geometry (WGS-84), label point)."""
    data = json.loads((REALDATA / "xiamen_districts.geojson").read_text(encoding="utf-8"))
    out = {}
    for feat in data["features"]:
        props = feat["properties"]
        out[props["district"]] = (props["district_code"], shape(feat["geometry"]), tuple(props["label_point"]))
    return out
