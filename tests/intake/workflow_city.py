"""A tiny grid system for workflow tests: two streets, one district, a department."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from intake import store
from intake.staff_directory import load_directory
from intake.vocab import LOCAL_TZ

STAFF = pl.DataFrame({
    "staff_id": ["w1", "w2", "w3", "s1", "s2", "d1", "c1", "p1", "m1"],
    "name": ["网格员甲", "网格员乙", "网格员丙", "街道督办甲", "街道督办乙", "区督办", "市督办", "派出所民警", "调解员"],
    "role": ["grid_worker", "grid_worker", "grid_worker", "street_supervisor", "street_supervisor",
             "district_supervisor", "city_supervisor", "department", "department"],
    "unit": [None, None, None, None, None, None, None, "鹭江派出所", "鹭江人民调解委员会"],
    "grids": ["Hd001", "Hd002", "He001", None, None, None, None, None, None],
    "streets": [None, None, None, "鹭江街道", "滨海街道", None, None, "鹭江街道", None],
    "districts": [None, None, None, None, None, "思明区", None, None, "思明区"],
    "categories": [None, None, None, None, None, None, None, "消防安全|防范诈骗", "矛盾纠纷"],
})
# The compounds of the intake tests' small site (tests/site/frames.py); XM-005 is not loaded.
REGISTRY = pl.DataFrame({
    "compound_id": ["XM-001", "XM-002", "XM-003", "XM-004"],
    "grid_code": ["Hd001", "Hd002", "He001", None],
    "community": ["海岸社区", "海岸社区", "湖滨社区", None],
    "street": ["鹭江街道", "鹭江街道", "滨海街道", "集美街道"],
    "district": ["思明区", "思明区", "思明区", "集美区"],
})
# A Friday morning, so working-day limits cross a weekend.
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=LOCAL_TZ)


def city_db(path: Path):
    """An intake database holding the tiny grid system."""
    conn = store.connect(path)
    load_directory(conn, STAFF, REGISTRY)
    return conn
