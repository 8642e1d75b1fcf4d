"""The map's bulk geometry path gives exactly what the careful per-shape path gives."""
from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import shapely

from geo.coords import wgs84_to_gcj02
from reports.common_problems import leading_group
import orjson

from reports.map_geometry import (
    format_numbers,
    geometry_object,
    normalise,
    normalise_geometries,
    parse_polygons,
    shifted_objects,
)
from reports.map_layer import build_features
from reports.map_viewer import pack_compounds, packed_layer


def _plain(objects):
    """Geometry objects as the JSON they serialise to (tuples and lists alike)."""
    return json.loads(orjson.dumps(objects))


def _careful(geoms):
    return _plain([geometry_object(g) for g in normalise_geometries(np.asarray(geoms, dtype=object))])


def _shapes(seed: int = 3, n: int = 1500) -> np.ndarray:
    """Compound-sized polygons of many kinds: both orientations, 3–11 vertices, vertices
    off and on the grid, needle-thin ones near the grid size, holes, multipolygons, points."""
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
    return np.array(out, dtype=object)


def test_bulk_normalisation_matches_geos_snap_rounding():
    geoms = _shapes()
    fast = normalise(geoms)
    assert _plain(fast.objects) == _careful(geoms)
    assert fast.rings.index.size > len(geoms) // 2, "most outlines take the bulk path"
    for i in fast.rings.index[:50]:
        assert shapely.equals_exact(fast.geoms[i], normalise_geometries(geoms[i:i + 1])[0], tolerance=0)


def test_clockwise_squares_and_grid_ties():
    # squares drawn clockwise with vertices exactly half a grid cell off (rounding ties)
    x0 = 118.1 + np.arange(200) * 1e-3 + 5e-7
    y0 = 24.5 + np.arange(200) * 1e-3
    squares = [shapely.Polygon([(x, y), (x, y + 5e-4), (x + 5e-4, y + 5e-4), (x + 5e-4, y), (x, y)])
               for x, y in zip(x0, y0)]
    geoms = np.array(squares, dtype=object)
    assert _plain(normalise(geoms).objects) == _careful(geoms)


def test_shifted_copy_matches_shifting_then_normalising():
    geoms = _shapes(seed=5, n=600)
    shapes = normalise(geoms)

    def shift(c):
        return np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1]))

    moved = shapes.geoms.copy()
    present = np.array([g is not None for g in moved], dtype=bool)
    moved[present] = shapely.transform(moved[present], shift)
    assert _plain(shifted_objects(shapes, shift)) == _careful(moved)


def test_numbers_are_written_as_python_writes_them():
    values = np.array([118.0, 24.436338, -0.5, 1e-5, 1.5e-05, 0.0001, 123.456789, 1e16, -2.0, 0.0])
    assert format_numbers(values).to_list() == [repr(float(v)) for v in values]
    with pytest.raises(ValueError):
        format_numbers(np.array([1.0, np.nan]))


def test_parse_polygons_matches_shape_and_leaves_odd_members_out():
    members = [
        {"type": "Polygon", "coordinates": [[[118.1, 24.5], [118.2, 24.5], [118.2, 24.6], [118.1, 24.5]]]},
        {"type": "Polygon", "coordinates": [[[1, 2]]]},                       # too short
        {"type": "MultiPolygon", "coordinates": []},                          # not a polygon
        {"type": "Polygon", "coordinates": [[[118.1, 24.5], [118.2, 24.5], [118.2, 24.6]]]},  # open ring
    ]
    got = parse_polygons(members)
    assert got[0].equals_exact(shapely.geometry.shape(members[0]), tolerance=0)
    assert list(got[1:]) == [None, None, None]
    ragged = parse_polygons([members[0], {"type": "Polygon", "coordinates": [[[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 2, 3]]]}])
    assert list(ragged) == [None, None], "a 3-D member sends the batch the careful way"


def test_layer_json_and_viewer_data_match_the_collection(city):
    layer = build_features(city["compounds"], city["polygons"], city["ratings"], leading_group(city["stats_cur"]))
    fc = json.loads(layer.json())
    assert layer.json() == orjson.dumps(fc), "what the serialiser writes, deterministically"
    assert _plain(layer["features"]) == fc["features"] and layer.size == len(fc["features"])
    assert _plain(packed_layer(layer)) == _plain(pack_compounds(fc))


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
