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

import codecs
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import shapely

log = logging.getLogger(__name__)

_EMPTY = -1   # cell touches no outline
_MIXED = -2   # cell is crossed by an edge (or touched by several outlines): exact test
_MAX_AREA_CELLS = 12_000_000   # memory cap: cells covered by outline bounding boxes
_MAX_DENSE_CELLS = 50_000_000  # up to this many grid cells, a dense lookup array (≤ 200 MB)
_CELLS_PER_SIDE = 16           # target resolution: cells across a typical outline
_EPS = 1e-7                    # grid units; points this close to a grid line mark both sides


@dataclass
class RejectedFeature:
    """A feature of the boundary file that could not be used, and why."""

    index: int
    compound_id: str | None
    reason: str


def read_feature_collection(path: Path) -> dict:
    """A GeoJSON FeatureCollection file (a UTF-8 BOM allowed); ValueError in one line saying
    what to do when it is unusable."""
    try:
        # orjson: a city's outlines are tens of MB (seconds with json.loads).
        doc = orjson.loads(path.read_bytes().removeprefix(codecs.BOM_UTF8))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable GeoJSON file ({exc}); re-export it as UTF-8 GeoJSON "
                         f"or remove it") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: expected a GeoJSON FeatureCollection; re-export it or remove it")
    return doc


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
        # The raster pays for itself only over many points; built on first such use.
        self._raster_built = False

    # ---- construction -------------------------------------------------------------
    @classmethod
    def from_geojson(cls, path: Path, id_property: str = "compound_id") -> CompoundPolygons:
        """Read a GeoJSON FeatureCollection whose features carry `properties.compound_id`."""
        return cls.from_features(read_feature_collection(Path(path)).get("features") or [], id_property=id_property)

    @classmethod
    def from_features(
        cls, features: Iterable[Mapping], id_property: str = "compound_id"
    ) -> CompoundPolygons:
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
    def from_geometries(cls, ids: Sequence[str], geometries: Sequence, **kw) -> CompoundPolygons:
        """Build from parallel sequences of compound ids and shapely polygons."""
        return cls(np.asarray(ids, dtype=object), np.asarray(geometries, dtype=object), **kw)

    @classmethod
    def from_wkb(cls, ids: Sequence[str], wkb: Sequence[bytes], **kw) -> CompoundPolygons:
        """Build from compound ids and the outlines as WKB (see `to_wkb`): no GeoJSON to parse."""
        geoms = shapely.from_wkb(np.asarray(wkb, dtype=object)) if len(wkb) else np.empty(0, dtype=object)
        return cls(np.asarray(ids, dtype=object), geoms, **kw)

    def to_wkb(self) -> list[bytes]:
        """The outlines as WKB, in `ids` order (exact: doubles are written as they are)."""
        return list(shapely.to_wkb(self.geometries)) if len(self.geometries) else []

    def __len__(self) -> int:
        return len(self.ids)

    # ---- raster of cells -------------------------------------------------------------
    def _choose_cell_size(self, bounds: np.ndarray) -> float:
        if self.cell_size:
            return float(self.cell_size)
        w = bounds[:, 2] - bounds[:, 0]
        h = bounds[:, 3] - bounds[:, 1]
        typical = float(np.median(np.sqrt(np.maximum(w * h, 1e-14))))
        cs = max(typical / _CELLS_PER_SIDE, 1e-7)
        # Coarsen until the cells covered by outlines fit the memory budget.
        while np.sum((w / cs + 2) * (h / cs + 2)) > _MAX_AREA_CELLS:
            cs *= 1.25
        # Coarsen a little more if that lets the whole grid be a dense array.
        extent = (bounds[:, 2].max() - bounds[:, 0].min()) * (bounds[:, 3].max() - bounds[:, 1].min())
        cs_dense = float(np.sqrt(extent / _MAX_DENSE_CELLS)) * 1.01 if _MAX_DENSE_CELLS > 0 else np.inf
        if cs < cs_dense <= 2 * cs:
            cs = cs_dense
        return cs

    def _build_raster(self) -> None:
        """Classify grid cells: inside exactly one outline, crossed by an edge, or empty.

        Edges are rasterised exactly (every grid line a segment crosses marks the cells on
        both sides), interiors by an even-odd scanline through cell centres; a cell no edge
        touches is wholly inside or wholly outside each outline, so its centre decides.
        All of it is NumPy over arrays of edges, no loop over outlines.
        """
        n = len(self.geometries)
        self._dense = None
        self._keys = np.empty(0, dtype=np.int64)
        self._vals = np.empty(0, dtype=np.int64)
        if n == 0:
            self._cs, self._x0, self._y0, self._nx, self._ny = 1.0, 0.0, 0.0, 0, 0
            return
        bounds = shapely.bounds(self.geometries)
        cs = self._choose_cell_size(bounds)
        x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
        nx = int(np.floor((bounds[:, 2].max() - x0) / cs)) + 1
        ny = int(np.floor((bounds[:, 3].max() - y0) / cs)) + 1
        self._cs, self._x0, self._y0, self._nx, self._ny = cs, x0, y0, nx, ny

        ax, ay, bx, by, owner = _edges(self.geometries)
        # grid units: cell (i, j) spans [i, i+1) × [j, j+1)
        gx1, gy1, gx2, gy2 = (ax - x0) / cs, (ay - y0) / cs, (bx - x0) / cs, (by - y0) / cs
        boundary = _edge_cells(gx1, gy1, gx2, gy2, nx, ny)
        in_key, in_owner = _scanline_cells(gx1, gy1, gx2, gy2, owner, nx, ny)

        # Cells inside one outline only; several (overlaps) or an edge make a cell mixed.
        if nx * ny <= _MAX_DENSE_CELLS:
            # A dense grid: building is a few scatters, lookup one gather.
            dense = np.full(nx * ny, _EMPTY, dtype=np.int32 if n < 2**31 - 1 else np.int64)
            dense[in_key] = in_owner
            # Where outlines overlap, the last write wins; any cell whose writers disagree
            # with what stuck is an overlap.
            dense[in_key[dense[in_key] != in_owner]] = _MIXED
            dense[boundary] = _MIXED
            self._dense = dense
            return
        keys = np.sort(np.concatenate([in_key, boundary]))
        # Sort-based uniques (NumPy's hashed unique is slow on tens of millions of keys).
        order = np.argsort(in_key, kind="stable")
        k_in, o_in = in_key[order], in_owner[order]
        first = np.ones(k_in.size, dtype=bool)
        first[1:] = k_in[1:] != k_in[:-1]
        run_len = np.diff(np.append(np.flatnonzero(first), k_in.size))
        uk = k_in[first]
        uval = np.where(run_len == 1, o_in[first], _MIXED)
        first = np.ones(keys.size, dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        keys = keys[first]
        vals = np.full(keys.size, _MIXED, dtype=np.int64)
        vals[np.searchsorted(keys, uk)] = uval
        vals[np.searchsorted(keys, boundary)] = _MIXED
        self._keys, self._vals = keys, vals

    def _ensure_raster(self) -> None:
        if not self._raster_built:
            self._build_raster()
            self._raster_built = True

    def raster_stats(self) -> dict[str, float]:
        """Cell size and how many cells are answered by lookup (for benchmarks and logs)."""
        self._ensure_raster()
        vals = self._dense if self._dense is not None else self._vals
        return {
            "cell_size_deg": self._cs,
            "cells": int(np.count_nonzero(vals != _EMPTY)),
            "interior_cells": int(np.count_nonzero(vals >= 0)),
            "mixed_cells": int(np.count_nonzero(vals == _MIXED)),
            "dense": self._dense is not None,
        }

    def locate_index(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index (into `ids`) of the outline holding each point, -1 for none."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        out = np.full(lon.shape, _EMPTY, dtype=np.int64)
        if len(self.ids) == 0 or lon.size == 0:
            return out
        if self._raster_built or lon.size >= len(self.ids):
            self._ensure_raster()
            fx = np.floor((lon - self._x0) / self._cs)
            fy = np.floor((lat - self._y0) / self._cs)
            ok = np.isfinite(fx) & np.isfinite(fy) & (fx >= 0) & (fy >= 0) & (fx < self._nx) & (fy < self._ny)
            key = np.where(ok, fy * self._nx + fx, 0).astype(np.int64)
            if self._dense is not None:
                out[ok] = self._dense[key[ok]]
            else:
                pos = np.minimum(np.searchsorted(self._keys, key), self._keys.size - 1)
                found = ok & (self._keys[pos] == key)
                out[found] = self._vals[pos[found]]
        else:
            # Fewer points than outlines (a night's incidents): the exact test for each.
            out[np.isfinite(lon) & np.isfinite(lat)] = _MIXED

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


# ---- rasterisation helpers (NumPy over all edges at once) -------------------------------
def _edges(geoms: np.ndarray):
    """Every ring edge of every outline (holes included) and the outline it belongs to."""
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
    same = ring_idx[:-1] == ring_idx[1:]
    a, b = coords[:-1][same], coords[1:][same]
    owner = part_owner[ring_part[ring_idx[:-1][same]]]
    return a[:, 0], a[:, 1], b[:, 0], b[:, 1], owner


def _enumerate(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges [lo, hi] (inclusive, possibly empty): (range index, value) of every member."""
    cnt = np.maximum(hi - lo + 1, 0)
    which = np.repeat(np.arange(lo.size), cnt)
    value = lo[which] + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return which, value


def _cells(fx0, fx1, fy0, fy1, nx: int, ny: int) -> np.ndarray:
    """Keys of cell (fx0, fy0), plus (fx1, ·) where fx1 ≠ fx0 and (·, fy1) where fy1 ≠ fy0."""
    sx, sy = fx1 != fx0, fy1 != fy0
    cx = np.concatenate([fx0, fx1[sx], fx0[sy], fx1[sx & sy]])
    cy = np.concatenate([fy0, fy0[sx], fy1[sy], fy1[sx & sy]])
    ok = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
    return cy[ok] * nx + cx[ok]  # duplicates are harmless to both grid layouts


def _floors(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell index just below and just above g: different only when g sits on a grid line."""
    return np.floor(g - _EPS).astype(np.int64), np.floor(g + _EPS).astype(np.int64)


def _edge_cells(gx1, gy1, gx2, gy2, nx: int, ny: int) -> np.ndarray:
    """Keys of every cell an edge touches: a segment passes from cell to cell only by
    crossing a grid line, so its end points and grid-line crossings find them all (both
    sides of the line; all four cells at a grid corner)."""
    parts = [_cells(*_floors(gx1), *_floors(gy1), nx, ny)]  # rings are closed: every vertex starts an edge
    # crossings of vertical grid lines x = k: cells k-1 and k of the row at the crossing
    e, k = _enumerate(np.ceil(np.minimum(gx1, gx2)).astype(np.int64), np.floor(np.maximum(gx1, gx2)).astype(np.int64))
    keep = gx2[e] != gx1[e]
    e, k = e[keep], k[keep]
    y = gy1[e] + (k - gx1[e]) * (gy2[e] - gy1[e]) / (gx2[e] - gx1[e])
    parts.append(_cells(k - 1, k, *_floors(y), nx, ny))
    # crossings of horizontal grid lines y = k: cells k-1 and k of the column at the crossing
    e, k = _enumerate(np.ceil(np.minimum(gy1, gy2)).astype(np.int64), np.floor(np.maximum(gy1, gy2)).astype(np.int64))
    keep = gy2[e] != gy1[e]
    e, k = e[keep], k[keep]
    x = gx1[e] + (k - gy1[e]) * (gx2[e] - gx1[e]) / (gy2[e] - gy1[e])
    parts.append(_cells(*_floors(x), k - 1, k, nx, ny))
    return np.concatenate(parts)


def _scanline_cells(gx1, gy1, gx2, gy2, owner, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """(key, outline) of every cell whose centre lies inside an outline (even-odd rule)."""
    lo, hi = np.minimum(gy1, gy2), np.maximum(gy1, gy2)
    # rows whose centre line y = r + 0.5 satisfies lo <= y < hi (half-open: vertices count once)
    e, row = _enumerate(np.ceil(lo - 0.5).astype(np.int64), np.ceil(hi - 0.5).astype(np.int64) - 1)
    yc = row + 0.5
    x = gx1[e] + (yc - gy1[e]) * (gx2[e] - gx1[e]) / (gy2[e] - gy1[e])
    own = owner[e]
    # One sort on (outline, row) + x folded into a float. Where the fold loses precision
    # (crossings closer than ~1e-3 cell) the cells involved are edge cells, which are
    # mixed whatever the scanline says.
    group = own.astype(np.float64) * ny + row
    order = np.argsort(group + np.clip(x, -1.0, nx + 1.0) / (nx + 3.0))
    x, row, own = x[order], row[order], own[order]
    new_group = np.ones(x.size, dtype=bool)
    new_group[1:] = (row[1:] != row[:-1]) | (own[1:] != own[:-1])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(x.size), 0))
    even = ((np.arange(x.size) - group_start) % 2 == 0)
    a = np.flatnonzero(even)
    a = a[(a + 1 < x.size)]
    a = a[(row[a + 1] == row[a]) & (own[a + 1] == own[a])]
    xa, xb, r, o = x[a], x[a + 1], row[a], own[a]
    # cells whose centre c + 0.5 lies in [xa, xb)
    c_lo = np.maximum(np.ceil(xa - 0.5).astype(np.int64), 0)
    c_hi = np.minimum(np.ceil(xb - 0.5).astype(np.int64) - 1, nx - 1)
    span, col = _enumerate(c_lo, c_hi)
    rr = r[span]
    ok = (rr >= 0) & (rr < ny)
    return rr[ok] * nx + col[ok], o[span][ok]
