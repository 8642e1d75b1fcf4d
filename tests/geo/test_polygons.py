"""Point in polygon: inside, outside, holes, shared edges, bad features, raster vs exact."""
import json

import numpy as np
import pytest
import shapely

from geo.polygons import CompoundPolygons


def _square(x0, y0, size=0.001):
    return shapely.box(x0, y0, x0 + size, y0 + size)


def _feature(cid, geom):
    return {"type": "Feature", "properties": {"compound_id": cid}, "geometry": shapely.geometry.mapping(geom)}


def test_inside_outside_and_nan():
    cp = CompoundPolygons.from_geometries(["A"], [_square(118.1, 24.5)])
    got = cp.locate(np.array([118.1005, 118.2, np.nan]), np.array([24.5005, 24.5, 24.5]))
    assert got.tolist() == ["A", None, None]


def test_point_on_shared_edge_goes_to_smallest_id_whatever_the_order():
    left, right = _square(118.100, 24.5), _square(118.101, 24.5)
    edge_lon, edge_lat = np.array([118.101, 118.101]), np.array([24.5005, 24.5])  # mid-edge, corner
    for ids, geoms in ((["B", "A"], [left, right]), (["A", "B"], [left, right]), (["B", "A"], [right, left])):
        cp = CompoundPolygons.from_geometries(ids, geoms)
        assert cp.locate(edge_lon, edge_lat).tolist() == ["A", "A"]


def test_point_on_outer_boundary_belongs_to_the_polygon():
    cp = CompoundPolygons.from_geometries(["A"], [_square(118.1, 24.5)])
    assert cp.locate(np.array([118.1]), np.array([24.5005])).tolist() == ["A"]


def test_hole_is_not_inside():
    outer = shapely.box(118.0, 24.0, 118.01, 24.01)
    hole = shapely.box(118.004, 24.004, 118.006, 24.006)
    cp = CompoundPolygons.from_geometries(["A"], [outer.difference(hole)])
    assert cp.locate(np.array([118.005, 118.001]), np.array([24.005, 24.001])).tolist() == [None, "A"]


def test_from_geojson_reads_and_rejects_bad_features(tmp_path):
    feats = [
        _feature("A", _square(118.1, 24.5)),
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(_square(118.2, 24.5))},
        _feature("P", shapely.Point(118.3, 24.5)),
        # a bow-tie (self-intersecting) outline is repaired, not dropped
        {"type": "Feature", "properties": {"compound_id": "T"},
         "geometry": {"type": "Polygon", "coordinates": [[[118.4, 24.5], [118.401, 24.501], [118.401, 24.5], [118.4, 24.501], [118.4, 24.5]]]}},
    ]
    path = tmp_path / "compounds.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    cp = CompoundPolygons.from_geojson(path)
    assert sorted(cp.ids.tolist()) == ["A", "T"]
    assert sorted(r.reason for r in cp.rejected) == ["missing_compound_id", "not_a_polygon"]
    assert cp.locate(np.array([118.1005, 118.4002]), np.array([24.5005, 24.5005])).tolist() == ["A", "T"]


def test_unreadable_geojson_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a readable GeoJSON"):
        CompoundPolygons.from_geojson(path)


@pytest.mark.parametrize("dense_limit", [None, 0], ids=["dense-grid", "sparse-keys"])
def test_raster_lookup_agrees_with_exact_test_on_random_city(dense_limit, monkeypatch):
    if dense_limit is not None:
        monkeypatch.setattr("geo.polygons._MAX_DENSE_CELLS", dense_limit)
    rng = np.random.default_rng(7)
    n = 300
    cx, cy = rng.uniform(118.0, 118.2, n), rng.uniform(24.4, 24.6, n)
    ang = np.linspace(0, 2 * np.pi, 7)[:-1]
    geoms = [shapely.Polygon(np.c_[x + 0.002 * np.cos(ang + k), y + 0.0015 * np.sin(ang)])
             for x, y, k in zip(cx, cy, rng.uniform(0, 1, n))]
    ids = [f"C{i:04d}" for i in range(n)]
    cp = CompoundPolygons.from_geometries(ids, geoms)
    stats = cp.raster_stats()
    assert stats["interior_cells"] > 0 and stats["dense"] == (dense_limit is None)
    lon, lat = rng.uniform(118.0, 118.2, 20_000), rng.uniform(24.4, 24.6, 20_000)
    got = cp.locate(lon, lat)
    # Reference: brute force with shapely on every polygon, smallest id on overlaps.
    pts = shapely.points(lon, lat)
    expect = np.full(lon.size, None, dtype=object)
    for cid, g in sorted(zip(ids, geoms), reverse=True):
        expect[shapely.intersects(g, pts)] = cid
    assert (got == expect).all()


def test_few_points_exact_test_agrees_with_raster():
    # Fewer points than outlines skip the raster; the answers are the same.
    rng = np.random.default_rng(11)
    geoms = [_square(118.0 + 0.0008 * (i % 30), 24.4 + 0.0008 * (i // 30), size=0.001) for i in range(600)]
    ids = [f"C{i:04d}" for i in rng.permutation(600)]
    lon, lat = rng.uniform(117.999, 118.026, 500), rng.uniform(24.399, 24.418, 500)
    few = CompoundPolygons.from_geometries(ids, geoms).locate(lon, lat)
    rastered = CompoundPolygons.from_geometries(ids, geoms)
    rastered.raster_stats()  # builds the raster
    assert (few == rastered.locate(lon, lat)).all()
    pts = shapely.points(lon, lat)
    expect = np.full(lon.size, None, dtype=object)
    for cid, g in sorted(zip(ids, geoms), reverse=True):
        expect[shapely.intersects(g, pts)] = cid
    assert (few == expect).all() and (few != None).sum() > 100


def test_wkb_round_trip_locates_the_same():
    a = shapely.box(0.0, 0.0, 0.01, 0.01).difference(shapely.box(0.003, 0.003, 0.006, 0.006))
    cp = CompoundPolygons.from_geometries(["A", "B"], [a, _square(0.02, 0.0, size=0.01)])
    back = CompoundPolygons.from_wkb(list(cp.ids), cp.to_wkb())
    lon, lat = np.linspace(-0.001, 0.031, 300), np.full(300, 0.004)
    assert (back.locate(lon, lat) == cp.locate(lon, lat)).all()


def test_empty_registry_locates_nothing():
    cp = CompoundPolygons.from_features([])
    assert cp.locate(np.array([118.1]), np.array([24.5])).tolist() == [None]


def test_raster_handles_holes_multipolygons_and_grid_aligned_edges():
    # Cell size 0.001 puts every edge of these outlines exactly on grid lines.
    a = shapely.box(0.000, 0.000, 0.010, 0.010).difference(shapely.box(0.003, 0.003, 0.006, 0.006))
    b = shapely.MultiPolygon([shapely.box(0.010, 0.000, 0.020, 0.005), shapely.box(0.012, 0.007, 0.015, 0.010)])
    c = shapely.Polygon([(0.020, 0.0), (0.030, 0.010), (0.020, 0.010)])  # a diagonal edge
    ids, geoms = ["A", "B", "C"], [a, b, c]
    grid = np.linspace(-0.0005, 0.0305, 156)
    lon, lat = (v.ravel() for v in np.meshgrid(grid, np.linspace(-0.0005, 0.0105, 56)))
    pts = shapely.points(lon, lat)
    expect = np.full(lon.size, None, dtype=object)
    for cid, g in sorted(zip(ids, geoms), reverse=True):
        expect[shapely.intersects(g, pts)] = cid
    for cell in (0.001, 0.0007, None):
        cp = CompoundPolygons.from_geometries(ids, geoms, cell_size=cell)
        assert (cp.locate(lon, lat) == expect).all(), cell
