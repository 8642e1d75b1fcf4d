"""The landing zone: once per file, corrected files supersede, clear structural errors."""
from __future__ import annotations

import polars as pl
import pytest

from ingest.merge import merge_records
from tests.ingest.conftest import assert_counts_add_up, canonical_csv, row


def test_reingesting_the_same_files_adds_nothing(landing, ingest):
    data = landing("police", {"a.csv": canonical_csv(row("P1"), row("P2", when="bad"))})
    landing("court", {"c.csv": canonical_csv(row("C1"))})
    first = ingest(data)
    assert set(first.ledger["status"]) == {"loaded"} and first.records.height == 2
    again = ingest(data, seen=set(first.ledger["file_sha256"]))
    assert set(again.ledger["status"]) == {"skipped_duplicate"} and again.ledger.height == 2
    assert again.records.height == 0 and again.quarantine.height == 0
    assert merge_records(first.records, again.records).equals(first.records)


def test_a_resent_copy_in_the_same_run_is_skipped(landing, ingest):
    text = canonical_csv(row("P1"))
    result = ingest(landing("police", {"a.csv": text, "b_copy.csv": text}))
    assert result.ledger.sort("file")["status"].to_list() == ["loaded", "skipped_duplicate"]
    assert result.records.height == 1


def test_corrected_file_supersedes_earlier_versions(landing, ingest):
    data = landing("police", {"2024-05.csv": canonical_csv(row("P1", category="盗窃"), row("P2"))})
    first = ingest(data)
    landing("police", {"2024-05_corrected.csv": canonical_csv(row("P1", category="抢劫"))})
    second = ingest(data, seen=set(first.ledger["file_sha256"]))
    merged = merge_records(first.records, second.records)
    assert dict(merged.select("record_id", "category_code").rows()) == {"P1": "robbery", "P2": "theft"}
    assert merged.height == 2


def test_later_file_in_one_run_wins(landing, ingest):
    data = landing("police", {"a.csv": canonical_csv(row("P1", category="盗窃")), "b.csv": canonical_csv(row("P1", category="诈骗"))})
    result = ingest(data)
    assert result.records.select("record_id", "category_code").rows() == [("P1", "fraud")]
    assert result.ledger["rows_accepted"].to_list() == [1, 1]


def test_files_are_processed_in_sorted_order(landing, ingest):
    data = landing("police", {name: canonical_csv(row(name[:1].upper())) for name in ["c.csv", "a.csv", "b.csv"]})
    assert ingest(data).ledger["file"].to_list() == [f"sources/police/{n}" for n in ("a.csv", "b.csv", "c.csv")]


def test_unknown_source_folder_lists_the_valid_ones(landing, ingest):
    data = landing("polise", {"a.csv": canonical_csv(row("P1"))})
    with pytest.raises(ValueError, match="polise.*police, procuratorate, court, justice, petition"):
        ingest(data)


def test_missing_sources_folder_is_a_clear_error(tmp_path, ingest):
    with pytest.raises(FileNotFoundError, match="sources"):
        ingest(tmp_path)


def test_counts_add_up_on_a_messy_mix(landing, ingest):
    messy = canonical_csv(
        row("M1"), row("M1"), row(""), "M3,盗窃", row("M4", when="2099-12-31"), row("M5", lon="0", lat="0"),
        row("M6", category="?"), row("M7", lon="x"), row("M8", status="??"), row("M9"),
    )
    result = ingest(landing("police", {"m.csv": messy}))
    entry = result.ledger.row(0, named=True)
    assert (entry["rows_read"], entry["rows_accepted"], entry["rows_quarantined"]) == (10, 2, 8)
    assert_counts_add_up(result)
    assert result.quarantine["line"].sort().to_list() == list(range(2, 10))


def test_an_unexpected_reader_failure_rejects_only_that_file(landing, ingest, monkeypatch):
    import ingest.landing as landing_module

    real = landing_module.open_reader

    def flaky(path, fm):
        if path.name == "boom.csv":
            raise RuntimeError("reader bug")
        return real(path, fm)

    monkeypatch.setattr(landing_module, "open_reader", flaky)
    result = ingest(landing("police", {"boom.csv": canonical_csv(row("B1")), "ok.csv": canonical_csv(row("O1"))}))
    boom = result.ledger.filter(pl.col("file").str.ends_with("boom.csv")).row(0, named=True)
    assert boom["status"] == "rejected" and "reader bug" in boom["error"]
    assert result.records["record_id"].to_list() == ["O1"]


def test_progress_reports_every_file(landing, taxonomy):
    from tests.ingest.reference import ingest_sources
    from tests.ingest.conftest import BBOX, NOW

    data = landing("court", {"a.csv": canonical_csv(row("C1")), "b.csv": ""})
    seen = []
    ingest_sources(data, seen_hashes=set(), taxonomy=taxonomy, bbox=BBOX, now=NOW, progress=seen.append)
    assert seen == ["court: sources/court/a.csv", "court: sources/court/b.csv"]
