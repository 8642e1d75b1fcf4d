"""Compound geometries for the map in bulk: parsed, snapped to the 1e-6° grid and turned
into GeoJSON geometry objects (for orjson) without a GEOS call per compound.

``shapely.set_precision`` (GEOS snap-rounding overlay) costs ~25 µs a polygon and the
per-feature ``json`` round trips cost more; at 100,000 compounds that was most of the map's
run time. For an ordinary compound outline — one ring, valid before and after rounding,
no vertex within two grid cells of a segment it does not end — snap-rounding moves every
vertex to its grid point and changes nothing else, so the result is known without GEOS:
the rounded ring, started where GEOS starts it and oriented per RFC 7946. Every other
shape (holes, multipolygons, near-degenerate rings, repaired shapes) takes
``set_precision`` as before. ``tests/reports/test_map_geometry.py`` checks the two paths
agree vertex for vertex, so a GEOS upgrade that changes its output cannot slip by.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import shapely
from shapely import GeometryType

PRECISION = 6
_SCALE = 10.0 ** PRECISION
_GRID = 10.0 ** -PRECISION
# a vertex closer than this to a segment it does not end could be snapped onto it
_CLEARANCE = 2.0 * _GRID


def parse_polygons(geometries: list[dict]) -> np.ndarray:
    """Shapely polygons from GeoJSON ``Polygon`` members, built in one call; an entry is
    None where the member is not a plain 2-D polygon of closed rings of 4+ points (the
    caller parses those one by one, so malformed shapes meet the same checks as before)."""
    n = len(geometries)
    out = np.full(n, None, dtype=object)
    rings_per, ring_len, points, which = [], [], [], []
    for i, g in enumerate(geometries):
        rings = g.get("coordinates") if isinstance(g, dict) and g.get("type") == "Polygon" else None
        if not isinstance(rings, list) or not rings:
            continue
        ok = all(isinstance(r, list) and len(r) >= 4 and r[0] == r[-1] for r in rings)
        if not ok:
            continue
        which.append(i)
        rings_per.append(len(rings))
        for r in rings:
            ring_len.append(len(r))
            points.extend(r)
    if not which:
        return out
    try:
        coords = np.array(points, dtype=float)
    except (ValueError, TypeError):
        coords = None
    if coords is None or coords.ndim != 2 or coords.shape[1] != 2:
        return out  # some member is ragged or 3-D: all go the careful way
    ring_offsets = np.concatenate([[0], np.cumsum(ring_len)])
    geom_offsets = np.concatenate([[0], np.cumsum(rings_per)])
    polys = shapely.from_ragged_array(GeometryType.POLYGON, coords, (ring_offsets, geom_offsets))
    out[np.array(which)] = polys
    return out


def _round_half_up(c: np.ndarray) -> np.ndarray:
    """GEOS's ``PrecisionModel::makePrecise`` for a 1e-6 grid: round half up, then divide."""
    v = c * _SCALE
    whole = np.trunc(v)
    frac = np.abs(v - whole)
    up = np.where(v >= 0, np.where(frac < 0.5, np.floor(v), np.where(frac > 0.5, np.ceil(v), whole + 1.0)),
                  np.where(frac < 0.5, np.ceil(v), np.where(frac > 0.5, np.floor(v), whole)))
    return up / _SCALE


def _signed_area2(ring: np.ndarray) -> np.ndarray:
    """Twice the signed area of closed rings stacked as (rings, points, 2)."""
    x, y = ring[..., 0], ring[..., 1]
    return (x[:, :-1] * y[:, 1:] - x[:, 1:] * y[:, :-1]).sum(axis=1)


def _clear(vertices: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """True where every vertex keeps ``_CLEARANCE`` from each segment it is not an end of.

    ``vertices`` (rings, n, 2) are tested against the segments of ``ring`` (rings, n+1, 2).
    """
    n = vertices.shape[1]
    a, b = ring[:, :-1], ring[:, 1:]                      # segments k: (rings, n, 2)
    p = vertices[:, :, None, :]                           # vertex j vs segment k
    ab = (b - a)[:, None, :, :]
    ap = p - a[:, None, :, :]
    length2 = (ab ** 2).sum(-1)
    t = np.clip((ap * ab).sum(-1) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    d2 = ((ap - t[..., None] * ab) ** 2).sum(-1)          # (rings, n, n)
    j = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    own = (j == k) | (j == (k + 1) % n)                   # vertex j ends segments j-1 and j
    d2 = np.where(own[None], np.inf, d2)
    return (d2 > _CLEARANCE ** 2).all(axis=(1, 2))


@dataclass(frozen=True)
class Rings:
    """Closed rings of some features: ``index`` (ascending feature positions), their
    coordinates stacked in ``coords`` and ``offsets`` into it (one more than rings)."""
    index: np.ndarray
    coords: np.ndarray
    offsets: np.ndarray

    def polygons(self) -> np.ndarray:
        """The rings as shapely polygons, built in one call."""
        if self.index.size == 0:
            return np.empty(0, dtype=object)
        return shapely.from_ragged_array(GeometryType.POLYGON, self.coords,
                                         (self.offsets, np.arange(self.index.size + 1)))

    def with_coords(self, coords: np.ndarray) -> Rings:
        return Rings(self.index, coords, self.offsets)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def plain_rings(geoms: np.ndarray) -> Rings:
    """The one-ring polygons among ``geoms`` (None allowed), as rings."""
    present = np.array([g is not None for g in geoms], dtype=bool)
    idx = np.flatnonzero(present)
    if idx.size:
        g = geoms[idx]
        idx = idx[(shapely.get_type_id(g) == 3) & (shapely.get_num_interior_rings(g) == 0)]
    if idx.size == 0:
        return Rings(np.empty(0, dtype=np.int64), np.empty((0, 2)), np.zeros(1, dtype=np.int64))
    g = geoms[idx]
    return Rings(idx, shapely.get_coordinates(g), _offsets(shapely.get_num_coordinates(g)))


def snap_rings(rings: Rings) -> Rings:
    """The rings whose snap-rounding is known (see the module doc), snapped: final closed
    rings, counter-clockwise, started where GEOS starts them. The others are left out."""
    lengths = np.diff(rings.offsets)
    found_idx, found_rings = [], []
    for n1 in np.unique(lengths):                         # rings of equal length in one block
        if n1 < 4:
            continue
        sel = np.flatnonzero(lengths == n1)
        block = rings.coords[rings.offsets[sel][:, None] + np.arange(n1)[None, :]]   # (k, n+1, 2)
        ok, out = _snap_block(block)
        if ok.any():
            found_idx.append(rings.index[sel[ok]])
            found_rings.append(out[ok])
    if not found_idx:
        return Rings(np.empty(0, dtype=np.int64), np.empty((0, 2)), np.zeros(1, dtype=np.int64))
    index = np.concatenate(found_idx)
    lengths = np.concatenate([np.full(len(r), r.shape[1]) for r in found_rings])
    flat = np.concatenate([r.reshape(-1, 2) for r in found_rings])
    order = np.argsort(index, kind="stable")
    starts = (np.cumsum(lengths) - lengths)[order]
    lengths = lengths[order]
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return Rings(index[order], flat[np.repeat(starts, lengths) + within], _offsets(lengths))


def _snap_block(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rings of one length (k, n+1, 2): which have a known snap-rounding, and the result."""
    rounded = _round_half_up(block)
    n = block.shape[1] - 1
    ok = ~(block[:, :-1] == block[:, 1:]).all(-1).any(1)                     # no repeated input point
    ok &= ~(rounded[:, :-1] == rounded[:, 1:]).all(-1).any(1)               # none made by rounding
    area_in, area_out = _signed_area2(block), _signed_area2(rounded)
    ok &= (np.sign(area_in) == np.sign(area_out)) & (area_out != 0)
    ok &= _clear(rounded[:, :-1], rounded) & _clear(rounded[:, :-1], block)
    # a simple input ring stays simple: rounding moves each vertex < 0.71 grid cells, so a
    # new crossing would first bring a vertex within ~1.4 cells of a segment, which the
    # clearance of two cells excludes
    ok &= ~_crossing(block)
    # GEOS hands the ring back clockwise, from the vertex after the input's first one along
    # that direction; orienting it counter-clockwise reverses the sequence.
    start_ccw = np.r_[n - 1, np.arange(n)]                                   # p[n-1], p0, …, p[n-1]
    start_cw = np.r_[1, 0, np.arange(n - 1, 0, -1)]                          # p1, p0, p[n-1], …, p1
    out = np.where((area_in > 0)[:, None, None], rounded[:, start_ccw], rounded[:, start_cw])
    return ok, np.round(out, PRECISION)


def _crossing(ring: np.ndarray) -> np.ndarray:
    """True where two segments of a closed ring (rings, n+1, 2) that share no vertex cross."""
    a, b = ring[:, :-1], ring[:, 1:]
    n = a.shape[1]

    def side(p, q, r):  # sign of the turn p → q → r, for every segment pair (i, j)
        return np.sign((q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1])
                       - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0]))

    ai, bi = a[:, :, None, :], b[:, :, None, :]
    aj, bj = a[:, None, :, :], b[:, None, :, :]
    cross = (side(ai, bi, aj) * side(ai, bi, bj) < 0) & (side(aj, bj, ai) * side(aj, bj, bi) < 0)
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    apart = (i != j) & ((i + 1) % n != j) & ((j + 1) % n != i)
    return (cross & apart[None]).any(axis=(1, 2))


def format_numbers(values: np.ndarray) -> pl.Series:
    """Floats as Python's ``repr`` writes them (what ``json.dumps`` emits), in bulk."""
    s = pl.Series(values, dtype=pl.Float64)
    if not np.isfinite(values).all():
        raise ValueError("Out of range float values are not JSON compliant")
    text = s.cast(pl.String)
    odd = np.flatnonzero(((np.abs(values) < 1e-4) & (values != 0)) | (np.abs(values) >= 1e16))
    if odd.size:  # Polars and Python differ on exponents: let Python write those few
        text = text.scatter(odd, [repr(float(values[i])) for i in odd])
    return text


def geometry_object(geom) -> dict | None:
    """One geometry as a GeoJSON geometry object, the careful way (shapely's mapping)."""
    return None if geom is None else shapely.geometry.mapping(geom)


def ring_lists(rings: Rings) -> list[list[list[float]]]:
    """Each closed ring as a list of ``[x, y]`` points, from the stacked coordinates."""
    if rings.index.size == 0:
        return []
    points = rings.coords.tolist()  # one conversion, then slices: a call per ring costs more
    bounds = rings.offsets.tolist()
    return [points[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def normalise_geometries(geoms: np.ndarray) -> np.ndarray:
    """Snap to a 1e-6° grid (keeping shapes valid) and orient rings per RFC 7946: the
    careful way, one GEOS call per shape."""
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


@dataclass(frozen=True)
class Normalised:
    """Geometries snapped and oriented (``geoms``, None where absent), their GeoJSON
    geometry objects (``objects``), and the common shapes among them as coordinates: points
    (``point_index``, ``point_xy``) and plain outlines (``rings``)."""
    geoms: np.ndarray
    objects: list[dict | None]
    point_index: np.ndarray
    point_xy: np.ndarray
    rings: Rings
    surface_xy: np.ndarray  # a point inside each shape (lon, lat; NaN where none): where it is counted and clicked


def normalise(geoms: np.ndarray) -> Normalised:
    """``normalise_geometries`` and the GeoJSON geometry object of each result: points and
    plain outlines in bulk, the rest one by one."""
    geoms = np.asarray(geoms, dtype=object)
    types = _types(geoms)
    points = np.flatnonzero(types == 0)
    xy = np.round(shapely.get_coordinates(geoms[points]), PRECISION) if points.size else np.empty((0, 2))
    rings = snap_rings(plain_rings(np.where(types >= 3, geoms, None)))
    out = np.full(len(geoms), None, dtype=object)
    if points.size:
        out[points] = shapely.points(xy)
    if rings.index.size:
        out[rings.index] = rings.polygons()
    rest = (types >= 0) & (types != 0)
    rest[rings.index] = False
    if rest.any():
        out[rest] = normalise_geometries(geoms[rest])
    return Normalised(out, _objects(out, points, xy, rings, rest), points, xy, rings, surface_points(out))


def surface_points(geoms: np.ndarray) -> np.ndarray:
    """A point inside each shape (the point itself for a point), as lon, lat rows; NaN where
    there is no shape."""
    present = np.array([g is not None for g in geoms], dtype=bool)
    xy = np.full((len(geoms), 2), np.nan)
    if present.any():
        xy[present] = shapely.get_coordinates(shapely.point_on_surface(geoms[present]))
    return xy


def _types(geoms: np.ndarray) -> np.ndarray:
    present = np.array([g is not None for g in geoms], dtype=bool)
    types = np.full(len(geoms), -1)
    if present.any():
        types[present] = shapely.get_type_id(geoms[present])
    return types


def _objects(geoms, points, xy, rings, rest) -> list[dict | None]:
    objects: list[dict | None] = [None] * len(geoms)
    for i, c in zip(points.tolist(), xy.tolist()):
        objects[i] = {"type": "Point", "coordinates": c}
    for i, ring in zip(rings.index.tolist(), ring_lists(rings)):
        objects[i] = {"type": "Polygon", "coordinates": [ring]}
    for i in np.flatnonzero(rest).tolist():
        objects[i] = geometry_object(geoms[i])
    return objects


def shifted_objects(shapes: Normalised, shift) -> list[dict | None]:
    """GeoJSON geometry objects of ``shapes`` moved by ``shift`` ((n, 2) → (n, 2)
    coordinates, applied point by point) and normalised again — a shifted copy without
    building shapes for the points and plain outlines."""
    n = len(shapes.geoms)
    xy = np.round(shift(shapes.point_xy), PRECISION) if shapes.point_index.size else shapes.point_xy
    moved = shapes.rings.with_coords(shift(shapes.rings.coords)) if shapes.rings.index.size else shapes.rings
    rings = snap_rings(moved)
    rest = _types(shapes.geoms) > 0
    rest[rings.index] = False
    geoms = np.full(n, None, dtype=object)
    if rest.any():
        geoms[rest] = normalise_geometries(shapely.transform(shapes.geoms[rest], shift))
    return _objects(geoms, shapes.point_index, xy, rings, rest)


def join_text(*parts) -> pl.Expr:
    """Literal strings and string expressions joined into one text column."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])
