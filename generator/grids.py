"""Grids (网格) and the staff who work them, derived from the demo city's registry.

Each grid is a run of compounds inside one community (see `registry._grid_codes`); the
staff file gives every grid its grid worker, every street and district its supervisor, the
city a supervisor, and each street a police station and a mediation committee that take
the needs of their categories. Names are fake (drawn like the records' people).
"""
from __future__ import annotations

import json

import numpy as np
import polars as pl
import shapely

from generator.text import person_names

GRID_COLUMNS = ["grid_code", "name", "district", "street", "community"]


def build_grids(reg: pl.DataFrame) -> pl.DataFrame:
    """One row per grid: its code, a name (鸿山社区第2网格), district, street and community."""
    grids = reg.group_by("grid_code", maintain_order=True).agg(
        pl.col("district").first(), pl.col("street").first(), pl.col("community").first())
    return grids.with_columns(
        name=pl.format("{}第{}网格", "community", pl.int_range(1, pl.len() + 1).over("district", "street", "community")),
    ).select(GRID_COLUMNS).sort("grid_code")


# Departments that take needs of their categories straight from the resident, one office
# per street (派出所 for public order and fraud, the street's mediation committee for
# disputes and legal questions). The workflow's routing config decides which categories
# skip the grid worker; a department without routed needs simply has an empty queue.
DEPARTMENTS = {"police": ("派出所", "治安隐患|防范诈骗"), "mediation": ("人民调解委员会", "矛盾纠纷|法律咨询")}
# Fire safety is answered by the district's fire brigade (消防救援大队).
FIRE = ("消防救援大队", "消防安全")


def build_staff(rng: np.random.Generator, grids: pl.DataFrame, district_letters: dict[str, str]) -> pl.DataFrame:
    """Staff in the shape of `schemas.staff.StaffMember`: a grid worker per grid, a supervisor
    per street and district, one for the city, and a police station and mediation committee
    per street, a fire brigade per district. Ids say the level and area (gw-Sa001, ss-Sa, ds-S,
    cs-1, cs-2, po-Sa, me-Sa, fi-S)."""
    empty = pl.lit(None, dtype=pl.String)
    workers = grids.select(
        staff_id=pl.format("gw-{}", "grid_code"), role=pl.lit("grid_worker"), unit="name",
        grids="grid_code", streets=empty, districts=empty, categories=empty)
    streets = (grids.select("district", "street", prefix=pl.col("grid_code").str.slice(0, 2))
               .unique("prefix").sort("prefix"))
    street_sup = streets.select(
        staff_id=pl.format("ss-{}", "prefix"), role=pl.lit("street_supervisor"), unit="street",
        grids=empty, streets="street", districts=empty, categories=empty)
    departments = [
        streets.select(staff_id=pl.format(f"{key[:2]}-{{}}", "prefix"), role=pl.lit("department"),
                       unit=pl.concat_str(pl.col("street").str.replace(r"(街道|镇)$", ""), pl.lit(office)),
                       grids=empty, streets="street", districts=empty, categories=pl.lit(categories))
        for key, (office, categories) in DEPARTMENTS.items()]
    districts = grids.select("district").unique().sort("district").with_columns(
        letter=pl.col("district").replace_strict(district_letters))
    district_sup = districts.select(
        staff_id=pl.format("ds-{}", "letter"), role=pl.lit("district_supervisor"),
        unit=pl.concat_str("district", pl.lit("平安办")), grids=empty, streets=empty, districts="district",
        categories=empty)
    fire = districts.select(
        staff_id=pl.format("fi-{}", "letter"), role=pl.lit("department"),
        unit=pl.concat_str("district", pl.lit(FIRE[0])), grids=empty, streets=empty, districts="district",
        categories=pl.lit(FIRE[1]))
    # two at the city: whoever records a result there is not the one who checks it
    city = pl.DataFrame({"staff_id": ["cs-1", "cs-2"], "role": ["city_supervisor"] * 2, "unit": ["市平安办"] * 2}).with_columns(
        grids=empty, streets=empty, districts=empty, categories=empty)
    staff = pl.concat([workers, street_sup, *departments, district_sup, fire, city], how="vertical_relaxed")
    return staff.with_columns(name=person_names(rng, staff.height)).select(
        "staff_id", "name", "role", "unit", "grids", "streets", "districts", "categories")


def outlines(reg: pl.DataFrame, cell_lon: np.ndarray, cell_lat: np.ndarray,
             districts: dict[str, shapely.Geometry]) -> tuple[dict, dict]:
    """Grid and street outlines (GeoJSON FeatureCollections, WGS-84) that tile each district:
    the Voronoi cells of the compounds' sites inside the district's outline, merged per grid
    and per street, as real grids cover the whole territory (parks and hills included)."""
    cells = np.empty(reg.height, dtype=object)
    for district, geom in districts.items():
        idx = np.flatnonzero((reg["district"] == district).to_numpy())
        if idx.size == 0:
            continue
        pts = shapely.points(cell_lon[idx], cell_lat[idx])
        if idx.size == 1:
            cells[idx] = [geom]
            continue
        regions = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=geom, ordered=True)
        cells[idx] = shapely.intersection(np.asarray(shapely.get_parts(regions)), geom)
    frame = reg.select("grid_code", "district", "street", "community").with_row_index("i")
    grid_fc = _dissolve(frame, cells, ["grid_code"], ["district", "street", "community", "grid_code"])
    street_fc = _dissolve(frame, cells, ["district", "street"], ["district", "street"])
    return grid_fc, street_fc


def _dissolve(frame: pl.DataFrame, cells: np.ndarray, by: list[str], keep: list[str]) -> dict:
    groups = frame.group_by(by, maintain_order=True).agg(pl.col("i"), *[pl.col(k).first() for k in keep if k not in by])
    features = []
    for row in groups.sort(by).iter_rows(named=True):
        merged = shapely.set_precision(shapely.union_all(cells[row["i"]]), 1e-6)
        features.append({"type": "Feature", "properties": {k: row[k] for k in keep},
                         "geometry": json.loads(shapely.to_geojson(shapely.orient_polygons(merged)))})
    return {"type": "FeatureCollection", "features": features}
