"""The compound registry: every residential compound (小区) that can be rated."""
from __future__ import annotations

import polars as pl
import pandera.polars as pa

COORD_SYSTEMS = ["WGS84", "GCJ02", "BD09"]


class Compound(pa.DataFrameModel):
    """One row per compound, as the registry (compounds.csv) describes it."""

    compound_id: str = pa.Field(unique=True, str_length={"min_value": 1})
    name: str
    aliases: str = pa.Field(nullable=True)
    district: str
    district_code: str = pa.Field(nullable=True)
    street: str
    community: str = pa.Field(nullable=True)
    grid_code: str = pa.Field(nullable=True)
    address: str = pa.Field(nullable=True)
    households: pl.Int64 = pa.Field(nullable=True, ge=0)
    population: pl.Int64 = pa.Field(nullable=True, ge=0)
    lon: pl.Float64 = pa.Field(nullable=True)
    lat: pl.Float64 = pa.Field(nullable=True)
    coord_sys: str = pa.Field(isin=COORD_SYSTEMS)

    class Config:
        strict = "filter"
        coerce = True
