"""Small frame builders for scoring tests (registry compounds and attributed events)."""
from __future__ import annotations

from datetime import datetime

import polars as pl

from schemas.registry import Compound

COMPOUND_SCHEMA = {
    "compound_id": pl.String, "name": pl.String, "aliases": pl.String, "district": pl.String,
    "district_code": pl.String, "street": pl.String, "community": pl.String, "grid_code": pl.String,
    "address": pl.String, "households": pl.Int64, "population": pl.Int64, "lon": pl.Float64,
    "lat": pl.Float64, "coord_sys": pl.String,
}
EVENT_SCHEMA = {
    "event_id": pl.String, "source": pl.String, "record_id": pl.String, "category_code": pl.String,
    "category_group": pl.String, "occurred_at": pl.Datetime("us"), "address": pl.String,
    "lon": pl.Float64, "lat": pl.Float64, "coord_sys": pl.String, "compound_id": pl.String,
    "police_case_no": pl.String, "linked_records": pl.String, "n_records": pl.Int32,
    "lon_wgs84": pl.Float64, "lat_wgs84": pl.Float64, "method": pl.String,
    "confidence": pl.Float64, "needs_review": pl.Boolean,
}
GROUPS = {"theft": "盗窃", "burglary": "盗窃", "homicide": "暴力", "fraud_den": "诈骗", "noise": "治安"}


def compounds(rows: list[dict]) -> pl.DataFrame:
    """Registry frame; each row needs compound_id and may set district/street/households/population."""
    full = []
    for r in rows:
        cid = r["compound_id"]
        full.append({
            "compound_id": cid, "name": r.get("name", f"小区{cid}"), "aliases": None,
            "district": r.get("district", "思明区"), "district_code": None,
            "street": r.get("street", "中华街道"), "community": None, "grid_code": None, "address": None,
            "households": r.get("households"), "population": r.get("population"),
            "lon": None, "lat": None, "coord_sys": "WGS84",
        })
    df = pl.DataFrame(full, schema=COMPOUND_SCHEMA)
    return Compound.validate(df)


def events(rows: list[dict]) -> pl.DataFrame:
    """Attributed events; each row needs event_id, compound_id, category_code, occurred_at."""
    full = []
    for r in rows:
        src = r.get("source", "police")
        eid = r["event_id"]
        full.append({
            "event_id": eid, "source": src, "record_id": eid.split(":")[-1],
            "category_code": r["category_code"],
            "category_group": r.get("category_group", GROUPS.get(r["category_code"], "治安")),
            "occurred_at": r["occurred_at"] if isinstance(r["occurred_at"], datetime)
            else datetime.combine(r["occurred_at"], datetime.min.time()),
            "address": None, "lon": None, "lat": None, "coord_sys": "WGS84",
            "compound_id": r["compound_id"], "police_case_no": None,
            "linked_records": r.get("linked_records", eid), "n_records": 1,
            "lon_wgs84": None, "lat_wgs84": None, "method": r.get("method", "explicit"),
            "confidence": 1.0, "needs_review": False,
        })
    return pl.DataFrame(full, schema=EVENT_SCHEMA)
