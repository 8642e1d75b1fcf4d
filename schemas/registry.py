"""The compound registry: every residential compound (小区) that can be rated."""
from __future__ import annotations

import polars as pl
import pandera.polars as pa

COORD_SYSTEMS = ["WGS84", "GCJ02", "BD09"]
# Grid codes as grid systems write them: the county/district's upper-case letter, the
# township/street's lower-case letter, the grid's three digits (Hd012).
GRID_CODE_PATTERN = r"^[A-Z][a-z][0-9]{3}$"
GRID_CODE_RULE = "five characters: district letter (A-Z), street letter (a-z), three digits, e.g. Hd012"


class Compound(pa.DataFrameModel):
    """One row per compound, as the registry (compounds.csv) describes it."""

    compound_id: str = pa.Field(unique=True, str_length={"min_value": 1})
    name: str
    aliases: str = pa.Field(nullable=True)
    district: str
    district_code: str = pa.Field(nullable=True)
    street: str
    community: str = pa.Field(nullable=True)
    grid_code: str = pa.Field(nullable=True, str_matches=GRID_CODE_PATTERN)
    address: str = pa.Field(nullable=True)
    households: pl.Int64 = pa.Field(nullable=True, ge=0)
    population: pl.Int64 = pa.Field(nullable=True, ge=0)
    lon: pl.Float64 = pa.Field(nullable=True)
    lat: pl.Float64 = pa.Field(nullable=True)
    coord_sys: str = pa.Field(isin=COORD_SYSTEMS)

    class Config:
        strict = "filter"
        coerce = True


class Grid(pa.DataFrameModel):
    """One row per grid (网格), as the grids file (grids.csv) describes it: the unit of daily
    work, inside one community of one street."""

    grid_code: str = pa.Field(unique=True, str_matches=GRID_CODE_PATTERN)
    name: str = pa.Field(nullable=True)
    district: str
    street: str
    community: str

    class Config:
        strict = "filter"
        coerce = True
