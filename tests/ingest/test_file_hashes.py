"""Recorded file digests: an unchanged landing file is not read again, a changed one is
re-hashed and re-loaded, and the night's results are the same as when every file is read."""
from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

import ingest.filehash
import ingest.upsert
from ingest.filehash import RACY_NS, FileStamp, cached_file_sha256, file_sha256, stamped_sha256
from ingest.landing import iter_landing
from ingest.upsert import HASHES, LEDGER, NightWriter
from tests.ingest.conftest import BBOX, NOW, canonical_csv, row

AN_HOUR_AGO_NS = time.time_ns() - 3600 * 10**9


def _settle(data: Path, mtime_ns: int = AN_HOUR_AGO_NS, names: tuple[str, ...] = ()) -> None:
    """Give the landing files (all, or those named) an mtime well in the past (files just
    written are not recorded)."""
    for path in (data / "sources").rglob("*.csv"):
        if not names or path.name in names:
            os.utime(path, ns=(mtime_ns, mtime_ns))


def _warehouse() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    for schema in ("raw", "core", "ops"):
        conn.execute(f"CREATE SCHEMA {schema}")
    return conn


def _night(conn, data: Path, taxonomy, *, use_known: bool = True) -> pl.DataFrame:
    """One night as the asset runs it (loaded files skipped by digest, digests recorded)."""
    before = conn.sql(f"SELECT * FROM {LEDGER}").pl() if _has(conn, LEDGER) else None
    seen = set(before.filter(pl.col("status") == "loaded")["file_sha256"]) if before is not None else set()
    night = NightWriter(conn, before)
    for outcome in iter_landing(data, seen_hashes=seen, taxonomy=taxonomy, bbox=BBOX, now=NOW,
                                known_hashes=night.known_hashes if use_known else None):
        night.add(outcome)
    return night.finish()


def _has(conn, table: str) -> bool:
    schema, name = table.split(".")
    return bool(conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema=? AND table_name=?",
                             [schema, name]).fetchall())


def _recorded(conn) -> dict[str, str]:
    return dict(conn.execute(f"SELECT file, sha256 FROM {HASHES}").fetchall())


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """Names of the files whose bytes were hashed (every digest computed goes through here)."""
    seen: list[str] = []
    real = ingest.filehash.file_sha256

    def counting(path, *args, **kwargs):
        seen.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ingest.filehash, "file_sha256", counting)
    return seen


@pytest.fixture
def two_sources(landing):
    landing("police", {"a.csv": canonical_csv(row("P1", category="盗窃"), row("P2"))})
    data = landing("court", {"c.csv": canonical_csv(row("C1"), row("C2", when="bad"))})
    _settle(data)
    return data


def test_an_unchanged_file_is_not_read_again(two_sources, taxonomy, reads):
    conn = _warehouse()
    first = _night(conn, two_sources, taxonomy)
    assert sorted(reads) == ["a.csv", "c.csv"]
    real = {f: file_sha256(two_sources / f) for f in first["file"]}
    assert _recorded(conn) == real == dict(first.select("file", "file_sha256").rows())
    reads.clear()
    second = _night(conn, two_sources, taxonomy)
    assert reads == []
    # The ledger still carries every file's real digest.
    assert second["status"].to_list() == ["skipped_duplicate"] * 2
    assert dict(second.select("file", "file_sha256").rows()) == real


def test_the_recorded_digest_is_trusted_while_the_stamp_is_equal(two_sources, taxonomy):
    """Same size, same mtime, same inode: the file is not opened, so the old digest stands
    (the rule operators rely on; `touch` breaks the equality and forces a read)."""
    conn = _warehouse()
    first = _night(conn, two_sources, taxonomy)
    path = two_sources / "sources" / "police" / "a.csv"
    stamp = FileStamp.of(path)
    path.write_bytes(path.read_bytes().replace("盗窃".encode(), "抢劫".encode()))  # in place, same size
    os.utime(path, ns=(stamp.mtime_ns, stamp.mtime_ns))
    assert FileStamp.of(path) == stamp
    second = _night(conn, two_sources, taxonomy)
    assert second.filter(pl.col("file") == "sources/police/a.csv")["file_sha256"].to_list() == \
        first.filter(pl.col("file") == "sources/police/a.csv")["file_sha256"].to_list()
    path.touch()
    third = _night(conn, two_sources, taxonomy)
    assert third.filter(pl.col("file") == "sources/police/a.csv")["status"].to_list() == ["loaded"]


@pytest.mark.parametrize("same_size", [True, False])
def test_a_file_rewritten_in_place_is_hashed_and_loaded_again(two_sources, taxonomy, reads, same_size):
    conn = _warehouse()
    _night(conn, two_sources, taxonomy)
    path = two_sources / "sources" / "police" / "a.csv"
    inode = path.stat().st_ino
    corrected = canonical_csv(row("P1", category="抢劫"), row("P2")) if same_size else canonical_csv(row("P1", category="抢劫"))
    path.write_text(corrected, encoding="utf-8")
    assert path.stat().st_ino == inode
    _settle(two_sources, AN_HOUR_AGO_NS + 10**9)  # another mtime, still settled
    reads.clear()
    ledger = _night(conn, two_sources, taxonomy)
    assert sorted(reads) == ["a.csv", "c.csv"]  # the court file's mtime moved too
    police = ledger.filter(pl.col("file") == "sources/police/a.csv").row(0, named=True)
    assert police["status"] == "loaded" and police["file_sha256"] == file_sha256(path)
    assert _recorded(conn)["sources/police/a.csv"] == file_sha256(path)
    stored = dict(conn.execute("SELECT record_id, category_code FROM raw.case_records WHERE source='police'").fetchall())
    assert stored["P1"] == "robbery"


def test_results_equal_a_night_that_reads_every_file(landing, taxonomy):
    landing("police", {"a.csv": canonical_csv(row("P1"), row("P2", when="bad")), "b.csv": canonical_csv(row("P1", category="诈骗"))})
    data = landing("justice", {"j.csv": canonical_csv(row("J1"))})
    _settle(data)
    cached, plain = _warehouse(), _warehouse()
    for night in range(3):
        if night == 2:
            landing("police", {"c.csv": canonical_csv(row("P3"))})
            (data / "sources" / "justice" / "j.csv").write_text(canonical_csv(row("J1", category="抢劫")), encoding="utf-8")
            _settle(data, AN_HOUR_AGO_NS + night, names=("c.csv", "j.csv"))
        got, want = _night(cached, data, taxonomy), _night(plain, data, taxonomy, use_known=False)
        assert got.equals(want)
    for table in ("raw.case_records", "raw.quarantine", "raw.file_ledger"):
        assert cached.sql(f"SELECT * FROM {table}").pl().equals(plain.sql(f"SELECT * FROM {table}").pl())


def test_a_file_modified_just_before_it_is_hashed_is_read_again_next_time(landing, taxonomy, reads):
    data = landing("police", {"a.csv": canonical_csv(row("P1"))})  # mtime: now
    conn = _warehouse()
    _night(conn, data, taxonomy)
    assert _recorded(conn) == {}
    _night(conn, data, taxonomy)
    assert reads == ["a.csv", "a.csv"]


def test_a_file_gone_from_the_landing_zone_is_forgotten(two_sources, taxonomy):
    conn = _warehouse()
    _night(conn, two_sources, taxonomy)
    (two_sources / "sources" / "court" / "c.csv").unlink()
    _night(conn, two_sources, taxonomy)
    assert set(_recorded(conn)) == {"sources/police/a.csv"}


def test_a_digest_commits_with_its_file(two_sources, taxonomy, monkeypatch):
    """A run killed while a file is written records neither the file nor its digest."""
    real = ingest.upsert.insert_frame

    def failing(conn, table, frame):
        if table == LEDGER and frame["file"].to_list() == ["sources/police/a.csv"]:
            raise KeyboardInterrupt  # what a kill looks like inside the transaction
        real(conn, table, frame)

    monkeypatch.setattr(ingest.upsert, "insert_frame", failing)
    conn = _warehouse()
    with pytest.raises(KeyboardInterrupt):
        _night(conn, two_sources, taxonomy)
    assert _recorded(conn) == {"sources/court/c.csv": file_sha256(two_sources / "sources" / "court" / "c.csv")}
    assert conn.execute("SELECT DISTINCT source FROM raw.case_records").fetchall() == [("court",)]


def test_stamped_sha256_reads_only_when_the_stamp_moved(tmp_path, reads):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 1000)
    os.utime(path, ns=(AN_HOUR_AGO_NS, AN_HOUR_AGO_NS))
    sha, known = stamped_sha256(path)
    assert known is not None and known.sha256 == sha == file_sha256(path) and known.stamp == FileStamp.of(path)
    assert stamped_sha256(path, known) == (sha, None)
    os.utime(path, ns=(AN_HOUR_AGO_NS + 1, AN_HOUR_AGO_NS + 1))
    again, newer = stamped_sha256(path, known)
    assert again == sha and newer is not None and newer.stamp.mtime_ns == AN_HOUR_AGO_NS + 1
    assert reads == ["f.bin", "f.bin"]
    os.utime(path, ns=(time.time_ns() - RACY_NS // 2,) * 2)
    assert stamped_sha256(path, newer)[1] is None  # modified a moment ago: not worth recording


def test_cached_file_sha256_keeps_one_digest_beside_the_output(tmp_path, reads):
    path, record = tmp_path / "outlines.geojson", tmp_path / "cache" / "outlines.sha256.json"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    os.utime(path, ns=(AN_HOUR_AGO_NS, AN_HOUR_AGO_NS))
    first = cached_file_sha256(path, record)
    assert first == file_sha256(path) and record.exists() and reads == ["outlines.geojson"]
    reads.clear()
    assert cached_file_sha256(path, record) == first and reads == []
    path.write_text('{"type": "FeatureCollection", "features": [1]}', encoding="utf-8")
    os.utime(path, ns=(AN_HOUR_AGO_NS, AN_HOUR_AGO_NS))  # the size moved
    assert cached_file_sha256(path, record) == file_sha256(path) != first
    record.write_text("{half", encoding="utf-8")
    assert cached_file_sha256(path, record) == file_sha256(path)
