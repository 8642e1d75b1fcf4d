"""The map layer (一图): compounds, problem hotspots and district outlines as GeoJSON.

Every file is RFC 7946 GeoJSON (WGS-84 lon/lat, counter-clockwise exterior rings, no
``crs`` member, coordinates rounded to 6 decimals ≈ 0.1 m) written with deterministic bytes,
plus a GCJ-02 copy of the compounds for Chinese basemaps (Amap, Tencent), whose tiles are
drawn in that offset system.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import shapely
from pandera.typing.polars import DataFrame
from shapely.geometry import shape

from geo.coords import to_wgs84, wgs84_to_gcj02
from schemas.ratings import Rating
from schemas.registry import Compound

PRECISION = 6
_GRID = 10.0 ** -PRECISION
PROPERTY_NAMES = (
    "id", "name", "district", "street", "community", "grid_code",
    "stars", "status", "safety_index", "leading_group",
)


def build_features(
    compounds: DataFrame[Compound],
    polygons: dict | None,
    ratings: DataFrame[Rating],
    leading_group: pl.DataFrame,
) -> dict:
    """One GeoJSON feature per compound (polygon when known, else its centroid point).

    ``ratings`` may hold several rating dates; the latest one is used. A compound without a
    rating is shown as ``not_rated``; one without polygon and coordinates keeps a null
    geometry rather than vanishing from the layer.
    """
    table = _feature_table(compounds, ratings, leading_group)
    lon, lat = to_wgs84(
        table["lon"].to_numpy(), table["lat"].to_numpy(), table["coord_sys"].to_numpy()
    )
    geoms = shapely.points(np.column_stack([lon, lat]))
    geoms = np.where(np.isfinite(lon) & np.isfinite(lat), geoms, None)
    by_id = _polygons_by_id(polygons)
    if by_id:
        ids = table["compound_id"].to_list()
        poly = np.array([by_id.get(i) for i in ids], dtype=object)
        geoms = np.where(poly != None, poly, geoms)  # noqa: E711 - elementwise on objects
    geoms = normalise_geometries(geoms)
    props = table.select(
        pl.col("compound_id").alias("id"), "name", "district", "street", "community",
        "grid_code", "stars", "status", "safety_index", "leading_group",
    ).to_dicts()
    return _collection(props, geoms, ids=table["compound_id"].to_list())


def _feature_table(compounds, ratings, leading_group) -> pl.DataFrame:
    """Registry joined with the latest rating and the leading problem group."""
    latest = ratings.filter(pl.col(Rating.as_of) == pl.col(Rating.as_of).max())
    rated = latest.select(
        Rating.compound_id, Rating.stars, Rating.status,
        pl.col(Rating.safety_index).round(1),
    )
    leading = leading_group.select("compound_id", "leading_group").unique("compound_id")
    reg = compounds.select(
        pl.col(c).cast(pl.String) if c not in ("lon", "lat") else pl.col(c).cast(pl.Float64)
        for c in ("compound_id", "name", "district", "street", "community", "grid_code",
                  "lon", "lat", "coord_sys")
    )
    return (
        reg.join(rated, on="compound_id", how="left")
        .join(leading, on="compound_id", how="left")
        .with_columns(
            pl.col("stars").fill_null(0).cast(pl.Int64),
            pl.col("status").fill_null("not_rated"),
            pl.col("coord_sys").fill_null("WGS84"),
        )
        .sort("compound_id")
    )


def _polygons_by_id(polygons: dict | None) -> dict[str, object]:
    """compound_id → shapely polygon from a FeatureCollection; unusable shapes are skipped."""
    if not polygons:
        return {}
    ids, shapes = [], []
    for feat in polygons.get("features", []):
        cid = (feat.get("properties") or {}).get("compound_id")
        geom = feat.get("geometry")
        if cid is None or not geom:
            continue
        try:
            shapes.append(shape(geom))
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            continue  # a malformed polygon falls back to the compound's point
        ids.append(str(cid))
    if not shapes:
        return {}
    arr = np.empty(len(shapes), dtype=object)
    arr[:] = shapes
    bad = ~shapely.is_valid(arr)
    if bad.any():
        arr[bad] = shapely.make_valid(arr[bad])
    types = shapely.get_type_id(arr)
    out = {}
    for k in np.flatnonzero(np.isin(types, (3, 6)) & ~shapely.is_empty(arr)).tolist():
        out[ids[k]] = arr[k]
    for k in np.flatnonzero(~np.isin(types, (3, 6))).tolist():
        # a repair can yield a collection: keep its polygonal parts only
        polys = [p for p in shapely.get_parts(arr[k])
                 if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
        if polys:
            out[ids[k]] = shapely.union_all(polys) if len(polys) > 1 else polys[0]
    return out


def normalise_geometries(geoms: np.ndarray) -> np.ndarray:
    """Snap to a 1e-6° grid (keeping shapes valid) and orient rings per RFC 7946."""
    geoms = np.asarray(geoms, dtype=object)
    present = np.array([g is not None for g in geoms], dtype=bool)
    if not present.any():
        return geoms
    g = geoms[present]
    areal = shapely.get_type_id(g) >= 3
    if areal.any():
        snapped = shapely.set_precision(g[areal], _GRID)
        # a sliver can collapse on the grid: keep the original shape rather than lose it
        keep = shapely.is_empty(snapped)
        snapped[keep] = g[areal][keep]
        g[areal] = shapely.orient_polygons(snapped, exterior_cw=False)
    g = shapely.transform(g, lambda c: np.round(c, PRECISION))
    out = geoms.copy()
    out[present] = g
    return out


def _geometry_dicts(geoms: np.ndarray) -> list[dict | None]:
    """GeoJSON geometry members; points take a vectorised path (the common case)."""
    out: list[dict | None] = [None] * len(geoms)
    present = np.array([g is not None for g in geoms], dtype=bool)
    idx = np.flatnonzero(present)
    if idx.size == 0:
        return out
    types = shapely.get_type_id(geoms[idx])
    pts = idx[types == 0]
    xy = shapely.get_coordinates(geoms[pts]).tolist() if pts.size else []
    for i, c in zip(pts.tolist(), xy):
        out[i] = {"type": "Point", "coordinates": c}
    other = idx[types != 0]
    if other.size:  # GEOS writes the (already rounded) coordinates; json gives lists
        for i, text in zip(other.tolist(), shapely.to_geojson(geoms[other])):
            out[i] = json.loads(text)
    return out


def _collection(props: list[dict], geoms: np.ndarray, ids: list | None = None) -> dict:
    geometries = _geometry_dicts(geoms)
    features = []
    for k, (p, g) in enumerate(zip(props, geometries)):
        f = {"type": "Feature"}
        if ids is not None:
            f["id"] = ids[k]
        f["properties"] = p
        f["geometry"] = g
        features.append(f)
    return {"type": "FeatureCollection", "features": features}


def feature_geometries(fc: dict) -> np.ndarray:
    """Shapely geometries of a FeatureCollection's features (None where null)."""
    geoms = [f.get("geometry") for f in fc.get("features", [])]
    out = np.full(len(geoms), None, dtype=object)
    # points (most compounds) in one vectorised call; shape() per point costs ~15 µs
    pts = [i for i, g in enumerate(geoms) if g and g.get("type") == "Point"]
    if pts:
        out[pts] = shapely.points(np.array([geoms[i]["coordinates"][:2] for i in pts], dtype=float))
    for i, g in enumerate(geoms):
        if g and g.get("type") != "Point":
            out[i] = shape(g)
    return out


def to_gcj02(fc: dict, geoms: np.ndarray | None = None) -> dict:
    """A copy of a WGS-84 FeatureCollection shifted to GCJ-02 (Chinese basemaps);
    `geoms` are its `feature_geometries` when the caller already has them."""

    def shift(c: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(c[:, 0], c[:, 1])
        return np.column_stack([lon, lat])

    geoms = feature_geometries(fc) if geoms is None else geoms.copy()
    present = np.array([g is not None for g in geoms], dtype=bool)
    if present.any():
        geoms[present] = shapely.transform(geoms[present], shift)
    geoms = normalise_geometries(geoms)
    feats = fc.get("features", [])
    ids = [f.get("id") for f in feats] if any("id" in f for f in feats) else None
    return _collection([dict(f.get("properties") or {}) for f in feats], geoms, ids)


def dumps(fc: dict) -> bytes:
    """Deterministic, compact UTF-8 bytes of a GeoJSON object."""
    return (json.dumps(fc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            + "\n").encode("utf-8")


def _centroids(fc: dict, geoms: np.ndarray | None = None) -> pl.DataFrame:
    """Per compound feature: district, street and a representative point (WGS-84)."""
    geoms = feature_geometries(fc) if geoms is None else geoms
    present = np.array([g is not None for g in geoms], dtype=bool)
    lon = np.full(len(geoms), np.nan)
    lat = np.full(len(geoms), np.nan)
    if present.any():
        xy = shapely.get_coordinates(shapely.point_on_surface(geoms[present]))
        lon[present], lat[present] = xy[:, 0], xy[:, 1]
    props = [f.get("properties") or {} for f in fc.get("features", [])]
    return pl.DataFrame({
        "district": [p.get("district") for p in props],
        "street": [p.get("street") for p in props],
        "stars": [p.get("stars") for p in props],
        "lon": lon, "lat": lat,
    }, schema={"district": pl.String, "street": pl.String, "stars": pl.Int64,
               "lon": pl.Float64, "lat": pl.Float64}).filter(pl.col("lon").is_not_nan())


def hotspot_features(features: dict, hotspots: pl.DataFrame,
                     district_outlines: dict | None, *, centroids: pl.DataFrame | None = None) -> dict:
    """Common problems as points: a street's at the mean of its compounds, a district's at
    its outline's label point (or the mean of its compounds when there is no outline)."""
    cent = _centroids(features) if centroids is None else centroids
    street_pts = cent.group_by("district", "street").agg(pl.col("lon").mean(), pl.col("lat").mean())
    district_pts = cent.group_by("district").agg(pl.col("lon").mean(), pl.col("lat").mean())
    labels = [
        {"district": (f.get("properties") or {}).get("district"),
         "lon_l": float(lp[0]), "lat_l": float(lp[1])}
        for f in (district_outlines or {}).get("features", [])
        if (lp := (f.get("properties") or {}).get("label_point"))
    ]
    if labels:
        lab = pl.DataFrame(labels).unique("district")
        district_pts = district_pts.join(lab, on="district", how="full", coalesce=True).select(
            "district",
            pl.coalesce("lon_l", "lon").alias("lon"), pl.coalesce("lat_l", "lat").alias("lat"),
        )
    if hotspots.height == 0:
        return {"type": "FeatureCollection", "features": []}
    hs = hotspots.with_row_index("_row")
    has_district = "district" in hs.columns
    street = hs.filter(pl.col("level") == "street")
    street = (street.join(street_pts, left_on=["district", "region"], right_on=["district", "street"], how="left")
              if has_district else
              street.join(street_pts.drop("district").unique("street"), left_on="region",
                          right_on="street", how="left"))
    district = hs.filter(pl.col("level") == "district").join(
        district_pts, left_on="region", right_on="district", how="left")
    placed = pl.concat([street, district], how="diagonal_relaxed").sort("_row")
    lon = placed["lon"].to_numpy().astype(float)
    lat = placed["lat"].to_numpy().astype(float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    geoms = np.where(ok, shapely.points(np.column_stack([np.nan_to_num(lon), np.nan_to_num(lat)])), None)
    props = placed.drop("_row", "lon", "lat").to_dicts()
    for p in props:
        for k, v in p.items():
            if isinstance(v, float):
                p[k] = None if not np.isfinite(v) else round(v, 4)
    return _collection(props, normalise_geometries(geoms))


def district_features(features: dict, district_outlines: dict | None, *,
                      centroids: pl.DataFrame | None = None) -> dict:
    """District outlines with their star figures; convex hulls of the compounds when the
    real outlines are not available (flagged ``derived``)."""
    cent = _centroids(features) if centroids is None else centroids
    stats = cent.group_by("district").agg(
        pl.len().alias("compounds"),
        (pl.col("stars") == 5).sum().alias("five_star"),
    ).with_columns((pl.col("five_star") / pl.col("compounds")).round(4).alias("five_star_share"))
    stats_by = {r["district"]: r for r in stats.to_dicts()}
    props, geoms = [], []
    if district_outlines and district_outlines.get("features"):
        for f in district_outlines["features"]:
            p = dict(f.get("properties") or {})
            s = stats_by.get(p.get("district"), {})
            p.update(compounds=s.get("compounds", 0), five_star=s.get("five_star", 0),
                     five_star_share=s.get("five_star_share"), derived=False)
            props.append(p)
            geoms.append(shape(f["geometry"]) if f.get("geometry") else None)
    else:
        for d in sorted(stats_by):
            pts = cent.filter(pl.col("district") == d).select("lon", "lat").to_numpy()
            hull = shapely.convex_hull(shapely.multipoints(pts)).buffer(0.002)
            s = stats_by[d]
            props.append({"district": d, "compounds": s["compounds"], "five_star": s["five_star"],
                          "five_star_share": s["five_star_share"], "derived": True})
            geoms.append(hull)
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    return _collection(props, normalise_geometries(arr))


def write_map_layers(map_dir: Path, features: dict, hotspots: pl.DataFrame,
                     district_outlines: dict | None) -> list[Path]:
    """Write compounds.geojson, compounds_gcj02.geojson, hotspots.geojson, districts.geojson."""
    map_dir = Path(map_dir)
    map_dir.mkdir(parents=True, exist_ok=True)
    # Parsing a city's outlines back from GeoJSON dominates: do it once for both layers.
    geoms = feature_geometries(features)
    cent = _centroids(features, geoms)
    layers = {
        "compounds.geojson": features,
        "compounds_gcj02.geojson": to_gcj02(features, geoms),
        "hotspots.geojson": hotspot_features(features, hotspots, district_outlines, centroids=cent),
        "districts.geojson": district_features(features, district_outlines, centroids=cent),
    }
    paths = []
    for name, fc in layers.items():
        path = map_dir / name
        path.write_bytes(dumps(fc))
        paths.append(path)
    return paths
