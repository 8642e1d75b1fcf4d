"""Grids and staff of the demo city, and the registry's grid rules as the run reads them."""
from __future__ import annotations

import re
import shutil

import polars as pl
import pytest

from generator.city import generate_city
from pipelines.inputs import InputError, read_grids, read_registry
from schemas.registry import GRID_CODE_PATTERN
from schemas.staff import StaffMember


@pytest.fixture(scope="module")
def demo_size_city(tmp_path_factory):
    """A city of the demo's size (few records: only the registry matters here)."""
    out = tmp_path_factory.mktemp("gridcity")
    generate_city(out, seed=7, n_compounds=2300, n_events=500)
    return out


def test_demo_city_has_several_hundred_grids_of_the_rule(demo_size_city):
    grids = read_grids(demo_size_city)
    reg = read_registry(demo_size_city)
    assert 300 <= grids.height <= 1500
    assert grids["grid_code"].str.contains(GRID_CODE_PATTERN).all()
    # every compound in exactly one listed grid; every listed grid holds compounds
    assert reg["grid_code"].null_count() == 0
    assert set(reg["grid_code"]) == set(grids["grid_code"])
    # a grid lies in one community of one street, as grids.csv says
    joined = reg.join(grids, on="grid_code", suffix="_g")
    assert (joined["street"] == joined["street_g"]).all() and (joined["community"] == joined["community_g"]).all()
    # the code's letters follow the district and street: one district letter per district,
    # one street letter per street inside a district
    letters = grids.select("district", "street", d=pl.col("grid_code").str.slice(0, 1),
                           s=pl.col("grid_code").str.slice(0, 2))
    assert letters.group_by("district").agg(pl.col("d").n_unique())["d"].max() == 1
    assert letters.group_by("street", "district").agg(pl.col("s").n_unique())["s"].max() == 1
    assert letters.group_by("s").agg(pl.col("street").n_unique())["street"].max() == 1


def test_staff_cover_every_grid_street_and_district(demo_size_city):
    staff = StaffMember.validate(pl.read_csv(demo_size_city / "staff.csv", infer_schema_length=0))
    grids = read_grids(demo_size_city)
    by_role = staff.group_by("role").len().rows_by_key("role")
    assert set(by_role) == {"grid_worker", "street_supervisor", "district_supervisor", "city_supervisor",
                            "department"}
    covered = staff.filter(pl.col("role") == "grid_worker")["grids"].str.split("|").explode()
    assert set(covered) == set(grids["grid_code"])
    assert set(staff.filter(pl.col("role") == "street_supervisor")["streets"]) == set(grids["street"])
    assert set(staff.filter(pl.col("role") == "district_supervisor")["districts"]) == set(grids["district"])
    assert staff["staff_id"].is_unique().all()


def _copy(city, tmp_path):
    for name in ("compounds.csv", "grids.csv"):
        shutil.copy(city / name, tmp_path / name)
    return tmp_path


def test_a_grid_code_that_breaks_the_rule_names_file_and_line(demo_size_city, tmp_path):
    data = _copy(demo_size_city, tmp_path)
    grids = pl.read_csv(data / "grids.csv", infer_schema_length=0)
    code = grids["grid_code"][4]
    grids.with_columns(pl.when(pl.int_range(pl.len()) == 4).then(pl.lit(code.upper()))
                       .otherwise("grid_code").alias("grid_code")).write_csv(data / "grids.csv")
    with pytest.raises(InputError) as err:
        read_registry(data)
    message = str(err.value)
    assert f"grids.csv line 6: grid code {code.upper()!r} breaks the rule" in message and "\n" not in message


def _in_another_street(reg: pl.DataFrame) -> str:
    return reg.filter(pl.col("street") != reg["street"][0])["grid_code"][0]


@pytest.mark.parametrize("row, code, says", [
    *[(9, bad, "line 11: grid code '{code}' breaks the rule")
      for bad in ["H012", "hd012", "Hd0123", "HD012", "Hd01a", "Hd 12"]],
    (2, "Zz999", "line 4: the compound names grid '{code}', which grids.csv"),
    (0, _in_another_street, "line 2: grid '{code}' lies in"),
])
def test_a_compound_grid_follows_the_rule_exists_and_lies_in_its_street(demo_size_city, tmp_path, row, code, says):
    data = _copy(demo_size_city, tmp_path)
    reg = pl.read_csv(data / "compounds.csv", infer_schema_length=0)
    code = code(reg) if callable(code) else code
    reg.with_columns(pl.when(pl.int_range(pl.len()) == row).then(pl.lit(code)).otherwise("grid_code")
                     .alias("grid_code")).write_csv(data / "compounds.csv")
    with pytest.raises(InputError, match=re.escape("compounds.csv " + says.format(code=code))):
        read_registry(data)


def test_duplicate_grid_rows_are_refused(demo_size_city, tmp_path):
    data = _copy(demo_size_city, tmp_path)
    grids = pl.read_csv(data / "grids.csv", infer_schema_length=0)
    pl.concat([grids, grids.head(1)]).write_csv(data / "grids.csv")
    with pytest.raises(InputError, match=rf"grids.csv line {grids.height + 2}: grid code .* is listed twice"):
        read_grids(data)


def test_grid_and_street_outlines_tile_the_districts(demo_size_city):
    import json

    import numpy as np
    import shapely
    from shapely.geometry import shape

    from generator.realdata import district_shapes

    reg = read_registry(demo_size_city)
    fc = json.loads((demo_size_city / "grids.geojson").read_text(encoding="utf-8"))
    codes = [f["properties"]["grid_code"] for f in fc["features"]]
    assert sorted(codes) == sorted(read_grids(demo_size_city)["grid_code"].to_list())
    polys = np.array([shape(f["geometry"]) for f in fc["features"]])
    assert shapely.is_valid(polys).all()
    # grids do not overlap (shared edges only) ...
    tree = shapely.STRtree(polys)
    left, right = tree.query(polys, predicate="overlaps")
    overlap = shapely.area(shapely.intersection(polys[left], polys[right]))
    smaller = np.minimum(shapely.area(polys[left]), shapely.area(polys[right]))
    assert (overlap < 1e-3 * smaller).all()  # slivers of the 1e-6 degree snapping at most
    # ... every compound's centroid lies in (or on the edge of) its own grid, and each grid in its district
    by_code = dict(zip(codes, polys))
    inside = [shapely.distance(by_code[g], shapely.Point(x, y)) < 2e-4
              for g, x, y in reg.select("grid_code", "lon", "lat").iter_rows()]
    assert np.mean(inside) > 0.97
    districts = {name: geom for name, (_, geom, _) in district_shapes().items()}
    for f, p in zip(fc["features"], polys):
        assert shapely.area(shapely.difference(p, districts[f["properties"]["district"]])) < 1e-3 * p.area
    streets = json.loads((demo_size_city / "streets.geojson").read_text(encoding="utf-8"))
    assert {(f["properties"]["district"], f["properties"]["street"]) for f in streets["features"]} == set(
        reg.select("district", "street").unique().iter_rows())
