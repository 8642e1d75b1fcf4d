"""Reference implementations the ingestion tests compare the live path with (replaced in
the pipeline by streaming ingestion and incremental incident building, kept here only).

- `ingest_sources`: every new landing file in memory at once (the pipeline streams files
  with `ingest.landing.iter_landing` into `ingest.upsert.NightWriter`);
- `build_case_events`: incidents of a set of records, validated (the pipeline builds them
  in the warehouse with `ingest.event_updates`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
from pandera.typing.polars import DataFrame

from ingest.incidents import CHAIN_KEY, build_keyed_events
from ingest.landing import LEDGER_SCHEMA, NOTE_SCHEMA, QUARANTINE_SCHEMA, _empty_records, iter_landing
from ingest.merge import merge_records, validate_records
from ingest.taxonomy import Taxonomy
from schemas.events import CaseEvent, CaseRecord
from schemas.quality import FileLedger, QuarantineRow


@dataclass(frozen=True)
class IngestResult:
    """What one pass over the landing zone produced."""

    records: DataFrame[CaseRecord]  # accepted records of new files (later file wins on repeats)
    quarantine: DataFrame[QuarantineRow]
    ledger: DataFrame[FileLedger]  # one row per file seen this time
    notes: pl.DataFrame  # source, file, note: ignored columns, sheet read, detected encoding


def ingest_sources(data_dir: Path, *, seen_hashes: set[str], taxonomy: Taxonomy,
                   bbox: tuple[float, float, float, float] | None, now: datetime,
                   progress: Callable[[str], None] | None = None) -> IngestResult:
    """Every new file of every source folder, collected in memory (see `iter_landing`)."""
    ledger, quarantine, records, notes = [], [], [], []
    for outcome in iter_landing(data_dir, seen_hashes=seen_hashes, taxonomy=taxonomy, bbox=bbox, now=now,
                                progress=progress):
        ledger.append(outcome.ledger)
        records.extend(outcome.records)
        quarantine.extend(outcome.quarantine)
        notes.extend(outcome.notes)
    recs = pl.concat(records, how="vertical_relaxed") if records else _empty_records()
    # Ids are unique within a file; only a source with several new files can repeat one,
    # and then the later file's version stands.
    loaded_per_source = pl.Series([e["source"] for e in ledger if e["status"] == "loaded"], dtype=pl.String)
    if loaded_per_source.is_duplicated().any():
        result_records = merge_records(None, recs)
    else:
        result_records = validate_records(recs, keys_unique=True)
    quar = pl.concat(quarantine, how="vertical_relaxed") if quarantine else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return IngestResult(
        records=result_records,
        quarantine=QuarantineRow.validate(quar.cast(QUARANTINE_SCHEMA)),
        ledger=FileLedger.validate(pl.DataFrame(ledger, schema=LEDGER_SCHEMA)),
        notes=pl.DataFrame(notes, schema=NOTE_SCHEMA),
    )


def build_case_events(records: DataFrame[CaseRecord], taxonomy: Taxonomy) -> DataFrame[CaseEvent]:
    """Incidents of ``records``, validated (the rules: ``ingest.incidents``)."""
    return CaseEvent.validate(build_keyed_events(records, taxonomy).drop(CHAIN_KEY))
