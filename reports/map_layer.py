"""The map layer (一图): compounds, problem hotspots, district (and, when the data has
them, street and grid) outlines as GeoJSON.

Every file is RFC 7946 GeoJSON (WGS-84 lon/lat, counter-clockwise exterior rings, no
``crs`` member, coordinates on a 1e-6° grid) with deterministic bytes, plus a GCJ-02 copy
of every layer (``<layer>_gcj02.geojson``) for Chinese basemaps (Amap, Tencent, many
government GIS tile servers), whose tiles are drawn in that offset system.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import shapely
from pandera.typing.polars import DataFrame

from geo.coords import to_wgs84
from geo.polygons import read_feature_collection
from reports.map_geometry import SYSTEMS, GeometryCache, Shapes, parse, polygonal, shapes
from schemas.ratings import Rating
from schemas.registry import Compound

PROPERTY_NAMES = (
    "id", "name", "district", "street", "community", "grid_code",
    "stars", "status", "safety_index", "leading_group",
)


@dataclass(frozen=True)
class Layer:
    """One map layer: the properties of each feature and its shapes in both systems;
    ``ids``: the features carry their ``id`` property as the GeoJSON feature id."""

    rows: list[dict]
    shapes: Shapes
    ids: bool = False

    def json(self, system: str = "WGS84") -> bytes:
        return orjson.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", **({"id": r["id"]} if self.ids else {}), "properties": r,
             "geometry": None if g is None else orjson.Fragment(g)}
            for r, g in zip(self.rows, self.shapes[system].geojson)]})


def build_features(
    compounds: DataFrame[Compound],
    polygons: dict | Callable[[], dict | None] | None,
    ratings: DataFrame[Rating],
    leading_group: pl.DataFrame,
    *,
    cache: GeometryCache | None = None,
) -> Layer:
    """One feature per compound: its polygon when known, else its point, else a null
    geometry (it never vanishes from the layer); a compound without a rating is shown as
    ``not_rated``. ``ratings`` may hold several dates: the latest is used. ``polygons`` may
    be a loader, called only when ``cache`` holds no shapes for these outlines and compounds.
    """
    latest = ratings.filter(pl.col(Rating.as_of) == pl.col(Rating.as_of).max()).select(
        Rating.compound_id, Rating.stars, Rating.status, pl.col(Rating.safety_index).round(1))
    table = (
        compounds.select(*(pl.col(c).cast(pl.String) for c in ("compound_id", "name", "district", "street",
                                                              "community", "grid_code", "coord_sys")),
                         pl.col("lon", "lat").cast(pl.Float64))
        .join(latest, on="compound_id", how="left")
        .join(leading_group.select("compound_id", "leading_group").unique("compound_id"), on="compound_id", how="left")
        .with_columns(pl.col("stars").fill_null(0).cast(pl.Int64), pl.col("status").fill_null("not_rated"),
                      pl.col("coord_sys").fill_null("WGS84"))
        .sort("compound_id")
    )
    rows = table.select(pl.col("compound_id").alias("id"), *PROPERTY_NAMES[1:]).to_dicts()
    key = cache.key(table.select("compound_id", "lon", "lat", "coord_sys")) if cache is not None else None
    prepared = cache.load(key) if cache is not None else None
    if prepared is None:
        prepared = shapes(_geometries(table, polygons() if callable(polygons) else polygons))
        if cache is not None:
            cache.save(key, prepared)
    return Layer(rows, prepared, ids=True)


def _geometries(table: pl.DataFrame, polygons: dict | None) -> np.ndarray:
    """Per layer row: the compound's outline when usable, else its WGS-84 point, else None."""
    feats = [f for f in (polygons or {}).get("features", [])
             if (f.get("properties") or {}).get("compound_id") is not None]
    outlines = parse([f.get("geometry") for f in feats])
    usable = polygonal(outlines)
    by_id = {str(f["properties"]["compound_id"]): g for f, g, ok in zip(feats, outlines, usable) if ok}
    geoms = np.array([by_id.get(i) for i in table["compound_id"].to_list()], dtype=object)
    lon, lat = to_wgs84(table["lon"].to_numpy(), table["lat"].to_numpy(), table["coord_sys"].to_numpy())
    point = np.isfinite(lon) & np.isfinite(lat) & shapely.is_missing(geoms)
    geoms[point] = shapely.points(lon[point], lat[point])
    return geoms


def _points(layer: Layer) -> pl.DataFrame:
    """Per compound with a shape: district, street, stars and its inner point (WGS-84)."""
    xy = layer.shapes["WGS84"].inner
    return pl.DataFrame({
        "district": [r["district"] for r in layer.rows], "street": [r["street"] for r in layer.rows],
        "stars": [r["stars"] for r in layer.rows], "lon": xy[:, 0], "lat": xy[:, 1],
    }, schema={"district": pl.String, "street": pl.String, "stars": pl.Int64, "lon": pl.Float64,
               "lat": pl.Float64}).filter(pl.col("lon").is_not_nan())


def hotspot_layer(points: pl.DataFrame, hotspots: pl.DataFrame, district_outlines: dict | None) -> Layer:
    """Common problems as points: a street's at the mean of its compounds, a district's at
    its outline's label point (or the mean of its compounds when there is no outline)."""
    if hotspots.height == 0:
        return Layer([], shapes(np.empty(0, dtype=object)))
    street_pts = points.group_by("district", "street").agg(pl.col("lon", "lat").mean())
    district_pts = points.group_by("district").agg(pl.col("lon", "lat").mean())
    labels = [{"district": p.get("district"), "lon_l": float(lp[0]), "lat_l": float(lp[1])}
              for f in (district_outlines or {}).get("features", [])
              if (lp := (p := f.get("properties") or {}).get("label_point"))]
    if labels:
        district_pts = district_pts.join(pl.DataFrame(labels).unique("district"), on="district", how="full",
                                         coalesce=True).select(
            "district", pl.coalesce("lon_l", "lon").alias("lon"), pl.coalesce("lat_l", "lat").alias("lat"))
    hs = hotspots.with_row_index("_row")
    street = hs.filter(pl.col("level") == "street")
    street = street.join(street_pts, left_on=["district", "region"], right_on=["district", "street"], how="left")
    district = hs.filter(pl.col("level") == "district").join(
        district_pts, left_on="region", right_on="district", how="left")
    placed = pl.concat([street, district], how="diagonal_relaxed").sort("_row")
    lon, lat = (placed[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in ("lon", "lat"))
    geoms = np.where(np.isfinite(lon) & np.isfinite(lat), shapely.points(lon, lat), None)
    rows = placed.drop("_row", "lon", "lat").with_columns(
        pl.col(pl.Float64).fill_nan(None).round(4)).to_dicts()
    return Layer(rows, shapes(geoms))


def district_layer(points: pl.DataFrame, district_outlines: dict | None) -> Layer:
    """District outlines with their star figures; convex hulls of the compounds when the
    real outlines are not available (flagged ``derived``)."""
    stats = {r["district"]: r for r in points.group_by("district").agg(
        pl.len().alias("compounds"), (pl.col("stars") == 5).sum().alias("five_star"),
    ).with_columns((pl.col("five_star") / pl.col("compounds")).round(4).alias("five_star_share")).to_dicts()}
    feats = (district_outlines or {}).get("features") or []
    if feats:
        rows = [{**(f.get("properties") or {}), "compounds": 0, "five_star": 0, "five_star_share": None,
                 **stats.get((f.get("properties") or {}).get("district"), {}), "derived": False} for f in feats]
        geoms = parse([f.get("geometry") for f in feats])
    else:
        rows = [{**stats[d], "derived": True} for d in sorted(stats)]
        geoms = np.array([shapely.convex_hull(shapely.multipoints(
            points.filter(pl.col("district") == d).select("lon", "lat").to_numpy())).buffer(0.002)
            for d in sorted(stats)], dtype=object)
    return Layer(rows, shapes(geoms))


def outline_layer(outlines: dict, keep: tuple[str, ...]) -> Layer:
    """Street or grid outlines: polygonal features only, with the naming properties in ``keep``."""
    feats = outlines.get("features", [])
    geoms = parse([f.get("geometry") for f in feats])
    usable = polygonal(geoms)
    rows = [{k: (f.get("properties") or {}).get(k) for k in keep} for f, ok in zip(feats, usable) if ok]
    return Layer(rows, shapes(geoms[usable]))


def write_map_layers(map_dir: Path, compounds: Layer, hotspots: pl.DataFrame,
                     district_outlines: dict | None, *, street_outlines: dict | None = None,
                     grid_outlines: dict | None = None) -> list[Path]:
    """Write every layer in WGS-84 and its GCJ-02 copy: compounds (``build_features``),
    hotspots (the common-problems list), districts, and streets and grids when their
    outlines (FeatureCollections) are given."""
    map_dir = Path(map_dir)
    map_dir.mkdir(parents=True, exist_ok=True)
    points = _points(compounds)
    layers = {"compounds": compounds, "hotspots": hotspot_layer(points, hotspots, district_outlines),
              "districts": district_layer(points, district_outlines)}
    for name, outlines, keep in (("streets", street_outlines, ("district", "street")),
                                 ("grids", grid_outlines, ("district", "street", "community", "grid_code"))):
        if outlines and outlines.get("features"):
            layers[name] = outline_layer(outlines, keep)
        for system in SYSTEMS:  # a layer the data no longer has must not linger
            (map_dir / layer_file(name, system)).unlink(missing_ok=True)
    paths = []
    for name, layer in layers.items():
        for system in SYSTEMS:
            path = map_dir / layer_file(name, system)
            path.write_bytes(layer.json(system) + b"\n")
            paths.append(path)
    return paths


def layer_file(layer: str, system: str) -> str:
    return f"{layer}.geojson" if system == "WGS84" else f"{layer}_gcj02.geojson"


def read_outlines(path: Path) -> dict | None:
    """An optional outline file (DATA_DIR/streets.geojson, grids.geojson), or None when
    absent; ValueError with one line saying what to do when it is unusable."""
    return read_feature_collection(path) if path.exists() else None
