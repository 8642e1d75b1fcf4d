"""The map's geometry: GeoJSON members parsed, snapped to the 1e-6° grid (≈ 0.1 m) and
oriented per RFC 7946 by shapely, in WGS-84 and in the GCJ-02 copy for Chinese basemaps."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson
import polars as pl
import shapely

from geo.coords import wgs84_to_gcj02

GRID = 1e-6
SYSTEMS = ("WGS84", "GCJ02")


class Prepared(NamedTuple):
    """Shapes in one coordinate system: the GeoJSON text of each (None where none), a
    point inside each (NaN where none) and which of them are polygons."""

    geojson: list[str | None]
    inner: np.ndarray
    areal: np.ndarray


Shapes = dict[str, Prepared]


def parse(members: list) -> np.ndarray:
    """Shapely geometries of GeoJSON geometry members (2-D, repaired when invalid); None
    where a member is missing or unusable."""
    geoms = shapely.from_geojson([orjson.dumps(m) if m else None for m in members], on_invalid="ignore")
    z = shapely.has_z(geoms)
    geoms[z] = shapely.force_2d(geoms[z])
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    return geoms


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """True where a geometry is a non-empty polygon or multipolygon."""
    return np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)


def _snapped(geoms: np.ndarray) -> np.ndarray:
    """On the grid, kept valid, exterior rings counter-clockwise; a sliver the grid
    collapses becomes a point inside it rather than vanishing."""
    out = shapely.transform(geoms, lambda c: np.round(c, 6))
    # rounding keeps most outlines valid; GEOS snap-rounding (much dearer) repairs the rest,
    # read back as the file's readers get it: with its fixed precision model kept, inner
    # points would be pulled onto the grid
    bad = ~shapely.is_valid(out) & ~shapely.is_missing(out)
    out[bad] = shapely.from_geojson(shapely.to_geojson(shapely.set_precision(geoms[bad], GRID)))
    lost = shapely.is_empty(out) & ~shapely.is_empty(geoms)
    out[lost] = shapely.set_precision(shapely.point_on_surface(geoms[lost]), GRID)
    return shapely.orient_polygons(out, exterior_cw=False)


def shapes(geoms: np.ndarray) -> Shapes:
    """WGS-84 ``geoms`` (None allowed) prepared in both systems. The GeoJSON stays text
    (written as is by orjson): a city's worth of nested coordinate lists is slow to build."""
    wgs84 = _snapped(np.asarray(geoms, dtype=object))
    gcj02 = _snapped(shapely.transform(wgs84, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1]))))
    return {system: _prepared(g) for system, g in zip(SYSTEMS, (wgs84, gcj02))}


def _prepared(snapped: np.ndarray) -> Prepared:
    # GEOS writes 17 significant digits, orjson the shortest that reads back (118.106344)
    texts = [t and orjson.dumps(orjson.loads(t)).decode() for t in shapely.to_geojson(snapped).tolist()]
    return Prepared(texts, inner_points(snapped), shapely.get_type_id(snapped) >= 3)


def inner_points(geoms: np.ndarray) -> np.ndarray:
    """A point inside each shape (the point itself for a point), as (lon, lat) rows on the
    grid; NaN where there is no shape. The map counts and clicks a compound there."""
    inner = shapely.point_on_surface(geoms)
    xy = np.full((len(geoms), 2), np.nan)
    present = ~shapely.is_missing(inner) & ~shapely.is_empty(inner)
    xy[present] = shapely.get_coordinates(inner[present])
    return np.round(xy, 6)


class GeometryCache:
    """The compounds' prepared shapes of the last run, kept between runs: outlines rarely
    change, and snapping 100,000 of them twice costs seconds. An entry is keyed by the
    outline file's digest, the compounds' ids and points in layer order and the code that
    builds them, so a hit gives exactly what would be computed."""

    def __init__(self, folder: Path, outlines_digest: str):
        self.folder = Path(folder)
        self.outlines_digest = outlines_digest

    def key(self, points: pl.DataFrame) -> str:
        digest = hashlib.sha256(self.outlines_digest.encode("utf-8"))
        digest.update(points.write_ipc(None).getvalue())
        for module in ("map_geometry.py", "map_layer.py"):
            digest.update(Path(__file__).with_name(module).read_bytes())
        digest.update(repr((shapely.__version__, shapely.geos_version)).encode("utf-8"))
        return digest.hexdigest()[:32]

    def load(self, key: str) -> Shapes | None:
        try:
            kept = orjson.loads((self.folder / f"{key}.shapes.json").read_bytes())
            return {s: Prepared(kept[s][0], np.array(kept[s][1], dtype=float).reshape(-1, 2),
                                np.array(kept[s][2], dtype=bool)) for s in SYSTEMS}
        except Exception:  # noqa: BLE001 - missing, half-written or of another layout: compute afresh
            return None

    def save(self, key: str, value: Shapes) -> None:
        """Atomically, the newest entry only (a killed run leaves the old entry or none)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_bytes(orjson.dumps({s: list(p) for s, p in value.items()}, option=orjson.OPT_SERIALIZE_NUMPY))
        os.replace(tmp, self.folder / f"{key}.shapes.json")
        for old in self.folder.glob("*.shapes.json"):
            if old.name != f"{key}.shapes.json":
                old.unlink(missing_ok=True)
