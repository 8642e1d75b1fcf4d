"""Nearest compound centroid within a radius, for points no outline holds.

Points and centroids are projected onto a local equirectangular plane (metres) around the
centroids' mean latitude, where a shapely STRtree finds each point's nearest centroid;
the reported distance is then the great-circle distance, and the radius is applied to it.
Ties (two centroids at the same distance) go to the smallest compound id.
"""
from __future__ import annotations

import numpy as np
import shapely

from geo.coords import haversine_m

_R = 6371008.8
# The plane's scale error over a city (< 1%) is covered by searching a little wider and
# filtering on the exact distance.
_SEARCH_SLACK = 1.02


def _project(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    k = np.pi / 180.0 * _R
    return (lon - lon0) * k * np.cos(np.radians(lat0)), (lat - lat0) * k


def nearest_centroid(
    lon: np.ndarray,
    lat: np.ndarray,
    c_lon: np.ndarray,
    c_lat: np.ndarray,
    c_ids: np.ndarray,
    radius_m: float = 100.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid id per point (None beyond `radius_m`) and its distance in metres (NaN)."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    c_lon = np.asarray(c_lon, dtype=np.float64)
    c_lat = np.asarray(c_lat, dtype=np.float64)
    c_ids = np.asarray(c_ids, dtype=object)
    ids = np.full(lon.shape, None, dtype=object)
    dist = np.full(lon.shape, np.nan)

    good_c = np.isfinite(c_lon) & np.isfinite(c_lat)
    c_lon, c_lat, c_ids = c_lon[good_c], c_lat[good_c], c_ids[good_c]
    q = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    if c_lon.size == 0 or q.size == 0 or radius_m <= 0:
        return ids, dist

    lon0, lat0 = float(c_lon.mean()), float(c_lat.mean())
    tree = shapely.STRtree(shapely.points(*_project(c_lon, c_lat, lon0, lat0)))
    pts = shapely.points(*_project(lon[q], lat[q], lon0, lat0))
    (p_idx, _), plane_d = tree.query_nearest(
        pts, max_distance=radius_m * _SEARCH_SLACK, return_distance=True, all_matches=False
    )
    if p_idx.size == 0:
        return ids, dist
    # Second pass with each point's own nearest distance (+1 mm) returns every centroid
    # tied for nearest, so the tie-break below sees them all.
    sub, c_idx = tree.query(pts[p_idx], predicate="dwithin", distance=plane_d + 1e-3)
    p_idx = p_idx[sub]
    d = haversine_m(lon[q][p_idx], lat[q][p_idx], c_lon[c_idx], c_lat[c_idx])
    keep = d <= radius_m
    p_idx, c_idx, d = p_idx[keep], c_idx[keep], d[keep]
    # Per point: smallest distance, then smallest id.
    order = np.lexsort((c_ids[c_idx].astype(str), d, p_idx))
    p_idx, c_idx, d = p_idx[order], c_idx[order], d[order]
    first = np.ones(p_idx.size, dtype=bool)
    first[1:] = p_idx[1:] != p_idx[:-1]
    ids[q[p_idx[first]]] = c_ids[c_idx[first]]
    dist[q[p_idx[first]]] = d[first]
    return ids, dist
