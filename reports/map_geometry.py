"""Compound geometries for the map in bulk: parsed, snapped to the 1e-6° grid and written
as GeoJSON text without a shapely or ``json`` round trip per compound.

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

import json
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
    polygons: np.ndarray  # the same rings as shapely polygons


def _rings(index: np.ndarray, coords: np.ndarray, lengths: np.ndarray) -> Rings:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    polys = (shapely.from_ragged_array(GeometryType.POLYGON, coords, (offsets, np.arange(index.size + 1)))
             if index.size else np.empty(0, dtype=object))
    return Rings(index, coords, offsets, polys)


def snap_simple_rings(geoms: np.ndarray) -> Rings:
    """The polygons whose snap-rounding is known (see the module doc), snapped: final
    closed rings, counter-clockwise, started where GEOS starts them."""
    found_idx, found_rings = [], []
    present = np.array([g is not None for g in geoms], dtype=bool)
    idx = np.flatnonzero(present)
    g = geoms[idx]
    if idx.size:
        simple = ((shapely.get_type_id(g) == 3) & (shapely.get_num_interior_rings(g) == 0)
                  & shapely.is_valid(g))
        idx, g = idx[simple], g[simple]
    if idx.size:
        ext = shapely.get_exterior_ring(g)
        counts = shapely.get_num_coordinates(ext)
        coords = shapely.get_coordinates(ext)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        for n1 in np.unique(counts):                      # rings of equal length in one block
            if n1 < 4:
                continue
            sel = np.flatnonzero(counts == n1)
            block = coords[starts[sel][:, None] + np.arange(n1)[None, :]]      # (k, n+1, 2)
            ok, out = _snap_block(block)
            if ok.any():
                found_idx.append(idx[sel[ok]])
                found_rings.append(out[ok])
    if not found_idx:
        return _rings(np.empty(0, dtype=np.int64), np.empty((0, 2)), np.empty(0, dtype=np.int64))
    index = np.concatenate(found_idx)
    lengths = np.concatenate([np.full(len(r), r.shape[1]) for r in found_rings])
    flat = np.concatenate([r.reshape(-1, 2) for r in found_rings])
    order = np.argsort(index, kind="stable")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[order]
    lengths = lengths[order]
    take = np.repeat(starts, lengths) + (np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths))
    rings = _rings(index[order], flat[take], lengths)
    valid = shapely.is_valid(rings.polygons)
    if not valid.all():  # cannot happen given the checks; never publish a bad shape if it does
        keep = np.flatnonzero(valid)
        pts = np.concatenate([np.arange(rings.offsets[k], rings.offsets[k + 1]) for k in keep] or [[]])
        rings = _rings(rings.index[keep], rings.coords[pts.astype(np.int64)].reshape(-1, 2),
                       np.diff(rings.offsets)[keep])
    return rings


def _snap_block(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rings of one length (k, n+1, 2): which have a known snap-rounding, and the result."""
    rounded = _round_half_up(block)
    n = block.shape[1] - 1
    ok = ~(block[:, :-1] == block[:, 1:]).all(-1).any(1)                     # no repeated input point
    ok &= ~(rounded[:, :-1] == rounded[:, 1:]).all(-1).any(1)               # none made by rounding
    area_in, area_out = _signed_area2(block), _signed_area2(rounded)
    ok &= (np.sign(area_in) == np.sign(area_out)) & (area_out != 0)
    ok &= _clear(rounded[:, :-1], rounded) & _clear(rounded[:, :-1], block)
    # GEOS hands the ring back clockwise, from the vertex after the input's first one along
    # that direction; orienting it counter-clockwise reverses the sequence.
    start_ccw = np.r_[n - 1, np.arange(n)]                                   # p[n-1], p0, …, p[n-1]
    start_cw = np.r_[1, 0, np.arange(n - 1, 0, -1)]                          # p1, p0, p[n-1], …, p1
    out = np.where((area_in > 0)[:, None, None], rounded[:, start_ccw], rounded[:, start_cw])
    return ok, np.round(out, PRECISION)


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


def point_texts(xy: np.ndarray) -> list[str]:
    """``{"type":"Point","coordinates":[x,y]}`` for each row of ``xy``."""
    if len(xy) == 0:
        return []
    return (pl.DataFrame({"x": format_numbers(xy[:, 0]), "y": format_numbers(xy[:, 1])})
            .select(join_text('{"type":"Point","coordinates":[', pl.col("x"), ",", pl.col("y"), "]}")).to_series().to_list())


def ring_texts(coords: np.ndarray, offsets: np.ndarray, *, polygon: bool = True) -> list[str]:
    """Closed rings (stacked ``coords``, ``offsets`` into them) as
    ``{"type":"Polygon","coordinates":[[[x,y],…]]}`` (``polygon``) or as the viewer's flat
    ``[x,y,x,y,…]``."""
    lengths = np.diff(offsets)
    if lengths.size == 0:
        return []
    frame = pl.DataFrame({
        "ring": np.repeat(np.arange(lengths.size), lengths),
        "x": format_numbers(coords[:, 0]), "y": format_numbers(coords[:, 1]),
    })
    point = (join_text("[", pl.col("x"), ",", pl.col("y"), "]") if polygon
             else join_text(pl.col("x"), ",", pl.col("y")))
    joined = (frame.select("ring", point.alias("p"))
              .group_by("ring", maintain_order=True).agg(pl.col("p").str.join(",")))
    head, tail = ('{"type":"Polygon","coordinates":[[', "]]}") if polygon else ("[", "]")
    return joined.select(join_text(head, pl.col("p"), tail)).to_series().to_list()


def geometry_text(geom) -> str | None:
    """One geometry as compact GeoJSON text, the careful way (shapely, then ``json``)."""
    if geom is None:
        return None
    return json.dumps(json.loads(shapely.to_geojson(geom)), ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)


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
    """Geometries snapped and oriented (``geoms``, None where absent), their GeoJSON text
    (``texts``) and the plain outlines among them (``rings``), for the viewer's shapes."""
    geoms: np.ndarray
    texts: list[str | None]
    rings: Rings


def normalise(geoms: np.ndarray) -> Normalised:
    """``normalise_geometries`` and the GeoJSON text of each result, the common shapes
    (points, plain outlines) in bulk and the rest one by one."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), None, dtype=object)
    texts: list[str | None] = [None] * len(geoms)
    present = np.array([g is not None for g in geoms], dtype=bool)
    types = np.full(len(geoms), -1)
    if present.any():
        types[present] = shapely.get_type_id(geoms[present])
    points = np.flatnonzero(types == 0)
    if points.size:
        xy = np.round(shapely.get_coordinates(geoms[points]), PRECISION)
        out[points] = shapely.points(xy)
        for i, t in zip(points.tolist(), point_texts(xy)):
            texts[i] = t
    rings = snap_simple_rings(np.where(types >= 3, geoms, None))
    if rings.index.size:
        out[rings.index] = rings.polygons
        for i, t in zip(rings.index.tolist(), ring_texts(rings.coords, rings.offsets)):
            texts[i] = t
    rest = present & (types != 0)
    rest[rings.index] = False
    if rest.any():
        careful = normalise_geometries(geoms[rest])
        out[rest] = careful
        for i, g in zip(np.flatnonzero(rest).tolist(), careful):
            texts[i] = geometry_text(g)
    return Normalised(out, texts, rings)


def join_text(*parts) -> pl.Expr:
    """Literal strings and string expressions joined into one text column."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


def python_round(values: np.ndarray, digits: int) -> np.ndarray:
    """``round(v, digits)`` of each value, exactly as Python rounds (the decimal value of
    the double, half to even) — NumPy's multiply-and-round agrees except on near-ties."""
    out = np.round(values, digits)
    scaled = values * 10.0 ** digits
    near_tie = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-3
    for i in np.flatnonzero(near_tie):
        out[i] = round(float(values[i]), digits)
    return out
