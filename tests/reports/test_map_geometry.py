"""The map's geometry: every shape of every kind comes out valid, on the grid, oriented per
RFC 7946 and where it was, in WGS-84 and in the GCJ-02 copy; the viewer's data match."""
from __future__ import annotations

import json

import numpy as np
import polars as pl
import shapely
from shapely.geometry import shape

from geo.coords import wgs84_to_gcj02
from reports.common_problems import leading_group
from reports.map_geometry import GeometryCache, inner_points, parse, shapes
from reports.map_layer import build_features


def _shapes(seed: int = 3, n: int = 600) -> np.ndarray:
    """Compound-sized polygons of many kinds: both orientations, 3–11 vertices, vertices
    off and on the grid, needle-thin ones near the grid size, notches narrower than the
    grid, holes, multipolygons, points."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = int(rng.integers(3, 12))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = rng.uniform(2e-6, 8e-4, k) if i % 4 == 0 else rng.uniform(2e-4, 8e-4, k)
        ring = np.column_stack([118.1 + rng.uniform(0, 0.1) + rad * np.cos(ang),
                                24.5 + rng.uniform(0, 0.1) + rad * np.sin(ang)])
        ring = ring[::-1] if i % 2 else ring
        ring = np.round(ring, 7) if i % 5 == 0 else ring
        p = shapely.Polygon(ring)
        if not p.is_valid:
            continue
        if i % 50 == 0:
            p = p.difference(p.centroid.buffer(1e-4))           # a hole (or a bite)
        if i % 70 == 0 and p.geom_type == "Polygon":
            p = shapely.MultiPolygon([p, shapely.affinity.translate(p, 0.01, 0.0)])
        out.append(p)
        if i % 9 == 0:
            out.append(shapely.Point(ring[0]))
        if i % 13 == 0:
            out.append(None)
        if i % 40 == 0:  # a notch narrower than the grid, which rounding alone would close into a crossing
            x, y, w = round(ring[0][0], 4), round(ring[0][1], 4), rng.uniform(1e-7, 4e-7)
            out.append(shapely.Polygon([(x, y), (x + 1e-3, y), (x + 1e-3, y + 1e-3), (x + 5e-4 + w, y + 1e-3),
                                        (x + 5e-4 + w, y + 2e-4), (x + 5e-4 - w, y + 2e-4), (x + 5e-4 - w, y + 1e-3),
                                        (x, y + 1e-3)]))
    return np.array(out, dtype=object)


def _rings(g):
    for p in getattr(g, "geoms", [g]):
        yield p.exterior, True
        for r in p.interiors:
            yield r, False


def test_every_shape_comes_out_valid_on_the_grid_oriented_and_in_place():
    geoms = _shapes()
    shifted = shapely.transform(geoms, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1])))
    rounded = shapely.transform(geoms, lambda c: np.round(c, 6))
    assert (~shapely.is_valid(rounded) & ~shapely.is_missing(rounded)).sum() > 5, "some need GEOS snap-rounding"
    out = shapes(geoms)
    for system, source in (("WGS84", geoms), ("GCJ02", shifted)):
        objects = [None if t is None else json.loads(t) for t in out[system].geojson]
        # the inner points are those of the shapes as the file's readers get them
        np.testing.assert_array_equal(out[system].inner, inner_points(parse(objects)))
        assert len(objects) == len(geoms) == len(out[system].inner) == len(out[system].areal)
        for g, obj, (x, y), areal in zip(source, objects, out[system].inner, out[system].areal):
            if g is None:
                assert obj is None and np.isnan(x) and np.isnan(y) and not areal
                continue
            got = shape(obj)
            assert areal == (got.geom_type != "Point")
            assert got.is_valid and not got.is_empty
            coords = shapely.get_coordinates(got)
            assert (np.round(coords, 6) == coords).all(), "on the 1e-6° grid"
            # where it was: snapping twice (the GCJ-02 copy) moves a boundary by under 2 grid cells
            assert shapely.symmetric_difference(got, g).area <= 2e-6 * g.length + 1e-12, "where it was"
            assert shapely.distance(got, g) == 0 or shapely.hausdorff_distance(got, g) < 3e-6
            if got.geom_type in ("Polygon", "MultiPolygon"):
                assert all(ring.is_ccw == exterior for ring, exterior in _rings(got)), "right-hand rule"
                assert shapely.contains_xy(got, x, y) or shapely.touches(got, shapely.Point(x, y))
            else:
                assert [x, y] == obj["coordinates"]


def test_a_sliver_the_grid_collapses_stays_on_the_map_as_a_point():
    sliver = shapely.Polygon([(118.1, 24.5), (118.1000001, 24.5000001), (118.1000002, 24.5), (118.1, 24.5)])
    (text,), xy, areal = shapes(np.array([sliver], dtype=object))["WGS84"]
    assert json.loads(text) == {"type": "Point", "coordinates": [118.1, 24.5]} and xy.tolist() == [[118.1, 24.5]]
    assert not areal[0]


def test_parse_repairs_flattens_and_drops_what_it_cannot_read():
    x, y = 118.1, 24.5
    members = [
        {"type": "Polygon", "coordinates": [[[x, y], [x + 1e-3, y + 1e-3], [x + 1e-3, y], [x, y + 1e-3], [x, y]]]},
        {"type": "Polygon", "coordinates": [[[x, y, 5], [x + 1e-3, y, 5], [x, y + 1e-3, 5], [x, y, 5]]]},
        {"type": "Polygon", "coordinates": [[1, 2]]}, "not a geometry", None, {"type": "Polygon"},
    ]
    got = parse(members)
    assert got[0].geom_type == "MultiPolygon" and got[0].is_valid, "a bow-tie is repaired into its two halves"
    assert not shapely.has_z(got[1]) and got[1].geom_type == "Polygon"
    assert list(got[2:]) == [None] * 4


def test_the_cache_gives_back_what_it_was_given(tmp_path):
    value = shapes(_shapes(seed=5, n=60))
    cache = GeometryCache(tmp_path, "digest")
    key = cache.key(pl.DataFrame({"compound_id": ["A"], "lon": [118.1], "lat": [24.5]}))
    assert cache.load(key) is None
    cache.save(key, value)
    back = cache.load(key)
    for system in value:
        assert back[system].geojson == value[system].geojson
        np.testing.assert_array_equal(back[system].inner, value[system].inner)
        np.testing.assert_array_equal(back[system].areal, value[system].areal)
    (tmp_path / f"{key}.shapes.json").write_bytes(b"{half")
    assert cache.load(key) is None, "a broken entry is computed afresh, never an error"


def test_odd_property_values_survive_the_serialiser(city):
    names = ['引号"与\\反斜杠', "换行\n制表\t", "\u2028</script>"]
    comp = city["compounds"].head(3).with_columns(pl.Series("name", names))
    ratings = city["ratings"].with_columns(
        pl.when(pl.col("compound_id") == "XM000001").then(0.00001).otherwise(pl.col("safety_index"))
        .alias("safety_index"))
    layer = build_features(comp, None, ratings, pl.DataFrame(schema={"compound_id": pl.String,
                                                                     "leading_group": pl.String}))
    fc = json.loads(layer.json())
    assert [f["properties"]["name"] for f in fc["features"]] == names
