"""Small frames for the plaque tests: a compound registry and ratings built row by row."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from plaques.keys import Keyring, SigningKey
from schemas.ratings import Rating
from schemas.registry import Compound

SECRET = "test-secret-0123456789abcdef"
BASE_URL = "https://safestar.example.cn/"
KEYRING = Keyring(SigningKey.of(SECRET))

NAMES = {"C1": "鹭江花园", "C2": "海沧湾一号", "C3": "集美学村小区", "C4": "同安<新城>&苑", "C5": "翔安馨园"}
DISTRICTS = {"C1": ("思明区", "350203", "厦港街道"), "C2": ("海沧区", "350205", "海沧街道"),
             "C3": ("集美区", None, "集美街道"), "C4": ("同安区", "350212", "大同街道"),
             "C5": ("翔安区", "350213", "新店街道")}


def make_compounds(ids=tuple(NAMES)) -> pl.DataFrame:
    rows = [dict(compound_id=c, name=NAMES[c], aliases=None, district=DISTRICTS[c][0], district_code=DISTRICTS[c][1],
                 street=DISTRICTS[c][2], community=None, grid_code=None, address=f"{DISTRICTS[c][2]}{i + 1}号",
                 households=100, population=300, lon=118.1, lat=24.5, coord_sys="WGS84")
            for i, c in enumerate(ids)]
    return Compound.validate(pl.DataFrame(rows))


def make_ratings(rows: list[tuple]) -> pl.DataFrame:
    """Rows of (compound_id, stars, status, rules, as_of) as a validated ratings frame."""
    out = [dict(compound_id=c, name=NAMES.get(c, c), district=DISTRICTS.get(c, ("思明区",))[0],
                street=DISTRICTS.get(c, ("", "", "厦港街道"))[2],
                safety_index=None if st == "not_rated" else 50.0 + 10 * s,
                stars=s, status=st, rules=r or None, ruleset_version="test", as_of=d)
           for c, s, st, r, d in rows]
    return Rating.validate(pl.DataFrame(out))


def rated(c: str, s: int, d: date) -> tuple:
    return (c, s, "rated", "", d)


@pytest.fixture
def compounds() -> pl.DataFrame:
    return make_compounds()
