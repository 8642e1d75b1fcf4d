"""Point in polygon against compound boundaries: which compound, if any, holds each point.

`CompoundPolygons` keeps the outlines in a shapely STRtree and, in front of it, a sparse
raster of square cells. A cell that lies wholly inside one outline (and touches no other)
answers its points by a lookup; a cell that touches no outline answers "none"; only points
in cells crossed by an edge go to the exact shapely test. Most points of a city fall in the
first two kinds, which is what makes `locate` several times faster than a plain spatial join.

A point on an outline belongs to it (closed polygons); a point on an edge shared by two
compounds (or inside overlapping outlines) goes to the smallest `compound_id` among them,
so the answer never depends on file order.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

log = logging.getLogger(__name__)

_EMPTY = -1   # cell touches no outline
_MIXED = -2   # cell is crossed by an edge (or touched by several outlines): exact test
_MAX_CELL_PAIRS = 6_000_000  # memory cap for the raster build (polygon × bbox-cell pairs)
_CELLS_PER_SIDE = 8          # target resolution: cells across a typical outline


@dataclass
class RejectedFeature:
    """A feature of the boundary file that could not be used, and why."""

    index: int
    compound_id: str | None
    reason: str


@dataclass
class CompoundPolygons:
    """Compound outlines (WGS-84 lon/lat) with a spatial index for fast point location."""

    ids: np.ndarray            # object array of compound_id, one per outline
    geometries: np.ndarray     # shapely (Multi)Polygons, same order
    rejected: list[RejectedFeature] = field(default_factory=list)
    cell_size: float | None = None  # degrees; None = chosen from the outlines

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=object)
        self.geometries = np.asarray(self.geometries, dtype=object)
        if len(self.ids) != len(self.geometries):
            raise ValueError("ids and geometries differ in length")
        # Rank of each outline in compound_id order: the tie-break for shared edges.
        order = np.argsort(self.ids.astype(str), kind="stable")
        self._rank = np.empty(len(order), dtype=np.int64)
        self._rank[order] = np.arange(len(order))
        shapely.prepare(self.geometries)
        self._tree = shapely.STRtree(self.geometries)
        self._build_raster()

    # ---- construction -------------------------------------------------------------
    @classmethod
    def from_geojson(cls, path: Path, id_property: str = "compound_id") -> "CompoundPolygons":
        """Read a GeoJSON FeatureCollection whose features carry `properties.compound_id`."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a readable GeoJSON file ({exc})") from exc
        if not isinstance(doc, Mapping) or doc.get("type") != "FeatureCollection":
            raise ValueError(f"{path}: expected a GeoJSON FeatureCollection")
        return cls.from_features(doc.get("features") or [], id_property=id_property)

    @classmethod
    def from_features(
        cls, features: Iterable[Mapping], id_property: str = "compound_id"
    ) -> "CompoundPolygons":
        """Build from GeoJSON-like feature mappings; unusable features are kept in `rejected`."""
        ids: list[str] = []
        geoms: list = []
        rejected: list[RejectedFeature] = []
        seen: dict[str, int] = {}
        for i, feat in enumerate(features):
            props = (feat.get("properties") or {}) if isinstance(feat, Mapping) else {}
            cid = props.get(id_property)
            cid = None if cid is None else str(cid).strip() or None
            if cid is None:
                rejected.append(RejectedFeature(i, None, "missing_compound_id"))
                continue
            try:
                geom = shapely.from_geojson(json.dumps(feat.get("geometry")))
            except Exception:  # noqa: BLE001 - any parse failure means the same thing here
                rejected.append(RejectedFeature(i, cid, "bad_geometry"))
                continue
            if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
                rejected.append(RejectedFeature(i, cid, "not_a_polygon"))
                continue
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
                polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
                if not polys:
                    rejected.append(RejectedFeature(i, cid, "invalid_geometry"))
                    continue
                geom = shapely.union_all(polys)
            if cid in seen:
                # Two outlines for one compound: one compound, so merge them.
                geoms[seen[cid]] = shapely.union(geoms[seen[cid]], geom)
                continue
            seen[cid] = len(ids)
            ids.append(cid)
            geoms.append(geom)
        for r in rejected:
            log.warning("compound outline %s (feature %d) rejected: %s", r.compound_id, r.index, r.reason)
        return cls(np.array(ids, dtype=object), np.array(geoms, dtype=object), rejected)

    @classmethod
    def from_geometries(cls, ids: Sequence[str], geometries: Sequence, **kw) -> "CompoundPolygons":
        """Build from parallel sequences of compound ids and shapely polygons."""
        return cls(np.asarray(ids, dtype=object), np.asarray(geometries, dtype=object), **kw)

    def __len__(self) -> int:
        return len(self.ids)

    # ---- raster of cells -------------------------------------------------------------
    def _choose_cell_size(self, bounds: np.ndarray) -> float:
        if self.cell_size:
            return float(self.cell_size)
        w = bounds[:, 2] - bounds[:, 0]
        h = bounds[:, 3] - bounds[:, 1]
        typical = float(np.median(np.sqrt(np.maximum(w * h, 1e-14))))
        cs = max(typical / _CELLS_PER_SIDE, 1e-6)
        # Coarsen until the polygon × cell pairs of the build fit the memory cap.
        while np.sum((np.floor(w / cs) + 2) * (np.floor(h / cs) + 2)) > _MAX_CELL_PAIRS:
            cs *= 1.5
        return cs

    def _build_raster(self) -> None:
        n = len(self.geometries)
        self._keys = np.empty(0, dtype=np.int64)
        self._vals = np.empty(0, dtype=np.int64)
        if n == 0:
            self._cs, self._x0, self._y0, self._nx, self._ny = 1.0, 0.0, 0.0, 0, 0
            return
        bounds = shapely.bounds(self.geometries)
        cs = self._choose_cell_size(bounds)
        x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
        ix0 = np.floor((bounds[:, 0] - x0) / cs).astype(np.int64)
        ix1 = np.floor((bounds[:, 2] - x0) / cs).astype(np.int64)
        iy0 = np.floor((bounds[:, 1] - y0) / cs).astype(np.int64)
        iy1 = np.floor((bounds[:, 3] - y0) / cs).astype(np.int64)
        self._cs, self._x0, self._y0 = cs, x0, y0
        self._nx, self._ny = int(ix1.max()) + 1, int(iy1.max()) + 1

        # Every (outline, cell of its bounding box) pair, enumerated without a loop.
        w = ix1 - ix0 + 1
        counts = w * (iy1 - iy0 + 1)
        poly = np.repeat(np.arange(n), counts)
        local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        cx = ix0[poly] + local % w[poly]
        cy = iy0[poly] + local // w[poly]
        boxes = shapely.box(x0 + cx * cs, y0 + cy * cs, x0 + (cx + 1) * cs, y0 + (cy + 1) * cs)
        hit = shapely.intersects(self.geometries[poly], boxes)
        poly, cx, cy, boxes = poly[hit], cx[hit], cy[hit], boxes[hit]
        inside = shapely.contains_properly(self.geometries[poly], boxes)

        key = cy * self._nx + cx
        order = np.argsort(key, kind="stable")
        key, poly, inside = key[order], poly[order], inside[order]
        uniq, start, count = np.unique(key, return_index=True, return_counts=True)
        sole = (count == 1) & inside[start]
        self._keys = uniq
        self._vals = np.where(sole, poly[start], _MIXED)

    def raster_stats(self) -> dict[str, float]:
        """Cell size and how many cells are answered by lookup (for benchmarks and logs)."""
        return {
            "cell_size_deg": self._cs,
            "cells": int(self._keys.size),
            "interior_cells": int((self._vals >= 0).sum()),
            "mixed_cells": int((self._vals == _MIXED).sum()),
        }

    # ---- queries ----------------------------------------------------------------------
    def locate_index(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index (into `ids`) of the outline holding each point, -1 for none."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        out = np.full(lon.shape, _EMPTY, dtype=np.int64)
        if len(self.ids) == 0 or lon.size == 0:
            return out
        fx = np.floor((lon - self._x0) / self._cs)
        fy = np.floor((lat - self._y0) / self._cs)
        ok = np.isfinite(fx) & np.isfinite(fy) & (fx >= 0) & (fy >= 0) & (fx < self._nx) & (fy < self._ny)
        key = np.where(ok, fy * self._nx + fx, -1).astype(np.int64)
        pos = np.searchsorted(self._keys, key)
        pos = np.minimum(pos, self._keys.size - 1)
        found = ok & (self._keys[pos] == key)
        out[found] = self._vals[pos[found]]

        mixed = np.flatnonzero(out == _MIXED)
        out[mixed] = _EMPTY
        if mixed.size:
            pts = shapely.points(lon[mixed], lat[mixed])
            # "intersects" = the closed outline covers the point, so edges count as inside.
            p_idx, g_idx = self._tree.query(pts, predicate="intersects")
            if p_idx.size:
                # Per point keep the outline with the smallest compound_id (deterministic).
                order = np.lexsort((self._rank[g_idx], p_idx))
                p_idx, g_idx = p_idx[order], g_idx[order]
                first = np.ones(p_idx.size, dtype=bool)
                first[1:] = p_idx[1:] != p_idx[:-1]
                out[mixed[p_idx[first]]] = g_idx[first]
        return out

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Compound id holding each point (object array, None where no outline holds it)."""
        idx = self.locate_index(lon, lat)
        ids = np.empty(idx.shape, dtype=object)
        hit = idx >= 0
        ids[hit] = self.ids[idx[hit]]
        return ids
