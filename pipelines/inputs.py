"""Reading the analyst-maintained input files of a data directory."""
from __future__ import annotations

from pathlib import Path

import pandera.errors
import polars as pl

from geo.polygons import read_feature_collection
from schemas.registry import GRID_CODE_PATTERN, GRID_CODE_RULE, Compound, Grid

REGISTRY_DTYPES = {
    "compound_id": pl.String, "name": pl.String, "aliases": pl.String, "district": pl.String,
    "district_code": pl.String, "street": pl.String, "community": pl.String, "grid_code": pl.String,
    "address": pl.String, "households": pl.Int64, "population": pl.Int64,
    "lon": pl.Float64, "lat": pl.Float64, "coord_sys": pl.String,
}


class InputError(ValueError):
    """An input file the run cannot use; the message says which and what to do."""


def registry_file(data_dir: Path) -> Path | None:
    """The registry file `read_registry` reads: compounds.parquet, else compounds.csv (None: neither)."""
    return next((p for p in (data_dir / "compounds.parquet", data_dir / "compounds.csv") if p.exists()), None)


def read_registry(data_dir: Path) -> pl.DataFrame:
    """The validated compound registry from compounds.parquet or compounds.csv."""
    parquet, csv = data_dir / "compounds.parquet", data_dir / "compounds.csv"
    if parquet.exists():
        frame = pl.read_parquet(parquet)
        path = parquet
    elif csv.exists():
        path = csv
        try:
            frame = pl.read_csv(csv, schema_overrides={k: v for k, v in REGISTRY_DTYPES.items()}, infer_schema_length=0)
        except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
            raise InputError(f"{csv}: cannot read the compound registry ({exc}); save it as UTF-8 CSV") from exc
    else:
        raise InputError(f"{data_dir}: no compounds.csv or compounds.parquet; put the compound registry there")
    for column in ("aliases", "district_code", "community", "grid_code", "address"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    if "coord_sys" not in frame.columns:
        frame = frame.with_columns(pl.lit("WGS84").alias("coord_sys"))
    frame = frame.with_columns(pl.col("coord_sys").fill_null("WGS84").str.to_uppercase().str.replace("-", ""))
    _check_grid_codes(frame, path, "grid_code")
    grids = read_grids(data_dir)
    if grids is not None:
        _check_compounds_in_grids(frame, path, grids)
    try:
        return Compound.validate(frame, lazy=True).select(list(REGISTRY_DTYPES)).sort("compound_id")
    except pandera.errors.SchemaErrors as exc:
        first = exc.failure_cases.head(3).to_dicts() if hasattr(exc, "failure_cases") else str(exc)[:300]
        raise InputError(f"{path}: the compound registry breaks its contract: {first}; fix those rows") from exc


GRID_DTYPES = {"grid_code": pl.String, "name": pl.String, "district": pl.String, "street": pl.String,
               "community": pl.String}


def _where(path: Path, i: int) -> str:
    """Row `i` (0-based data row) as a person finds it: the line in a CSV, the row in Parquet."""
    return f"{path} line {i + 2}" if path.suffix == ".csv" else f"{path} row {i + 1}"


def _first_bad(path: Path, frame: pl.DataFrame, bad: pl.Expr) -> tuple[str, dict, str] | None:
    """Where the first row matching `bad` is, the row itself, and how many more there are."""
    rows = frame.with_row_index("_i").filter(bad)
    if rows.is_empty():
        return None
    first = rows.row(0, named=True)
    more = f" (and {rows.height - 1} more rows)" if rows.height > 1 else ""
    return _where(path, first["_i"]), first, more


def _check_grid_codes(frame: pl.DataFrame, path: Path, column: str) -> None:
    code = pl.col(column)
    found = _first_bad(path, frame, code.is_not_null() & ~code.str.contains(GRID_CODE_PATTERN))
    if found:
        where, row, more = found
        raise InputError(f"{where}: grid code {row[column]!r} breaks the rule ({GRID_CODE_RULE}){more}; correct it")


def _check_compounds_in_grids(frame: pl.DataFrame, path: Path, grids: pl.DataFrame) -> None:
    """Every compound's grid is a known grid, and lies in the compound's street and community."""
    known = grids.select("grid_code", g_street="street", g_community="community")
    joined = frame.select("grid_code", "street", "community").join(known, on="grid_code", how="left",
                                                                     maintain_order="left")
    found = _first_bad(path, joined, pl.col("grid_code").is_null() | pl.col("g_street").is_null())
    if found:
        where, row, more = found
        what = "has no grid code" if row["grid_code"] is None else f"names grid {row['grid_code']!r}, which grids.csv does not list"
        raise InputError(f"{where}: the compound {what}{more}; add the grid to grids.csv or correct the code")
    found = _first_bad(path, joined, (pl.col("street") != pl.col("g_street"))
                       | (pl.col("community").is_not_null() & (pl.col("community") != pl.col("g_community"))))
    if found:
        where, row, more = found
        raise InputError(f"{where}: grid {row['grid_code']!r} lies in {row['g_street']} {row['g_community']} "
                         f"(grids.csv), not in the compound's {row['street']} {row['community']}{more}; "
                         f"correct the compound's grid or the grid's street and community")


def read_grids(data_dir: Path) -> pl.DataFrame | None:
    """The validated grids (网格) from grids.csv, or None when the city has no grids file."""
    path = data_dir / "grids.csv"
    if not path.exists():
        return None
    try:
        frame = pl.read_csv(path, schema_overrides=GRID_DTYPES, infer_schema_length=0)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the grids file ({exc}); save it as UTF-8 CSV") from exc
    missing = [c for c in ("grid_code", "district", "street", "community") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: column(s) {', '.join(missing)} missing; the grids file needs "
                         f"grid_code, name, district, street, community")
    if "name" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("name"))
    _check_grid_codes(frame, path, "grid_code")
    found = _first_bad(path, frame, pl.col("grid_code").is_null())
    if found:
        raise InputError(f"{found[0]}: the grid has no grid code{found[2]}; give every grid its code")
    found = _first_bad(path, frame, pl.int_range(pl.len()).over("grid_code") > 0)
    if found:
        raise InputError(f"{found[0]}: grid code {found[1]['grid_code']!r} is listed twice; keep one row per grid")
    try:
        return Grid.validate(frame, lazy=True).select(list(GRID_DTYPES)).sort("grid_code")
    except pandera.errors.SchemaErrors as exc:
        raise InputError(f"{path}: the grids file breaks its contract: {exc.failure_cases.head(3).to_dicts()}; "
                         f"fix those rows") from exc


def read_polygons(data_dir: Path) -> dict | None:
    """The compound polygons (GeoJSON FeatureCollection), or None when the city has none."""
    path = data_dir / "compounds.geojson"
    if not path.exists():
        return None
    try:
        return read_feature_collection(path)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def read_decision_file(data_dir: Path, name: str) -> pl.DataFrame | None:
    """An analyst decision file under DATA_DIR/decisions/ (CSV, UTF-8), or None when absent."""
    path = data_dir / "decisions" / name
    if not path.exists():
        return None
    try:
        return pl.read_csv(path, infer_schema_length=0, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path}: cannot read ({exc}); save it as UTF-8 CSV with a header row") from exc
