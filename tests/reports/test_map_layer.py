"""The map layer: valid RFC 7946 GeoJSON, one feature per compound, a faithful GCJ-02 copy."""
from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest
import shapely
from shapely.geometry import shape

from geo.coords import haversine_m, wgs84_to_gcj02
from reports.common_problems import common_problems, leading_group
from reports.map_layer import PROPERTY_NAMES, build_features, write_map_layers

BASE = ["compounds", "hotspots", "districts", "streets", "grids"]
LAYERS = [f"{b}{s}.geojson" for b in BASE for s in ("", "_gcj02")]


def _hulls(comp: pl.DataFrame, keys: list[str]) -> dict:
    """Outlines around each street's (or community's) compounds: stand-ins for real ones."""
    feats = []
    for key, part in comp.group_by(keys, maintain_order=True):
        hull = shapely.convex_hull(shapely.multipoints(part.select("lon", "lat").to_numpy())).buffer(0.003)
        feats.append({"type": "Feature", "properties": dict(zip(keys, key)),
                      "geometry": shapely.geometry.mapping(hull)})
    return {"type": "FeatureCollection", "features": feats}


@pytest.fixture(scope="module")
def layers(city, tmp_path_factory):
    lead = leading_group(city["stats_cur"])
    feats = build_features(city["compounds"], city["polygons"], city["ratings"], lead)
    probs = common_problems(city["stats_cur"], city["stats_prev"], city["compounds"])
    out = tmp_path_factory.mktemp("map")
    streets = _hulls(city["compounds"], ["district", "street"])
    grids = _hulls(city["compounds"], ["district", "street", "community"])
    paths = write_map_layers(out, feats, probs, city["outlines"], street_outlines=streets, grid_outlines=grids)
    return {"features": feats, "paths": paths, "dir": out, "problems": probs, "lead": lead,
            "streets": streets, "grids": grids}


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _rings(geom):
    polys = [geom] if geom.geom_type == "Polygon" else list(geom.geoms)
    for p in polys:
        yield p.exterior, True
        for r in p.interiors:
            yield r, False


def _coords(obj):
    if isinstance(obj, (int, float)):
        yield obj
    else:
        for o in obj:
            yield from _coords(o)


def test_writes_every_layer_with_its_gcj02_copy(layers, city, tmp_path):
    assert sorted(p.name for p in layers["paths"]) == sorted(LAYERS)
    # without street or grid outlines in the data, those layers are not written (nor kept)
    for stale in ("streets.geojson", "grids_gcj02.geojson"):
        (tmp_path / stale).write_text("{}", encoding="utf-8")
    paths = write_map_layers(tmp_path, layers["features"], layers["problems"], city["outlines"])
    assert sorted(p.name for p in paths) == sorted(f"{b}{s}.geojson" for b in BASE[:3] for s in ("", "_gcj02"))
    assert not (tmp_path / "streets.geojson").exists() and not (tmp_path / "grids_gcj02.geojson").exists()


@pytest.mark.parametrize("base", BASE)
def test_every_gcj02_layer_is_its_wgs84_layer_shifted(layers, base):
    wgs = _load(layers["dir"] / f"{base}.geojson")["features"]
    gcj = _load(layers["dir"] / f"{base}_gcj02.geojson")["features"]
    assert len(wgs) == len(gcj) > 0
    assert [f["properties"] for f in wgs] == [f["properties"] for f in gcj]
    for a, b in zip(wgs, gcj):
        if a["geometry"] is None:
            assert b["geometry"] is None
            continue
        moved = shapely.transform(shape(a["geometry"]), lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1])))
        # the same shape shifted, up to the 1e-6° snapping
        assert shapely.hausdorff_distance(moved, shape(b["geometry"])) < 3e-6


def test_street_and_grid_layers_keep_their_names(layers):
    streets = _load(layers["dir"] / "streets.geojson")["features"]
    assert len(streets) == len(layers["streets"]["features"])
    assert {f["properties"]["street"] for f in streets} == {f["properties"]["street"] for f in layers["streets"]["features"]}
    grids = _load(layers["dir"] / "grids.geojson")["features"]
    assert set(grids[0]["properties"]) == {"district", "street", "community", "grid_code"}


def test_unusable_outline_files_say_what_to_do(tmp_path):
    from reports.map_layer import read_outlines

    assert read_outlines(tmp_path / "streets.geojson") is None
    (tmp_path / "streets.geojson").write_bytes(b"\xff not json")
    with pytest.raises(ValueError, match="re-export it as UTF-8 GeoJSON or remove it") as e:
        read_outlines(tmp_path / "streets.geojson")
    assert "\n" not in str(e.value)
    (tmp_path / "grids.geojson").write_text('{"type": "Feature"}', encoding="utf-8")
    with pytest.raises(ValueError, match="expected a GeoJSON FeatureCollection"):
        read_outlines(tmp_path / "grids.geojson")


@pytest.mark.parametrize("name", LAYERS)
def test_layers_are_rfc7946(layers, name):
    fc = _load(layers["dir"] / name)
    for coords in re.findall(rb'"coordinates":(\[[-\d.,\[\]]*\])', (layers["dir"] / name).read_bytes()):
        assert all(len(d) <= 6 for d in re.findall(rb"\.(\d+)", coords)), "written as 6 decimals at most"
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    assert fc["features"], name
    for f in fc["features"]:
        assert f["type"] == "Feature"
        if f["geometry"] is None:
            continue
        g = shape(f["geometry"])
        assert g.is_valid, (name, f["properties"])
        xs = list(_coords(f["geometry"]["coordinates"]))
        assert all(round(v, 6) == v for v in xs), "coordinates rounded to 6 decimals"
        lon, lat = np.array(xs[0::2]), np.array(xs[1::2])
        assert ((lon > 117) & (lon < 119) & (lat > 24) & (lat < 25.5)).all(), "lon/lat order"
        if g.geom_type in ("Polygon", "MultiPolygon"):
            for ring, exterior in _rings(g):
                assert ring.is_ccw == exterior, "right-hand rule: exterior CCW, holes CW"


def test_one_feature_per_compound_with_properties(layers, city):
    fc = _load(layers["dir"] / "compounds.geojson")
    comp = city["compounds"]
    assert [f["properties"]["id"] for f in fc["features"]] == sorted(comp["compound_id"].to_list())
    for f in fc["features"]:
        assert tuple(f["properties"]) == PROPERTY_NAMES
    with_polygon = {f["properties"]["compound_id"] for f in city["polygons"]["features"]}
    kinds = {f["properties"]["id"]: f["geometry"]["type"] for f in fc["features"]}
    assert {k for k, t in kinds.items() if t == "Polygon"} == with_polygon
    assert {k for k, t in kinds.items() if t == "Point"} == set(comp["compound_id"]) - with_polygon
    # the figures come from the ratings and the leading group
    rated = city["ratings"].select("compound_id", "stars", "status").rows_by_key("compound_id")
    lead = dict(layers["lead"].rows())
    for f in fc["features"]:
        p = f["properties"]
        assert (p["stars"], p["status"]) == rated[p["id"]][0]
        assert p["leading_group"] == lead.get(p["id"])


def test_clockwise_input_polygons_are_reoriented(city):
    # fakecity writes its squares clockwise; the layer must turn them counter-clockwise
    ring = city["polygons"]["features"][0]["geometry"]["coordinates"][0]
    assert not shapely.LinearRing(ring).is_ccw


def test_deterministic_bytes(layers, city, tmp_path):
    again = build_features(city["compounds"].reverse(), city["polygons"], city["ratings"].reverse(),
                           layers["lead"].reverse())
    paths = write_map_layers(tmp_path, again, layers["problems"], city["outlines"],
                             street_outlines=layers["streets"], grid_outlines=layers["grids"])
    for p in paths:
        assert p.read_bytes() == (layers["dir"] / p.name).read_bytes(), p.name


def test_gcj02_copy_is_the_published_offset(layers):
    wgs = _load(layers["dir"] / "compounds.geojson")["features"]
    gcj = _load(layers["dir"] / "compounds_gcj02.geojson")["features"]
    assert [f["properties"] for f in wgs] == [f["properties"] for f in gcj]
    pts = [(a["geometry"]["coordinates"], b["geometry"]["coordinates"]) for a, b in zip(wgs, gcj)
           if a["geometry"]["type"] == "Point"]
    src = np.array([p[0] for p in pts])
    got = np.array([p[1] for p in pts])
    exp_lon, exp_lat = wgs84_to_gcj02(src[:, 0], src[:, 1])
    np.testing.assert_allclose(got[:, 0], exp_lon, atol=1.5e-6)
    np.testing.assert_allclose(got[:, 1], exp_lat, atol=1.5e-6)
    shift = haversine_m(src[:, 0], src[:, 1], got[:, 0], got[:, 1])
    assert (shift > 200).all() and (shift < 1000).all(), "Xiamen's GCJ-02 shift is a few hundred metres"
    # polygons move by the same offset as their vertices
    poly = [(a, b) for a, b in zip(wgs, gcj) if a["geometry"]["type"] == "Polygon"][0]
    expected = shapely.transform(shape(poly[0]["geometry"]),
                                 lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1])))
    moved = shape(poly[1]["geometry"])
    assert shapely.equals_exact(shapely.normalize(moved), shapely.normalize(expected), tolerance=1.5e-6)


def test_geopandas_reads_the_layers(layers, city):
    gpd = pytest.importorskip("geopandas")
    for name in LAYERS:
        gdf = gpd.read_file(layers["dir"] / name, engine="pyogrio")
        assert len(gdf) == len(_load(layers["dir"] / name)["features"])
        assert gdf.crs is not None and gdf.crs.to_epsg() == 4326
    gdf = gpd.read_file(layers["dir"] / "compounds.geojson", engine="pyogrio")
    assert set(PROPERTY_NAMES) - {"id"} <= set(gdf.columns)
    assert len(gdf) == city["compounds"].height


def test_hotspots_sit_on_their_region(layers, city):
    hs = _load(layers["dir"] / "hotspots.geojson")["features"]
    assert len(hs) == layers["problems"].height
    comp = city["compounds"]
    labels = {f["properties"]["district"]: f["properties"]["label_point"] for f in city["outlines"]["features"]}
    for f in hs:
        p = f["properties"]
        assert {"rank", "kind", "level", "region", "group", "n_now", "effect", "q_value"} <= set(p)
        x, y = f["geometry"]["coordinates"]
        if p["level"] == "district":
            assert [x, y] == pytest.approx(labels[p["region"]], abs=1e-6)
        else:
            members = comp.filter((pl.col("street") == p["region"]) & (pl.col("district") == p["district"]))
            assert members.height > 0
            # the mean of the compounds' points (polygon compounds count by a surface point)
            assert abs(x - members["lon"].mean()) < 0.002 and abs(y - members["lat"].mean()) < 0.002


def test_districts_carry_their_figures(layers, city):
    ds = _load(layers["dir"] / "districts.geojson")["features"]
    assert {f["properties"]["district"] for f in ds} == {f["properties"]["district"] for f in city["outlines"]["features"]}
    cur = city["ratings"]
    for f in ds:
        p = f["properties"]
        sub = cur.filter(pl.col("district") == p["district"])
        assert p["compounds"] == sub.height
        assert p["five_star"] == (sub["stars"] == 5).sum()


def test_without_outlines_districts_are_derived_hulls(layers, tmp_path, city):
    write_map_layers(tmp_path, layers["features"], layers["problems"].head(0), None)
    ds = _load(tmp_path / "districts.geojson")["features"]
    assert ds and all(f["properties"]["derived"] for f in ds)
    comp = city["compounds"]
    for f in ds:
        g = shape(f["geometry"])
        sub = comp.filter(pl.col("district") == f["properties"]["district"])
        assert shapely.contains_xy(g, sub["lon"].to_numpy(), sub["lat"].to_numpy()).all()
    assert _load(tmp_path / "hotspots.geojson")["features"] == []


def test_bad_geometry_input_never_vanishes(city):
    comp = city["compounds"].head(4).with_columns(
        pl.when(pl.col("compound_id") == "XM000001").then(None).otherwise(pl.col("lon")).alias("lon"))
    # compound 0: a malformed polygon → its point; compound 1: no coordinates → null geometry;
    # compound 2: a self-intersecting bow-tie → repaired to valid polygons
    x, y = comp["lon"][2], comp["lat"][2]
    bowtie = [[x, y], [x + 0.001, y + 0.001], [x + 0.001, y], [x, y + 0.001], [x, y]]
    polys = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"compound_id": "XM000000"}, "geometry": {"type": "Polygon", "coordinates": [[1, 2]]}},
        {"type": "Feature", "properties": {"compound_id": "XM000002"}, "geometry": {"type": "Polygon", "coordinates": [bowtie]}},
    ]}
    fc = build_features(comp, polys, city["ratings"], pl.DataFrame(schema={"compound_id": pl.String, "leading_group": pl.String}))
    by = {f["id"]: f["geometry"] for f in json.loads(fc.json())["features"]}
    assert len(by) == 4
    assert by["XM000000"]["type"] == "Point"
    assert by["XM000001"] is None
    assert by["XM000002"]["type"] in ("Polygon", "MultiPolygon") and shape(by["XM000002"]).is_valid


def test_compound_coordinates_in_gcj02_are_brought_back_to_wgs84(city):
    comp = city["compounds"].head(3)
    g_lon, g_lat = wgs84_to_gcj02(comp["lon"].to_numpy(), comp["lat"].to_numpy())
    shifted = comp.with_columns(pl.Series("lon", g_lon), pl.Series("lat", g_lat), pl.lit("GCJ02").alias("coord_sys"))
    fc = build_features(shifted, None, city["ratings"], pl.DataFrame(schema={"compound_id": pl.String, "leading_group": pl.String}))
    got = np.array([f["geometry"]["coordinates"] for f in json.loads(fc.json())["features"]])
    np.testing.assert_allclose(got, comp.select("lon", "lat").to_numpy(), atol=2e-6)


def test_unrated_compound_is_shown_as_not_rated(city):
    comp = city["compounds"].head(2)
    fc = build_features(comp, None, city["ratings"].filter(pl.col("compound_id") != "XM000000"),
                        pl.DataFrame(schema={"compound_id": pl.String, "leading_group": pl.String}))
    p = {f["id"]: f["properties"] for f in json.loads(fc.json())["features"]}["XM000000"]
    assert (p["status"], p["stars"], p["safety_index"]) == ("not_rated", 0, None)


def test_geometry_cache_gives_the_same_layer_without_reading_the_outlines(layers, city, tmp_path):
    from reports.map_layer import GeometryCache

    cache = GeometryCache(tmp_path / "cache", "digest-1")
    lead = layers["lead"]
    first = build_features(city["compounds"], lambda: city["polygons"], city["ratings"], lead, cache=cache)

    def must_not_load():
        raise AssertionError("the outlines were read although the cache holds them")

    # Other ratings (new stars) with the same outlines and compounds: a hit, and the new properties.
    rerated = city["ratings"].with_columns(pl.lit(1).alias("stars"))
    hit = build_features(city["compounds"], must_not_load, rerated, lead, cache=cache)
    fresh = build_features(city["compounds"], city["polygons"], rerated, lead)
    for system in ("WGS84", "GCJ02"):
        assert hit.json(system) == fresh.json(system) != first.json(system)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    paths = write_map_layers(tmp_path / "a", hit, layers["problems"], city["outlines"])
    write_map_layers(tmp_path / "b", fresh, layers["problems"], city["outlines"])
    for p in paths:
        assert p.read_bytes() == (tmp_path / "b" / p.name).read_bytes(), p.name
    assert len(list((tmp_path / "cache").glob("*.shapes.json"))) == 1

    # Another outline file, or a compound that moved, is computed afresh.
    calls = []
    build_features(city["compounds"], lambda: calls.append(1) or city["polygons"], city["ratings"], lead,
                   cache=GeometryCache(tmp_path / "cache", "digest-2"))
    moved = city["compounds"].with_columns(pl.col("lon") + 0.001)
    build_features(moved, lambda: calls.append(1) or city["polygons"], city["ratings"], lead, cache=cache)
    assert calls == [1, 1]
    assert len(list((tmp_path / "cache").glob("*.shapes.json"))) == 1  # only the newest entry is kept
