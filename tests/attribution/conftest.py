"""A three-compound registry with two outlines, and a builder for case events."""
import datetime as dt

import polars as pl
import pytest
import shapely

from geo.polygons import CompoundPolygons


@pytest.fixture
def compounds():
    return pl.DataFrame({
        "compound_id": ["C1", "C2", "C3"],
        "name": ["湖滨花园", "金榜苑", "莲前小区"],
        "aliases": ["湖滨一里", "", None],
        "district": ["思明区"] * 3,
        "district_code": ["350203"] * 3,
        "street": ["筼筜街道"] * 3,
        "community": [None] * 3,
        "grid_code": [None] * 3,
        "address": ["湖滨北路12号", "金榜路1号", "莲前东路105号"],
        "households": [100, 200, 50],
        "population": [300, None, None],
        "lon": [118.100, 118.120, 118.140],
        "lat": [24.470, 24.470, 24.470],
        "coord_sys": ["WGS84"] * 3,
    })


@pytest.fixture
def polygons():
    # C1 and C2 have outlines (about 200 m across); C3 has only its centroid.
    return CompoundPolygons.from_geometries(
        ["C1", "C2"],
        [shapely.box(118.099, 24.469, 118.101, 24.471), shapely.box(118.119, 24.469, 118.121, 24.471)],
    )


def make_events(rows):
    """rows: dicts with any of address, lon, lat, coord_sys, compound_id, record_id, source."""
    base = []
    for i, r in enumerate(rows):
        source = r.get("source", "police")
        rid = r.get("record_id", str(i))
        base.append({
            "event_id": f"{source}:{rid}", "source": source, "record_id": rid,
            "category_code": "theft", "category_group": "property",
            "occurred_at": dt.datetime(2024, 1, 1), "address": r.get("address"),
            "lon": r.get("lon"), "lat": r.get("lat"), "coord_sys": r.get("coord_sys", "WGS84"),
            "compound_id": r.get("compound_id"), "police_case_no": None,
            "linked_records": f"{source}:{rid}", "n_records": 1,
        })
    return pl.DataFrame(base, schema_overrides={"lon": pl.Float64, "lat": pl.Float64, "n_records": pl.Int32,
                                                "address": pl.String, "compound_id": pl.String,
                                                "police_case_no": pl.String})
