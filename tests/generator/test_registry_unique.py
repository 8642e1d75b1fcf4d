"""No two compounds of a district share a name or a road-and-number address: a careful
analyst could not tell such compounds apart by an address-only record."""
from __future__ import annotations

import polars as pl

from generator.city import generate_city


def test_names_and_addresses_are_unique_within_a_district(tmp_path):
    generate_city(tmp_path, seed=4, n_compounds=1500, n_events=200)
    registry = pl.read_csv(tmp_path / "compounds.csv", infer_schema_length=0)
    assert registry.select("district", "name").is_duplicated().sum() == 0
    assert registry.select("district", "address").is_duplicated().sum() == 0
    assert registry["name"].is_duplicated().sum() > 0  # the same name in two districts stays realistic
