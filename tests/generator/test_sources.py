"""The five departments' exports: mapping files, shapes, encodings, formats, categories."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import shapely
import yaml
from shapely.geometry import shape

from geo.coords import from_wgs84
from schemas.events import SOURCES
from tests.generator.readback import data_files, effective, mapping, read_export

ROOT = Path(__file__).resolve().parents[2]
CANON = {"record_id", "category", "occurred_at", "address", "lon", "lat", "coord_sys", "compound_id",
         "police_case_no", "status", "description"}
KEYS = {"source", "encoding", "date_formats", "coord_sys", "columns", "categories", "revoked_values", "valid_values",
        "constants", "files"}


def _taxonomy_names() -> set[str]:
    tax = yaml.safe_load((ROOT / "config" / "taxonomy.yaml").read_text(encoding="utf-8"))
    return {c["code"] for c in tax["categories"]} | {c["name_zh"] for c in tax["categories"]} | {
        a for c in tax["categories"] for a in c["aliases"]}


def _truth(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "truth" / "records.parquet")


def _parse(value: str, formats: list[str]) -> datetime | None:
    for fmt in formats:
        try:
            if fmt == "epoch_ms":
                return datetime.fromtimestamp(int(value) / 1000, timezone(timedelta(hours=8))).replace(tzinfo=None)
            return datetime.strptime(value, fmt)
        except (ValueError, TypeError):
            continue
    return None


def _files(out: Path):
    """(source, path, effective mapping, frame, truth rows of the file in line order)."""
    truth = _truth(out)
    for source in SOURCES:
        folder = out / "sources" / source
        m = mapping(folder)
        for path in data_files(folder):
            eff = effective(m, path.name)
            t = truth.filter((pl.col("source") == source) & (pl.col("file") == path.name)).sort("line")
            yield source, path, eff, read_export(path, eff), t


def test_every_source_has_a_parseable_mapping(city):
    out, _ = city
    assert sorted(p.name for p in (out / "sources").iterdir()) == sorted(SOURCES)
    valid_codes = {c["code"] for c in yaml.safe_load((ROOT / "config" / "taxonomy.yaml").read_text(
        encoding="utf-8"))["categories"]}
    kinds = set()
    for source in SOURCES:
        m = mapping(out / "sources" / source)
        assert m["source"] == source
        assert set(m) <= KEYS
        assert set(m["columns"].values()) <= CANON and "record_id" in m["columns"].values()
        assert set(m["categories"].values()) <= valid_codes
        assert all(isinstance(k, str) for k in m["categories"])  # codes like '0101' stay strings
        files = data_files(out / "sources" / source)
        assert files
        kinds |= {p.suffix for p in files}
    assert kinds == {".csv", ".xlsx", ".jsonl"}


def test_encodings_are_as_declared(city):
    out, _ = city
    police = data_files(out / "sources" / "police")
    assert mapping(out / "sources" / "police")["encoding"] == "gb18030"
    for p in police:
        raw = p.read_bytes()
        raw.decode("gb18030")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    for p in data_files(out / "sources" / "court"):
        assert p.read_bytes().startswith(b"\xef\xbb\xbf")
    for p in data_files(out / "sources" / "petition"):
        raw = p.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        raw.decode("utf-8")


def test_headers_categories_and_dates_follow_the_mapping(city):
    out, _ = city
    names = _taxonomy_names()
    formats_seen = set()
    for source, path, eff, df, t in _files(out):
        assert df.height == t.height, path
        cols = {canon: head for head, canon in eff["columns"].items()}
        assert set(eff["columns"]) <= set(df.columns), path
        # Truth lines point at the right rows.
        assert df[cols["record_id"]].to_list() == t["record_id"].to_list()
        cats = df[cols["category"]]
        unknown = t["bad_reason"] == "unknown_category"
        known = cats.is_in(list(eff["categories"])) | cats.is_in(list(names))
        assert (known | unknown).all() and not (known & unknown).any(), path
        parsed = [_parse(v, eff["date_formats"]) for v in df[cols["occurred_at"]].to_list()]
        reasons = t["bad_reason"].to_list()
        for v, r, true_at in zip(parsed, reasons, t["occurred_at"].to_list()):
            if r == "bad_date":
                assert v is None
            elif r == "future_date":
                assert v is not None and v.year == 2099
            else:
                assert v is not None and v.date() == true_at.date(), (path, v, true_at)
        formats_seen |= set(eff["date_formats"])
        revoked = df[cols["status"]].is_in(eff["revoked_values"])
        assert revoked.to_list() == t["revoked"].to_list(), path
    assert {"%Y年%m月%d日", "%Y/%m/%d %H:%M", "%Y%m%d", "epoch_ms"} <= formats_seen


def test_coordinates_lie_in_the_true_polygon_in_the_files_system(city):
    out, _ = city
    gj = yaml.safe_load((out / "compounds.geojson").read_text(encoding="utf-8"))
    polys = {f["properties"]["compound_id"]: shape(f["geometry"]) for f in gj["features"]}
    checked = {"wgs84": 0, "gcj02": 0, "bd09": 0}
    for source, path, eff, df, t in _files(out):
        cols = {canon: head for head, canon in eff["columns"].items()}
        if "lon" not in cols:
            assert (t["coord_kind"] == "none").all()
            continue
        kinds = t["coord_kind"].unique().to_list()
        assert set(kinds) <= {"none", eff["coord_sys"].lower()}, path
        good = (t["bad_reason"].is_null() & (t["coord_kind"] != "none")
                & t["compound_id"].is_in(list(polys))).to_numpy()
        lon = df[cols["lon"]].cast(pl.Float64, strict=False).to_numpy()[good]
        lat = df[cols["lat"]].cast(pl.Float64, strict=False).to_numpy()[good]
        for cid, x, y in zip(t["compound_id"].to_numpy()[good], lon, lat):
            ring = np.asarray(polys[cid].exterior.coords)
            sx, sy = from_wgs84(ring[:, 0], ring[:, 1], eff["coord_sys"])
            assert shapely.Polygon(np.c_[sx, sy]).contains(shapely.Point(x, y)), (path, cid)
        checked[eff["coord_sys"].lower()] += int(good.sum())
        missing = t["coord_kind"] == "none"
        assert df.filter(missing.to_numpy())[cols["lon"]].is_null().all()
    assert all(v > 0 for v in checked.values()), checked


def test_police_files_are_monthly_with_coordinate_systems_per_file(city):
    out, _ = city
    m = mapping(out / "sources" / "police")
    names = [p.name for p in data_files(out / "sources" / "police")]
    assert all(re.fullmatch(r"警情_\d{4}-\d{2}\.csv", n) for n in names)
    systems = {effective(m, n)["coord_sys"] for n in names}
    assert systems == {"GCJ02", "WGS84", "BD09"}
    t = _truth(out).filter(pl.col("source") == "police")
    assert 0.01 < (t["coord_kind"] == "none").mean() < 0.2  # some rows carry an address only


def test_chains_share_the_police_case_number(city):
    out, _ = city
    t = _truth(out)
    frames = {}
    for source, path, eff, df, tt in _files(out):
        cols = {canon: head for head, canon in eff["columns"].items()}
        if "police_case_no" in cols:
            frames.setdefault(source, []).append(
                pl.DataFrame({"case": df[cols["police_case_no"]], "incident": tt["incident_id"],
                              "code": tt["category_code"]}))
    police = pl.concat(frames["police"]).drop_nulls("case")
    assert police["case"].is_unique().all()
    for source in ("procuratorate", "court"):
        linked = pl.concat(frames[source]).drop_nulls("case")
        assert linked.height > 0
        joined = linked.join(police, on="case", how="left", suffix="_police")
        assert (joined["incident"] == joined["incident_police"]).all(), source
    court = pl.concat(frames["court"]).drop_nulls("case").join(police, on="case", suffix="_police")
    upgraded = court.filter(pl.col("code") != pl.col("code_police"))
    assert upgraded.filter((pl.col("code_police") == "assault") & (pl.col("code") == "serious_assault")).height >= 1
    assert t.filter(pl.col("source") == "procuratorate")["chained"].all()


def test_descriptions_name_fake_people_with_masked_phones(city):
    out, _ = city
    for source, path, eff, df, t in _files(out):
        cols = {canon: head for head, canon in eff["columns"].items()}
        desc = df[cols["description"]]
        assert desc.str.contains(r"1\d{2}\*{4}\d{4}").all(), path
