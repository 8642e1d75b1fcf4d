"""Helpers that build small landing zones in tmp_path."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from tests.ingest.reference import IngestResult, ingest_sources
from ingest.taxonomy import load_taxonomy

NOW = datetime(2025, 1, 1, 12, 0)
BBOX = (117.8, 24.3, 118.5, 24.9)  # around Xiamen
HEADER = "record_id,category,occurred_at,address,lon,lat,coord_sys,compound_id,police_case_no,status,description"


def row(rid="R1", category="盗窃", when="2024-05-03 13:05:00", address="思明区某路1号", lon="118.10",
        lat="24.48", coord_sys="WGS84", compound="", case_no="", status="", description="") -> str:
    """One canonical CSV line (fields are not quoted: pass pre-quoted text when needed)."""
    return ",".join([rid, category, when, address, lon, lat, coord_sys, compound, case_no, status, description])


def canonical_csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


@pytest.fixture(scope="session")
def taxonomy():
    return load_taxonomy()


@pytest.fixture
def landing(tmp_path):
    """A function writing `files` (name -> str|bytes) into sources/<source>/, returning DATA_DIR."""

    def write(source: str, files: dict[str, str | bytes], mapping: str | None = None) -> Path:
        folder = tmp_path / "sources" / source
        folder.mkdir(parents=True, exist_ok=True)
        if mapping is not None:
            (folder / "mapping.yaml").write_text(mapping, encoding="utf-8")
        for name, content in files.items():
            path = folder / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return tmp_path

    return write


@pytest.fixture
def ingest(taxonomy):
    def run(data_dir: Path, seen: set[str] | None = None, bbox=BBOX, now=NOW) -> IngestResult:
        return ingest_sources(data_dir, seen_hashes=seen or set(), taxonomy=taxonomy, bbox=bbox, now=now)

    return run


def assert_counts_add_up(result: IngestResult) -> None:
    """rows_read = accepted + quarantined per loaded file, and the tables agree with the ledger."""
    loaded = result.ledger.filter(pl.col("status") == "loaded")
    for entry in loaded.iter_rows(named=True):
        n_rec = result.records.filter(pl.col("file_sha256") == entry["file_sha256"]).height
        n_q = result.quarantine.filter(pl.col("file_sha256") == entry["file_sha256"]).height
        assert entry["rows_read"] == entry["rows_accepted"] + entry["rows_quarantined"], entry
        assert n_q == entry["rows_quarantined"], entry
        assert n_rec <= entry["rows_accepted"], entry  # fewer only when a later file superseded
