"""Nearest centroid within a radius."""
import numpy as np

from geo.coords import haversine_m
from geo.nearest import nearest_centroid

C_LON = np.array([118.100, 118.110, np.nan])
C_LAT = np.array([24.500, 24.500, 24.5])
C_IDS = np.array(["A", "B", "X"], dtype=object)
M_PER_DEG_LON = haversine_m(118.0, 24.5, 118.001, 24.5) * 1000


def test_within_and_outside_radius():
    lon = np.array([118.100 + 50 / M_PER_DEG_LON, 118.100 + 150 / M_PER_DEG_LON, 118.1095, np.nan])
    lat = np.array([24.5, 24.5, 24.5, 24.5])
    ids, d = nearest_centroid(lon, lat, C_LON, C_LAT, C_IDS, radius_m=100)
    assert ids.tolist() == ["A", None, "B", None]
    assert abs(d[0] - 50) < 0.5 and np.isnan(d[1]) and np.isnan(d[3])
    assert abs(d[2] - haversine_m(118.1095, 24.5, 118.11, 24.5)) < 1e-6


def test_radius_is_configurable():
    lon = np.array([118.100 + 150 / M_PER_DEG_LON])
    ids, _ = nearest_centroid(lon, np.array([24.5]), C_LON, C_LAT, C_IDS, radius_m=200)
    assert ids.tolist() == ["A"]


def test_equidistant_tie_goes_to_smallest_id():
    ids, _ = nearest_centroid(np.array([118.105]), np.array([24.5]), C_LON[::-1][1:], C_LAT[:2], C_IDS[:2][::-1], radius_m=1000)
    assert ids.tolist() == ["A"]


def test_no_centroids():
    ids, d = nearest_centroid(np.array([118.1]), np.array([24.5]), np.array([]), np.array([]), np.array([], dtype=object))
    assert ids.tolist() == [None] and np.isnan(d[0])
