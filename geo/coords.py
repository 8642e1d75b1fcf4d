"""Conversions between WGS-84, GCJ-02 (Amap, Tencent) and BD-09 (Baidu) coordinates.

GCJ-02 is WGS-84 plus a published, deterministic offset of a few hundred metres that is
applied inside mainland China only; BD-09 is a further rotation/shift of GCJ-02. The
forward formulas are closed form; the inverses are solved by fixed-point iteration so a
round trip is accurate to millimetres (the brief asks for < 0.5 m). Everything is
vectorised over NumPy arrays; NaN coordinates stay NaN.
"""
from __future__ import annotations

import numpy as np

# Krasovsky 1940 ellipsoid, the one the GCJ-02 formula is defined on.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

# Mainland-China bounding box used by the reference implementations; outside it the
# providers serve plain WGS-84, so no offset is applied.
_CHINA_LON = (73.66, 135.05)
_CHINA_LAT = (3.86, 53.55)

_ITERATIONS = 30
_TOLERANCE_DEG = 1e-10  # about 0.01 mm; iteration stops once every point moves less

ArrayPair = tuple[np.ndarray, np.ndarray]


def _as_arrays(lon, lat) -> ArrayPair:
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return np.broadcast_arrays(lon, lat)


def in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where a point lies inside the area where GCJ-02/BD-09 offsets apply."""
    lon, lat = _as_arrays(lon, lat)
    return (
        (lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1])
        & (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1])
    )


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> ArrayPair:
    """The GCJ-02 shift (degrees) to add to a WGS-84 point; zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def wgs84_to_gcj02(lon, lat) -> ArrayPair:
    """WGS-84 → GCJ-02 (closed form)."""
    lon, lat = _as_arrays(lon, lat)
    d_lon, d_lat = _gcj_offset(lon, lat)
    return lon + d_lon, lat + d_lat


def _invert(forward, target_lon: np.ndarray, target_lat: np.ndarray,
            lon: np.ndarray, lat: np.ndarray) -> ArrayPair:
    """Solve forward(lon, lat) = target by fixed-point iteration from a first guess. Each
    point stops once its own step is below the tolerance, so its answer does not depend on
    the other points converted with it (a night's few points or a whole history)."""
    shape = np.shape(lon)
    lon, lat = np.array(lon, dtype=np.float64).reshape(-1), np.array(lat, dtype=np.float64).reshape(-1)
    target_lon, target_lat = np.reshape(target_lon, -1), np.reshape(target_lat, -1)
    active = np.arange(lon.size)
    for _ in range(_ITERATIONS):
        f_lon, f_lat = forward(lon[active], lat[active])
        step_lon, step_lat = target_lon[active] - f_lon, target_lat[active] - f_lat
        lon[active] += step_lon
        lat[active] += step_lat
        # NaN steps compare False: points without coordinates stop at once.
        active = active[(np.abs(step_lon) > _TOLERANCE_DEG) | (np.abs(step_lat) > _TOLERANCE_DEG)]
        if active.size == 0:
            break
    return lon.reshape(shape), lat.reshape(shape)


def gcj02_to_wgs84(lon, lat) -> ArrayPair:
    """GCJ-02 → WGS-84 by fixed-point iteration on the forward formula (sub-mm accuracy)."""
    g_lon, g_lat = _as_arrays(lon, lat)
    return _invert(wgs84_to_gcj02, g_lon, g_lat, g_lon.copy(), g_lat.copy())


def gcj02_to_bd09(lon, lat) -> ArrayPair:
    """GCJ-02 → BD-09 (closed form, Baidu's published transform)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon: np.ndarray, lat: np.ndarray) -> ArrayPair:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon, lat) -> ArrayPair:
    """BD-09 → GCJ-02: the usual closed-form inverse, refined by iteration to sub-mm."""
    b_lon, b_lat = _as_arrays(lon, lat)
    return _invert(gcj02_to_bd09, b_lon, b_lat, *_bd09_to_gcj02_approx(b_lon, b_lat))


def bd09_to_wgs84(lon, lat) -> ArrayPair:
    """BD-09 → WGS-84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon, lat) -> ArrayPair:
    """WGS-84 → BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _normalise_sys(coord_sys) -> np.ndarray | str:
    """Upper-case labels without dashes; a missing label means WGS-84."""
    if isinstance(coord_sys, str):
        return coord_sys.strip().upper().replace("-", "")
    arr = np.asarray(coord_sys, dtype=object).reshape(-1)
    # Only a handful of distinct labels exist: normalise each once, map by a dictionary.
    labels = {u: "WGS84" if u is None else str(u).strip().upper().replace("-", "") for u in set(arr.tolist())}
    if len(labels) == 1:
        return np.full(arr.shape, next(iter(labels.values())), dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for raw, norm in labels.items():
        out[arr == raw] = norm
    return out


_KNOWN = {"WGS84", "GCJ02", "BD09"}


def from_wgs84(lon, lat, coord_sys: str) -> ArrayPair:
    """WGS-84 points expressed in one coordinate system (WGS84, GCJ02 or BD09)."""
    forward = {"WGS84": _as_arrays, "GCJ02": wgs84_to_gcj02, "BD09": wgs84_to_bd09}
    if coord_sys not in forward:
        raise ValueError(f"unknown coordinate system {coord_sys!r}: use WGS84, GCJ02 or BD09")
    return forward[coord_sys](lon, lat)


def to_wgs84(lon, lat, coord_sys) -> ArrayPair:
    """Convert points given in any supported system (one label, or one per point) to WGS-84.

    Labels are case-insensitive (`GCJ-02` works too); a missing label means WGS-84. An
    unknown label raises ValueError, since guessing the system would silently misplace
    points by hundreds of metres.
    """
    lon, lat = _as_arrays(lon, lat)
    sys_ = _normalise_sys(coord_sys)
    if isinstance(sys_, str):
        if sys_ not in _KNOWN:
            raise ValueError(f"unknown coordinate system {coord_sys!r}; expected one of {sorted(_KNOWN)}")
        if sys_ == "GCJ02":
            return gcj02_to_wgs84(lon, lat)
        if sys_ == "BD09":
            return bd09_to_wgs84(lon, lat)
        return lon.copy(), lat.copy()
    unknown = set(np.unique(sys_.astype(str))) - _KNOWN
    if unknown:
        raise ValueError(f"unknown coordinate system(s) {sorted(unknown)}; expected one of {sorted(_KNOWN)}")
    out_lon, out_lat = lon.copy(), lat.copy()
    for label, convert in (("GCJ02", gcj02_to_wgs84), ("BD09", bd09_to_wgs84)):
        mask = sys_ == label
        if mask.any():
            out_lon[mask], out_lat[mask] = convert(lon[mask], lat[mask])
    return out_lon, out_lat


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres (WGS-84 mean radius), vectorised."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
