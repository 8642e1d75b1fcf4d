"""Reading the analyst-maintained input files of a data directory."""
from __future__ import annotations

from pathlib import Path

import orjson
import pandera.errors
import polars as pl

from schemas.registry import Compound

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
    try:
        return Compound.validate(frame, lazy=True).select(list(REGISTRY_DTYPES)).sort("compound_id")
    except pandera.errors.SchemaErrors as exc:
        first = exc.failure_cases.head(3).to_dicts() if hasattr(exc, "failure_cases") else str(exc)[:300]
        raise InputError(f"{path}: the compound registry breaks its contract: {first}; fix those rows") from exc


def read_polygons(data_dir: Path) -> dict | None:
    """The compound polygons (GeoJSON FeatureCollection), or None when the city has none."""
    path = data_dir / "compounds.geojson"
    if not path.exists():
        return None
    try:
        # orjson: a city's outlines are tens of MB, and json.loads takes seconds on them.
        collection = orjson.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid GeoJSON ({exc}); re-export it as UTF-8 GeoJSON") from exc
    if collection.get("type") != "FeatureCollection":
        raise InputError(f"{path}: expected a GeoJSON FeatureCollection")
    return collection


def read_decision_file(data_dir: Path, name: str) -> pl.DataFrame | None:
    """An analyst decision file under DATA_DIR/decisions/ (CSV, UTF-8), or None when absent."""
    path = data_dir / "decisions" / name
    if not path.exists():
        return None
    try:
        return pl.read_csv(path, infer_schema_length=0, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{path}: cannot read ({exc}); save it as UTF-8 CSV with a header row") from exc
