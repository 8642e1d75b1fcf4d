"""The offline map viewer: ``map/index.html`` over the GeoJSON layers beside it.

Browsers refuse ``fetch()`` of ``file://`` URLs, so the layers are handed to the page as
a script (``map_data.js`` sets ``window.SAFESTAR_DATA``), which loads the same from a
folder opened by double-click and from any static host. Compounds are packed column-wise
(one array per property, indices into small lookup lists) because 100,000 GeoJSON features
are slow to parse and the viewer draws them straight from typed arrays onto one canvas.
Leaflet (vendored from npm, inlined) gives panning, zooming, popups and the optional
basemap; the compound layer itself is our own canvas layer so 100,000 compounds stay smooth.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import shapely

from reports.analyst import jinja_env
from reports.map_layer import PRECISION, CompoundLayer, feature_geometries

VENDOR = Path(__file__).resolve().parent / "static" / "vendor" / "leaflet"
STATUS_ZH = {"rated": "已评定", "downgraded": "降星", "vetoed": "一票否决", "not_rated": "未评定"}


def _read(path: Path) -> dict:
    if not path.exists():
        return {"type": "FeatureCollection", "features": []}
    try:
        return orjson.loads(path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"{path} is not readable GeoJSON: {exc}") from exc


def _lookup(values: list) -> tuple[list, list[int]]:
    """Values → (sorted distinct values, index of each value), for compact columns."""
    distinct = sorted({"" if v is None else str(v) for v in values})
    pos = {v: i for i, v in enumerate(distinct)}
    return distinct, [pos["" if v is None else str(v)] for v in values]


def pack_compounds(fc: dict) -> dict:
    """Column-wise compounds: representative point, properties and polygon rings."""
    feats = fc.get("features", [])
    props = [f.get("properties") or {} for f in feats]
    x = np.full(len(feats), np.nan)
    y = np.full(len(feats), np.nan)
    areal = []
    for i, f in enumerate(feats):
        g = f.get("geometry") or {}
        if g.get("type") == "Point":
            x[i], y[i] = g["coordinates"][:2]
        elif g:
            areal.append(i)
    if areal:  # a polygon is clicked and counted at a point inside it
        sub = feature_geometries({"features": [feats[i] for i in areal]})
        xy = shapely.get_coordinates(shapely.point_on_surface(sub))
        x[areal], y[areal] = xy[:, 0], xy[:, 1]
    columns = {k: [p.get(k) for p in props] for k in _COLUMNS}
    return _packed(columns, x, y, [f.get("geometry") for f in feats])


def packed_layer(layer: CompoundLayer) -> dict:
    """``pack_compounds`` of a layer, from its columns (no GeoJSON parsed back)."""
    xy = layer.shapes.surface_xy
    return _packed({k: layer.props[k].to_list() for k in _COLUMNS}, xy[:, 0], xy[:, 1], layer.shapes.objects)


_COLUMNS = ("id", "name", "district", "street", "community", "grid_code", "status", "leading_group",
            "stars", "safety_index")


def _packed(columns: dict[str, list], x: np.ndarray, y: np.ndarray, geometries: list[dict | None]) -> dict:
    packed: dict = {"n": len(columns["id"])}
    for key in ("district", "street", "community", "status", "leading_group"):
        packed[key + "s"], packed[key] = _lookup(columns[key])
    packed["id"], packed["name"], packed["grid_code"] = columns["id"], columns["name"], columns["grid_code"]
    packed["stars"] = [int(v or 0) for v in columns["stars"]]
    packed["index"] = columns["safety_index"]
    packed["x"] = [None if not np.isfinite(c) else c for c in np.round(x, PRECISION).tolist()]
    packed["y"] = [None if not np.isfinite(c) else c for c in np.round(y, PRECISION).tolist()]
    # polygons: feature index → exterior rings as flat [lon, lat, lon, lat, …] lists
    shapes = []
    for i, g in enumerate(geometries):
        if not g or g.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        shapes.append([i, [[c for pt in poly[0] for c in pt] for poly in polys]])
    packed["shapes"] = shapes
    return packed


@dataclass(frozen=True)
class Basemap:
    """An optional tile basemap: an XYZ URL template and the coordinate system its tiles
    are drawn in (WGS84, or GCJ02 for Chinese providers and most government GIS servers),
    so the layers drawn over it are the matching copies. No URL: no basemap, and the viewer
    fetches nothing."""

    url: str = ""
    crs: str = "WGS84"
    attribution: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Basemap":
        """From SAFESTAR_TILE_URL, SAFESTAR_TILE_CRS (WGS84 | GCJ02) and
        SAFESTAR_TILE_ATTRIBUTION; ValueError with one line when they are unusable."""
        url = environ.get("SAFESTAR_TILE_URL", "").strip()
        crs = environ.get("SAFESTAR_TILE_CRS", "WGS84").strip().upper().replace("-", "")
        if crs not in ("WGS84", "GCJ02"):
            raise ValueError(f"SAFESTAR_TILE_CRS={crs!r}: use WGS84 or GCJ02 (the system the tiles are drawn in)")
        if url and (not url.startswith(("http://", "https://")) or not all(k in url for k in ("{z}", "{x}", "{y}"))):
            raise ValueError(f"SAFESTAR_TILE_URL={url!r}: use an http(s) XYZ template with {{z}}, {{x}} and {{y}}")
        return cls(url, crs, environ.get("SAFESTAR_TILE_ATTRIBUTION", "").strip())


def write_map_viewer(map_dir: Path, *, tile_url: str = "", site_base: str = "../site",
                     gcj02: bool = False, tile_attribution: str = "",
                     compounds: CompoundLayer | None = None, basemap: Basemap | None = None) -> Path:
    """Write ``map_dir/index.html`` and its data script from the layers in ``map_dir``.

    ``basemap`` (or ``tile_url`` / ``gcj02`` / ``tile_attribution``) sets the optional tile
    basemap; GCJ-02 tiles get the GCJ-02 copy of every layer. ``compounds``: the layer just
    written to ``map_dir`` (WGS-84 only), packed from memory instead of parsing
    ``compounds.geojson`` back — the same bytes, in a fraction of the time.
    """
    if basemap is None:
        basemap = Basemap(tile_url, "GCJ02" if gcj02 else "WGS84", tile_attribution)
    gcj02 = basemap.crs == "GCJ02"
    map_dir = Path(map_dir)
    suffix = "_gcj02" if gcj02 else ""
    layers = {name: _read(map_dir / f"{name}{suffix}.geojson") for name in ("districts", "hotspots", "streets", "grids")}
    if compounds is not None and not gcj02:
        packed = packed_layer(compounds)
    else:
        packed = pack_compounds(_read(map_dir / f"compounds{suffix}.geojson"))
    payload = orjson.dumps({"compounds": packed, **layers, "statusNames": STATUS_ZH}).decode("utf-8")
    # a script, not a JSON file: browsers refuse fetch() of file:// (see the module doc)
    (map_dir / "map_data.js").write_text(
        "window.SAFESTAR_DATA=" + payload.replace("</", "<\\/") + ";\n", encoding="utf-8")
    config = {"tileUrl": basemap.url, "tileAttribution": basemap.attribution,
              "siteBase": site_base.rstrip("/"), "coordSys": basemap.crs}
    html = jinja_env().get_template("map_index.html").render(
        leaflet_css=(VENDOR / "leaflet.css").read_text(encoding="utf-8"),
        leaflet_js=(VENDOR / "leaflet.js").read_text(encoding="utf-8"),
        config_json=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
        viewer_js=(Path(__file__).resolve().parent / "templates" / "map_viewer.js").read_text(encoding="utf-8"),
    )
    path = map_dir / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
