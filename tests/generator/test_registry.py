"""The compound registry and its polygons."""
from __future__ import annotations

import json

import numpy as np
import polars as pl
import shapely
from shapely.geometry import shape

from generator.realdata import district_shapes
from schemas.registry import Compound


def _registry(out):
    return pl.read_csv(out / "compounds.csv", schema_overrides={"district_code": pl.String})


def test_registry_follows_the_contract(city):
    out, summary = city
    reg = Compound.validate(_registry(out))
    assert reg.height == summary["compounds"] == 200
    assert reg["compound_id"].str.contains(r"^XM\d{6}$").all()
    assert reg["grid_code"].str.len_chars().eq(5).all()
    per_grid = reg.group_by("grid_code").len()["len"]
    assert per_grid.max() > 1 and per_grid.mean() > 1.2  # several compounds per grid where communities allow
    # A grid lies in one community.
    assert reg.group_by("grid_code").agg(pl.col("community").n_unique())["community"].max() == 1
    assert reg.select(pl.col("name").is_duplicated().over("street").any()).item() is False
    assert reg["address"].str.contains(r"^\D+[路道街]\d+号$").all()
    assert set(reg["district"]) == set(district_shapes())
    hh = reg["households"].drop_nulls()
    assert hh.min() >= 30 and hh.max() <= 3000
    neither = reg.filter(pl.col("households").is_null() & pl.col("population").is_null())
    assert neither.height >= 3
    pop_only_missing = reg.filter(pl.col("households").is_not_null() & pl.col("population").is_null())
    assert pop_only_missing.height >= 1
    ratio = reg.drop_nulls("population").select(pl.col("population") / pl.col("households"))
    assert ratio.min().item() >= 2.25 and ratio.max().item() <= 3.25
    assert reg["aliases"].drop_nulls().str.contains(r"\|").any()
    island = reg.filter(pl.col("district").is_in(["思明区", "湖里区"])).height
    assert island > reg.height * 0.4


def test_polygons_are_valid_disjoint_and_inside_their_district(city):
    out, _ = city
    reg = _registry(out)
    gj = json.loads((out / "compounds.geojson").read_text(encoding="utf-8"))
    assert gj["type"] == "FeatureCollection"
    ids = [f["properties"]["compound_id"] for f in gj["features"]]
    polys = np.array([shape(f["geometry"]) for f in gj["features"]])
    assert len(set(ids)) == len(ids) and set(ids) <= set(reg["compound_id"])
    assert 0 < reg.height - len(ids) <= reg.height * 0.06  # a few compounds have a centroid only
    assert shapely.is_valid(polys).all()
    assert all(shapely.Polygon(p.exterior).exterior.is_ccw for p in polys)  # RFC 7946 winding
    tree = shapely.STRtree(polys)
    left, right = tree.query(polys, predicate="intersects")
    assert (left == right).all(), "two compound polygons intersect"
    by_id = reg.select("compound_id", "district", "lon", "lat").rows_by_key("compound_id", unique=True)
    shapes = district_shapes()
    for cid, poly in zip(ids, polys):
        district, lon, lat = by_id[cid]
        assert shapes[district][1].contains(poly), cid
        assert poly.contains(shapely.Point(lon, lat)), cid
