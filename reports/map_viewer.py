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

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
from jinja2.utils import htmlsafe_json_dumps

from reports.map_layer import Layer, layer_file
from reports.templating import render_template

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "static" / "vendor" / "leaflet"
STATUS_ZH = {"rated": "已评定", "downgraded": "降星", "vetoed": "一票否决", "not_rated": "未评定"}


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
    def from_env(cls, environ: Mapping[str, str]) -> Basemap:
        """From SAFESTAR_TILE_URL, SAFESTAR_TILE_CRS (WGS84 | GCJ02) and
        SAFESTAR_TILE_ATTRIBUTION; ValueError with one line when they are unusable."""
        url = environ.get("SAFESTAR_TILE_URL", "").strip()
        crs = environ.get("SAFESTAR_TILE_CRS", "WGS84").strip().upper().replace("-", "")
        if crs not in ("WGS84", "GCJ02"):
            raise ValueError(f"SAFESTAR_TILE_CRS={crs!r}: use WGS84 or GCJ02 (the system the tiles are drawn in)")
        if url and (not url.startswith(("http://", "https://")) or not all(k in url for k in ("{z}", "{x}", "{y}"))):
            raise ValueError(f"SAFESTAR_TILE_URL={url!r}: use an http(s) XYZ template with {{z}}, {{x}} and {{y}}")
        return cls(url, crs, environ.get("SAFESTAR_TILE_ATTRIBUTION", "").strip())


def _read(path: Path) -> dict:
    if not path.exists():
        return {"type": "FeatureCollection", "features": []}
    try:
        return orjson.loads(path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"{path} is not readable GeoJSON ({exc}); write the map layers again") from exc


def _lookup(values: list) -> tuple[list, list[int]]:
    """Values → (sorted distinct values, index of each value), for compact columns."""
    distinct = sorted({"" if v is None else str(v) for v in values})
    pos = {v: i for i, v in enumerate(distinct)}
    return distinct, [pos["" if v is None else str(v)] for v in values]


def _packed(compounds: Layer, system: str) -> dict:
    """The compounds column-wise: properties as columns, the point each compound is drawn and
    clicked at, and the GeoJSON geometry of each polygon (``shapes``: [feature index, geometry])."""
    rows, shapes = compounds.rows, compounds.shapes[system]
    packed: dict = {"n": len(rows)}
    for key in ("district", "street", "community", "status", "leading_group"):
        packed[key + "s"], packed[key] = _lookup([r.get(key) for r in rows])
    for key, name in (("id", "id"), ("name", "name"), ("grid_code", "grid_code"), ("index", "safety_index")):
        packed[key] = [r.get(name) for r in rows]
    packed["stars"] = [int(r.get("stars") or 0) for r in rows]
    packed["x"], packed["y"] = np.where(np.isnan(shapes.inner), None, shapes.inner).T.tolist()
    packed["shapes"] = [[i, orjson.Fragment(g)] for i, (g, a) in enumerate(zip(shapes.geojson, shapes.areal)) if a]
    return packed


def write_map_viewer(map_dir: Path, compounds: Layer, *, basemap: Basemap = Basemap(),
                     site_base: str = "../site") -> Path:
    """Write ``map_dir/index.html`` and its data script over the layers in ``map_dir``, in
    the basemap's coordinate system; ``compounds``, the layer written there, is packed from memory."""
    map_dir = Path(map_dir)
    system = basemap.crs
    layers = {name: _read(map_dir / layer_file(name, system)) for name in ("districts", "hotspots", "streets", "grids")}
    packed = _packed(compounds, system)
    # a script, not a JSON file: browsers refuse fetch() of file:// (see the module doc)
    data = htmlsafe_json_dumps({"compounds": packed, **layers, "statusNames": STATUS_ZH},
                               dumps=lambda obj: orjson.dumps(obj).decode("utf-8"))
    (map_dir / "map_data.js").write_text(f"window.SAFESTAR_DATA={data};\n", encoding="utf-8")
    path = map_dir / "index.html"
    path.write_text(render_template(
        "map_index.html",
        leaflet_css=(VENDOR / "leaflet.css").read_text(encoding="utf-8"),
        leaflet_js=(VENDOR / "leaflet.js").read_text(encoding="utf-8"),
        viewer_js=(HERE / "templates" / "map_viewer.js").read_text(encoding="utf-8"),
        config={"tileUrl": basemap.url, "tileAttribution": basemap.attribution,
                "siteBase": site_base.rstrip("/"), "coordSys": system},
    ), encoding="utf-8")
    return path
