"""The registry asset loads compounds.csv again only when the file changed."""
from __future__ import annotations

import os
import shutil

import dagster as dg
import polars as pl
import pytest

from assets import registry
from generator.city import generate_city
from pipelines.resources import Warehouse, default_resources


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    data = tmp_path_factory.mktemp("registry") / "data"
    generate_city(data, seed=7, n_compounds=40, n_events=200)
    return data


def _load(data, out) -> tuple[bool, pl.DataFrame]:
    result = dg.materialize([registry.compounds], resources=default_resources(data, out))
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(["core", "compounds"])]
    reloaded = event.materialization.metadata["reloaded"].value
    return reloaded, Warehouse(path=str(out / "warehouse.duckdb")).read("core.compounds").sort("compound_id")


def test_unchanged_registry_is_not_read_again_and_a_changed_one_is(city, tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(city, data)
    first_reloaded, first = _load(data, tmp_path / "out")
    assert first_reloaded and first.height == 40

    def unread(*_):
        raise AssertionError("the unchanged registry was read again")

    monkeypatch.setattr(registry, "read_registry", unread)
    again_reloaded, again = _load(data, tmp_path / "out")
    assert not again_reloaded and again.equals(first)
    monkeypatch.undo()

    # A compound renamed in the file: a new mtime (and size) → loaded again.
    csv = data / "compounds.csv"
    frame = pl.read_csv(csv, infer_schema_length=0)
    frame.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("改名小区")).otherwise(pl.col("name")).alias("name")
                       ).write_csv(csv)
    st = os.stat(csv)
    os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns - 10_000_000_000))  # old enough to be recorded
    changed_reloaded, changed = _load(data, tmp_path / "out")
    assert changed_reloaded and "改名小区" in changed["name"].to_list()
    assert changed.height == first.height
