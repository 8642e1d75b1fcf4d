"""Where compounds sit: a jittered grid of cells inside each district's outline.

Every compound owns one grid cell that lies wholly inside its district (the outline is
eroded by the cell's half-diagonal before cell centres are tested), and its polygon is a
small rotated rectangle or hexagon kept inside that cell. Cells never overlap, so
polygons never overlap, and every polygon is inside its district. Cells are then ordered
along a Hilbert curve, so contiguous runs of compounds — a community, a street, a grid —
are spatially compact.
"""
from __future__ import annotations

import math

import numpy as np
import shapely

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0
MAX_CELL_M = 320.0


def metres_per_deg_lon(lat: float | np.ndarray) -> float | np.ndarray:
    return M_PER_DEG_LON_EQ * np.cos(np.radians(lat))


def hilbert_index(x: np.ndarray, y: np.ndarray, order: int) -> np.ndarray:
    """Position of integer grid points (0 ≤ x, y < 2**order) along a Hilbert curve."""
    x = x.astype(np.int64).copy()
    y = y.astype(np.int64).copy()
    d = np.zeros_like(x)
    s = 1 << (order - 1)
    while s > 0:
        rx = ((x & s) > 0).astype(np.int64)
        ry = ((y & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        rotate = ry == 0
        flip = rotate & (rx == 1)
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        x, y = np.where(rotate, y, x), np.where(rotate, x, y)
        s >>= 1
    return d


def place_cells(geom: shapely.Geometry, label: tuple[float, float], n: int, spread_m: float,
                rng: np.random.Generator) -> dict[str, np.ndarray | float]:
    """Pick `n` disjoint square cells inside `geom`, denser near `label`, in Hilbert order.

    Returns cell centres (lon, lat), the cell size in metres and the size in degrees.
    """
    lat0 = (geom.bounds[1] + geom.bounds[3]) / 2.0
    mlon = float(metres_per_deg_lon(lat0))
    area_m2 = geom.area * mlon * M_PER_DEG_LAT
    # Aim at ~3 candidate cells per compound so the density weighting has room to act.
    cell_m = min(MAX_CELL_M, math.sqrt(area_m2 / (3.0 * max(n, 1))))
    while True:
        dx, dy = cell_m / mlon, cell_m / M_PER_DEG_LAT
        inner = geom.buffer(-0.75 * max(dx, dy))
        minx, miny, maxx, maxy = geom.bounds
        xs = np.arange(minx + dx / 2, maxx, dx)
        ys = np.arange(miny + dy / 2, maxy, dy)
        gx, gy = np.meshgrid(np.arange(xs.size), np.arange(ys.size))
        gx, gy = gx.ravel(), gy.ravel()
        inside = shapely.contains_xy(inner, xs[gx], ys[gy])
        if inside.sum() >= 1.3 * n or cell_m < 5.0:
            break
        cell_m *= 0.8
    gx, gy = gx[inside], gy[inside]
    lon, lat = xs[gx], ys[gy]
    if inside.sum() < n:
        raise ValueError(f"cannot fit {n} compounds in the district outline")
    dist = np.hypot((lon - label[0]) * mlon, (lat - label[1]) * M_PER_DEG_LAT)
    # Gumbel top-k: a weighted sample without replacement, vectorised and seed-stable.
    keys = -dist / spread_m + rng.gumbel(size=dist.size)
    chosen = np.argpartition(-keys, n - 1)[:n] if n < dist.size else np.arange(dist.size)
    order = int(max(gx.max(), gy.max()) + 1).bit_length()
    h = hilbert_index(gx[chosen], gy[chosen], max(order, 1))
    chosen = chosen[np.argsort(h, kind="stable")]
    return {"lon": lon[chosen], "lat": lat[chosen], "cell_m": cell_m, "dx": dx, "dy": dy}


def compound_shapes(cell_m: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Shape parameters of each compound inside its cell (metres, radians).

    `a`, `b` are half-extents along the rotated axes, `theta` the rotation, `ox`, `oy` the
    offset of the shape's centre from the cell centre, `hexagon` whether it has six corners.
    The rotated shape's bounding box is kept within 47% of the cell on each side.
    """
    n = cell_m.size
    a = cell_m * rng.uniform(0.22, 0.42, n)
    b = cell_m * rng.uniform(0.18, 0.38, n)
    theta = rng.uniform(-np.pi / 6, np.pi / 6, n)
    c, s = np.abs(np.cos(theta)), np.abs(np.sin(theta))
    ext_x, ext_y = a * c + b * s, a * s + b * c
    scale = np.minimum(1.0, 0.44 * cell_m / np.maximum(ext_x, ext_y))
    a, b, ext_x, ext_y = a * scale, b * scale, ext_x * scale, ext_y * scale
    ox = rng.uniform(-1, 1, n) * np.maximum(0.0, 0.47 * cell_m - ext_x)
    oy = rng.uniform(-1, 1, n) * np.maximum(0.0, 0.47 * cell_m - ext_y)
    return {"a": a, "b": b, "theta": theta, "ox": ox, "oy": oy, "hexagon": rng.random(n) < 0.3}


def polygon_rings(lon: np.ndarray, lat: np.ndarray, shp: dict[str, np.ndarray]) -> np.ndarray:
    """Closed counter-clockwise rings, shape (n, 7, 2), WGS-84 degrees.

    Rectangles repeat a corner so every ring has 6 distinct vertices plus the closing one;
    the duplicate vertex is dropped when written out.
    """
    a, b = shp["a"][:, None], shp["b"][:, None]
    # Unit hexagon (±1, 0), (±.5, ±1) and rectangle corners, both counter-clockwise.
    hx = np.array([1.0, 0.5, -0.5, -1.0, -0.5, 0.5, 1.0])
    hy = np.array([0.0, 1.0, 1.0, 0.0, -1.0, -1.0, 0.0])
    rx = np.array([1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0])
    ry = np.array([-1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0])
    hexa = shp["hexagon"][:, None]
    ux = np.where(hexa, hx, rx) * a
    uy = np.where(hexa, hy, ry) * b
    c, s = np.cos(shp["theta"])[:, None], np.sin(shp["theta"])[:, None]
    x = ux * c - uy * s + shp["ox"][:, None]
    y = ux * s + uy * c + shp["oy"][:, None]
    mlon = metres_per_deg_lon(lat)[:, None]
    return np.stack([lon[:, None] + x / mlon, lat[:, None] + y / M_PER_DEG_LAT], axis=-1)


def points_in_shapes(lon: np.ndarray, lat: np.ndarray, shp: dict[str, np.ndarray], idx: np.ndarray,
                     rng: np.random.Generator, spread: float = 0.85) -> tuple[np.ndarray, np.ndarray]:
    """Random WGS-84 points inside the polygons of compounds `idx`.

    Samples the box |u| ≤ .45a·spread/.85, |v| ≤ b·spread, which lies inside both the
    rectangle and the hexagon of half-extents a, b.
    """
    n = idx.size
    u = rng.uniform(-1, 1, n) * 0.45 * shp["a"][idx] * spread / 0.85
    v = rng.uniform(-1, 1, n) * shp["b"][idx] * spread
    th = shp["theta"][idx]
    x = u * np.cos(th) - v * np.sin(th) + shp["ox"][idx]
    y = u * np.sin(th) + v * np.cos(th) + shp["oy"][idx]
    la = lat[idx]
    return lon[idx] + x / metres_per_deg_lon(la), la + y / M_PER_DEG_LAT
