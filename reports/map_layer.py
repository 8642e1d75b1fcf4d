"""The map layer (一图): compounds, problem hotspots, district (and, when the data has
them, street and grid) outlines as GeoJSON.

Every file is RFC 7946 GeoJSON (WGS-84 lon/lat, counter-clockwise exterior rings, no
``crs`` member, coordinates rounded to 6 decimals ≈ 0.1 m) written with deterministic bytes,
plus a GCJ-02 copy of every layer for Chinese basemaps (Amap, Tencent, many government
GIS tile servers), whose tiles are drawn in that offset system.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import shapely
from pandera.typing.polars import DataFrame
from shapely.geometry import shape

from geo.coords import to_wgs84, wgs84_to_gcj02
from reports.map_geometry import (
    PRECISION,
    Normalised,
    geometry_object,
    normalise,
    normalise_geometries,
    parse_polygons,
    shifted_objects,
    surface_points,
)
from schemas.ratings import Rating
from schemas.registry import Compound

PROPERTY_NAMES = (
    "id", "name", "district", "street", "community", "grid_code",
    "stars", "status", "safety_index", "leading_group",
)


def build_features(
    compounds: DataFrame[Compound],
    polygons: dict | Callable[[], dict | None] | None,
    ratings: DataFrame[Rating],
    leading_group: pl.DataFrame,
    *,
    cache: GeometryCache | None = None,
) -> CompoundLayer:
    """One GeoJSON feature per compound (polygon when known, else its centroid point).

    ``ratings`` may hold several rating dates; the latest one is used. A compound without a
    rating is shown as ``not_rated``; one without polygon and coordinates keeps a null
    geometry rather than vanishing from the layer. ``polygons`` may be a loader, called only
    when ``cache`` holds no geometries for these outlines and compounds.
    """
    table = _feature_table(compounds, ratings, leading_group)
    props = table.select(
        pl.col("compound_id").alias("id"), "name", "district", "street", "community",
        "grid_code", "stars", "status", "safety_index", "leading_group",
    )
    key = cache.key(table.select("compound_id", "lon", "lat", "coord_sys")) if cache is not None else None
    shapes = cache.load(key) if cache is not None else None
    if shapes is None:
        shapes = normalise(_geometries(table, polygons() if callable(polygons) else polygons))
        if cache is not None:
            cache.save(key, shapes)
    return CompoundLayer(props, shapes)


class GeometryCache:
    """The normalised geometries of the last map, kept between runs: the outlines rarely
    change, and parsing and snapping 100,000 of them costs seconds every night. An entry is
    keyed by the outline file's digest, the compounds' ids and points in layer order, and
    the geometry code, so a hit gives exactly what would be computed."""

    def __init__(self, folder: Path, outlines_digest: str):
        self.folder = Path(folder)
        self.outlines_digest = outlines_digest

    def key(self, points: pl.DataFrame) -> str:
        digest = hashlib.sha256(self.outlines_digest.encode("utf-8"))
        digest.update(points.write_ipc(None).getvalue())
        for module in (Path(__file__), Path(__file__).with_name("map_geometry.py")):
            digest.update(module.read_bytes())
        digest.update(repr((pl.__version__, shapely.__version__, np.__version__)).encode("utf-8"))
        return digest.hexdigest()[:32]

    def load(self, key: str) -> Normalised | None:
        try:
            with (self.folder / f"{key}.pickle").open("rb") as fh:
                return pickle.load(fh)
        except Exception:  # noqa: BLE001 - missing, half-written or from other code: compute afresh
            return None

    def save(self, key: str, shapes: Normalised) -> None:
        """Atomically, the newest entry only (a killed run leaves the old entry or none)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_bytes(pickle.dumps(shapes, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, self.folder / f"{key}.pickle")
        for old in self.folder.glob("*.pickle"):
            if old.stem != key:
                old.unlink(missing_ok=True)


def _geometries(table: pl.DataFrame, polygons: dict | None) -> np.ndarray:
    """Per layer row: the compound's outline when known, else its point, else None."""
    lon, lat = to_wgs84(
        table["lon"].to_numpy(), table["lat"].to_numpy(), table["coord_sys"].to_numpy()
    )
    by_id = _polygons_by_id(polygons)
    geoms = np.full(table.height, None, dtype=object)
    if by_id:
        geoms[:] = [by_id.get(i) for i in table["compound_id"].to_list()]
    # a compound's polygon when known, else its point (built only for those)
    point = np.isfinite(lon) & np.isfinite(lat) & np.array([g is None for g in geoms], dtype=bool)
    if point.any():
        geoms[point] = shapely.points(np.column_stack([lon[point], lat[point]]))
    return geoms


class CompoundLayer(Mapping):
    """The compounds' FeatureCollection held as columns: ``props`` (one row per feature,
    ``PROPERTY_NAMES``) and the normalised geometries with their GeoJSON objects.

    It reads like the collection's dict (``layer["features"]``, built on first use); the
    writers serialise it with orjson (``json``)."""

    def __init__(self, props: pl.DataFrame, shapes: Normalised):
        self.props = props
        self.shapes = shapes
        self._dict: dict | None = None
        self._rows: list[dict] | None = None

    @property
    def size(self) -> int:
        return self.props.height

    def collection(self, geometries: list[dict | None] | None = None) -> dict:
        """The FeatureCollection object, optionally with other geometries (the GCJ-02 copy)."""
        geometry = self.shapes.objects if geometries is None else geometries
        if self._rows is None:  # the properties are the same for every copy
            self._rows = self.props.to_dicts()
        rows = self._rows
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": r["id"], "properties": r, "geometry": g} for r, g in zip(rows, geometry)]}

    def json(self, geometries: list[dict | None] | None = None) -> bytes:
        """The collection as compact UTF-8 JSON."""
        return dumps(self.collection(geometries))

    def _collection(self) -> dict:
        if self._dict is None:
            self._dict = self.collection()
        return self._dict

    def __getitem__(self, key):
        return self._collection()[key]

    def __iter__(self):
        return iter(("type", "features"))

    def __len__(self) -> int:
        return 2


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
    wanted = []
    for feat in polygons.get("features", []):
        cid = (feat.get("properties") or {}).get("compound_id")
        geom = feat.get("geometry")
        if cid is not None and geom:
            wanted.append((str(cid), geom))
    bulk = parse_polygons([g for _, g in wanted])  # plain polygons in one call
    ids, shapes = [], []
    for (cid, geom), parsed in zip(wanted, bulk):
        if parsed is None:
            try:
                parsed = shape(geom)
            except (ValueError, TypeError, KeyError, AttributeError, IndexError):
                continue  # a malformed polygon falls back to the compound's point
        shapes.append(parsed)
        ids.append(cid)
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


def _geometry_dicts(geoms: np.ndarray) -> list[dict | None]:
    """GeoJSON geometry objects; points take a vectorised path (the common case)."""
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
    for i in idx[types != 0].tolist():
        out[i] = geometry_object(geoms[i])
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

    geoms = feature_geometries(fc) if geoms is None else geoms.copy()
    present = np.array([g is not None for g in geoms], dtype=bool)
    if present.any():
        geoms[present] = shapely.transform(geoms[present], _shift_gcj02)
    geoms = normalise_geometries(geoms)
    feats = fc.get("features", [])
    ids = [f.get("id") for f in feats] if any("id" in f for f in feats) else None
    return _collection([dict(f.get("properties") or {}) for f in feats], geoms, ids)


def dumps(fc: dict) -> bytes:
    """Deterministic, compact UTF-8 bytes of a GeoJSON object (orjson)."""
    return orjson.dumps(fc)


def _surface_points(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A point inside each shape (NaN where there is none), WGS-84 lon and lat arrays."""
    xy = surface_points(geoms)
    return xy[:, 0], xy[:, 1]


def _centroids(fc: dict, geoms: np.ndarray | None = None) -> pl.DataFrame:
    """Per compound feature: district, street and a representative point (WGS-84)."""
    geoms = feature_geometries(fc) if geoms is None else geoms
    lon, lat = _surface_points(geoms)
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


def write_map_layers(map_dir: Path, features: CompoundLayer | dict, hotspots: pl.DataFrame,
                     district_outlines: dict | None, *, street_outlines: dict | None = None,
                     grid_outlines: dict | None = None) -> list[Path]:
    """Write every layer in WGS-84 and its GCJ-02 copy (``<layer>_gcj02.geojson``):
    compounds, hotspots (the common-problems list), districts, and streets and grids when
    their outlines are given (``street_outlines`` / ``grid_outlines``: FeatureCollections).

    ``features`` is ``build_features``' layer (written from its columns) or any compound
    FeatureCollection dict (parsed back into shapes first)."""
    map_dir = Path(map_dir)
    map_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("streets", "grids"):  # a layer the data no longer has must not linger
        for suffix in ("", "_gcj02"):
            (map_dir / f"{stale}{suffix}.geojson").unlink(missing_ok=True)
    if isinstance(features, CompoundLayer):
        cent = _layer_centroids(features)
        texts = {"compounds.geojson": features.json(),
                 "compounds_gcj02.geojson": features.json(shifted_objects(features.shapes, _shift_gcj02))}
    else:
        # Parsing a city's outlines back from GeoJSON dominates: do it once for both layers.
        geoms = feature_geometries(features)
        cent = _centroids(features, geoms)
        texts = {"compounds.geojson": dumps(features), "compounds_gcj02.geojson": dumps(to_gcj02(features, geoms))}
    layers = {"hotspots": hotspot_features(features, hotspots, district_outlines, centroids=cent),
              "districts": district_features(features, district_outlines, centroids=cent)}
    if street_outlines and street_outlines.get("features"):
        layers["streets"] = outline_features(street_outlines, ("district", "street"))
    if grid_outlines and grid_outlines.get("features"):
        layers["grids"] = outline_features(grid_outlines, ("district", "street", "community", "grid_code"))
    for name, fc in layers.items():
        texts[f"{name}.geojson"] = dumps(fc)
        texts[f"{name}_gcj02.geojson"] = dumps(to_gcj02(fc))
    paths = []
    for name, data in texts.items():
        path = map_dir / name
        path.write_bytes(data + b"\n")
        paths.append(path)
    return paths


def outline_features(outlines: dict, keep: tuple[str, ...]) -> dict:
    """Street or grid outlines as a clean WGS-84 layer: polygonal features only, with the
    naming properties in ``keep``, snapped like every other layer."""
    props, geoms = [], []
    for f in outlines.get("features", []):
        g = f.get("geometry")
        if not g or g.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        try:
            geom = shape(g)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            continue
        p = f.get("properties") or {}
        props.append({k: p.get(k) for k in keep})
        geoms.append(geom if geom.is_valid else shapely.make_valid(geom))
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    return _collection(props, normalise_geometries(arr))


def read_outlines(path: Path) -> dict | None:
    """An optional outline file (DATA_DIR/streets.geojson, grids.geojson), or None when
    absent; ValueError with one line saying what to do when it is unusable."""
    if not path.exists():
        return None
    try:
        fc = orjson.loads(path.read_bytes())
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not readable GeoJSON ({exc}); re-export it as UTF-8 GeoJSON or remove it") from exc
    if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: expected a GeoJSON FeatureCollection; re-export it or remove it")
    return fc


def _shift_gcj02(c: np.ndarray) -> np.ndarray:
    lon, lat = wgs84_to_gcj02(c[:, 0], c[:, 1])
    return np.column_stack([lon, lat])




def _layer_centroids(layer: CompoundLayer) -> pl.DataFrame:
    """``_centroids`` of a layer, from its columns."""
    lon, lat = layer.shapes.surface_xy[:, 0], layer.shapes.surface_xy[:, 1]
    return layer.props.select(
        pl.col("district").cast(pl.String), pl.col("street").cast(pl.String), pl.col("stars").cast(pl.Int64),
        pl.Series("lon", lon, dtype=pl.Float64), pl.Series("lat", lat, dtype=pl.Float64),
    ).filter(pl.col("lon").is_not_nan())
