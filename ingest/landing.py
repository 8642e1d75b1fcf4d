"""The landing zone: every file under DATA_DIR/sources/<source>/ ingested exactly once.

A file is identified by the SHA-256 of its content (not read again while its stamp is
unchanged, see `ingest.filehash`): a file whose hash was seen before is `skipped_duplicate`;
an unreadable one is `rejected` with the reason; every other file is `loaded`, its good rows
becoming case records and its bad rows quarantine rows, so that
rows_read = rows_accepted + rows_quarantined always holds.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

import polars as pl

from ingest.filehash import KnownHash, stamped_sha256
from ingest.filehash import file_sha256  # noqa: F401 - kept importable from here (assets.outputs)
from ingest.mapping import MAPPING_FILE, MappingError, SourceMapping, load_mapping
from ingest.merge import validate_records
from ingest.prefetch import prefetch
from ingest.readers import open_reader
from ingest.sniff import FileRejected, NotUtf8
from ingest.taxonomy import Taxonomy
from ingest.columns import plan_columns
from ingest.normalise import LOCAL_TZ
from ingest.validate import check_rows, split_file
from schemas.events import SOURCES, CaseRecord
from schemas.raw import RawCaseText, ReaderProblem
from schemas.quality import QuarantineRow

RECORD_COLUMNS = list(CaseRecord.to_schema().columns)
QUARANTINE_COLUMNS = list(QuarantineRow.to_schema().columns)
LEDGER_SCHEMA = {
    "source": pl.String, "file": pl.String, "file_sha256": pl.String, "status": pl.String,
    "rows_read": pl.Int64, "rows_accepted": pl.Int64, "rows_quarantined": pl.Int64,
    "error": pl.String, "ingested_at": pl.Datetime("us"),
}
QUARANTINE_SCHEMA = {
    "source": pl.String, "file": pl.String, "file_sha256": pl.String, "line": pl.Int64,
    "record_id": pl.String, "field": pl.String, "reason": pl.String, "value": pl.String,
}
NOTE_SCHEMA = {"source": pl.String, "file": pl.String, "note": pl.String}


def _landing_files(source_dir: Path) -> list[Path]:
    """Data files of a source folder in sorted order (hidden files and mapping.yaml aside)."""
    files = [
        p
        for p in source_dir.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(source_dir).parts)
        and p.relative_to(source_dir).as_posix() != MAPPING_FILE
    ]
    return sorted(files, key=lambda p: p.relative_to(source_dir).as_posix())


def _sources_root(data_dir: Path) -> Path:
    root = data_dir / "sources"
    if root.is_dir():
        return root
    if data_dir.name == "sources" and data_dir.is_dir():
        return data_dir
    raise FileNotFoundError(f"{data_dir}: no `sources/` folder (expected sources/<source>/ with one of: {', '.join(SOURCES)})")


def _local_naive(now: datetime) -> datetime:
    if now.tzinfo is None:
        return now
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(LOCAL_TZ)).replace(tzinfo=None)


def _check_categories(mapping: SourceMapping, taxonomy: Taxonomy) -> None:
    codes = taxonomy.codes
    tables = [("categories", mapping.base.categories)] + [
        (f"files[{i}].categories", vals.get("categories", {})) for i, (_, vals) in enumerate(mapping.overrides)
    ]
    for where, table in tables:
        for key, code in table.items():
            if code not in codes:
                raise MappingError(
                    mapping.path, f"{where}.{key}", f"maps to {code!r}, which is not a unified category",
                    f"use a code from config/taxonomy.yaml (e.g. {', '.join(sorted(codes)[:5])}, …)",
                )


def _load_file(path: Path, rel_in_source: str, mapping: SourceMapping, taxonomy, bbox, now):
    """Read and check one file: (accepted batches, quarantined rows, reader problems, notes, rows)."""
    fm = mapping.for_file(rel_in_source)
    try:
        return _read_checked(path, fm, taxonomy, bbox, now)
    except NotUtf8:
        if fm.encoding != "auto":
            raise
        # The first MiB looked like UTF-8 (often plain ASCII) but later bytes are not.
        good, bad, problems, notes, n = _read_checked(path, replace(fm, encoding="gb18030"), taxonomy, bbox, now)
        return good, bad, problems, ["encoding detected: gb18030 (after UTF-8 failed further in)", *notes], n


def _read_checked(path: Path, fm, taxonomy, bbox, now):
    reader = open_reader(path, fm)
    try:
        notes = list(reader.notes)
        plan = plan_columns(reader.headers, fm)
        if plan.extras:
            notes.append(f"extra columns ignored: {', '.join(plan.extras)}")
        parts = [check_rows(RawCaseText.validate(plan.canonical(b)), fm, taxonomy, bbox, now) for b in prefetch(reader.batches())]
        problems = ReaderProblem.validate(reader.problems())
        n_rows = sum(p.rows.height for p in parts)
        good, bad = split_file(parts, reader.line_numbers(n_rows))
        return good, bad, problems, notes, n_rows
    finally:
        reader.close()


@dataclass
class FileOutcome:
    """One landing-zone file: its ledger entry (a LEDGER_SCHEMA row) and, when loaded, its
    accepted record batches (validated CaseRecord frames, ids unique within the file), its quarantine
    rows and notes; `new_hash` when the file's digest was computed and is worth recording."""

    ledger: dict
    records: list[pl.DataFrame] = field(default_factory=list)
    quarantine: list[pl.DataFrame] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    new_hash: KnownHash | None = None


def _ingest_file(path: Path, rel: str, folder: Path, mapping, seen: set[str], taxonomy, bbox, now,
                 known: KnownHash | None = None) -> FileOutcome:
    """One landing-zone file: skipped, rejected with a reason, or loaded (rows add up).
    `known` is the digest recorded for this file, used while the file's stamp is unchanged."""
    sha, new_hash = stamped_sha256(path, known)
    outcome = _ingest_hashed(path, rel, folder, mapping, seen, taxonomy, bbox, now, sha)
    outcome.new_hash = new_hash
    return outcome


def _ingest_hashed(path: Path, rel: str, folder: Path, mapping, seen: set[str], taxonomy, bbox, now,
                   sha: str) -> FileOutcome:
    source = folder.name
    entry = {"source": source, "file": rel, "file_sha256": sha, "status": "loaded", "rows_read": 0,
             "rows_accepted": 0, "rows_quarantined": 0, "error": None, "ingested_at": now}
    if sha in seen:
        return FileOutcome({**entry, "status": "skipped_duplicate"})
    if isinstance(mapping, MappingError):
        return FileOutcome({**entry, "status": "rejected", "error": f"mapping error: {mapping}"})
    try:
        good, bad, problems, file_notes, n_rows = _load_file(
            path, path.relative_to(folder).as_posix(), mapping, taxonomy, bbox, now
        )
    except FileRejected as exc:
        return FileOutcome({**entry, "status": "rejected", "error": str(exc)})
    except Exception as exc:  # a reader bug or an exotic file must not stop the other files
        return FileOutcome({**entry, "status": "rejected",
                             "error": f"could not be ingested ({type(exc).__name__}: {exc}); keep the file for a bug report"})
    seen.add(sha)
    ctx = [pl.lit(source).alias("source"), pl.lit(rel).alias("file"), pl.lit(sha).alias("file_sha256")]
    q = pl.concat([bad, problems.select(bad.columns)], how="vertical_relaxed").sort("line")
    n_good = sum(part.height for part in good)
    entry.update(rows_read=n_rows + problems.height, rows_accepted=n_good, rows_quarantined=q.height)
    return FileOutcome(
        ledger=entry,
        # Validated here, on the reading side: the writer (NightWriter) takes them as they are.
        records=[validate_records(part.with_columns(*ctx).select(RECORD_COLUMNS), keys_unique=True) for part in good],
        quarantine=[q.with_columns(*ctx).select(QUARANTINE_COLUMNS)],
        notes=[{"source": source, "file": rel, "note": n} for n in file_notes],
    )


def iter_landing(
    data_dir: Path,
    *,
    seen_hashes: set[str],
    taxonomy: Taxonomy,
    bbox: tuple[float, float, float, float] | None,
    now: datetime,
    progress: Callable[[str], None] | None = None,
    known_hashes: Mapping[str, KnownHash] | None = None,
) -> Iterator[FileOutcome]:
    """Every landing-zone file in ingestion order (sources, then files, sorted), one at a time.

    `bbox` is (min_lon, min_lat, max_lon, max_lat) of the city, applied to the coordinates
    as exported (leave a margin for GCJ-02/BD-09 offsets); (0, 0) is always out of bounds.
    `now` is the run time (naive local time, or aware and converted to Asia/Shanghai):
    later dates are quarantined as future_date. A mapping.yaml error rejects that source's
    files with the error as the message; the other sources still load.
    A file's records are handed over as soon as the file is checked, so a caller writing
    them away holds one file in memory, not the night. Accepted records of one file have
    unique (source, record_id); across files the later one wins, which the caller applies
    (`ingest.upsert.NightWriter`).
    `known_hashes` (ledger file name -> digest and stamp recorded, `NightWriter.known_hashes`)
    spares reading files whose stamp is unchanged; each outcome's `new_hash` is what to record.
    """
    data_dir = Path(data_dir)
    root = _sources_root(data_dir)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in folders if p.name not in SOURCES]
    if unknown:
        raise ValueError(
            f"{root}: unknown source folder(s) {', '.join(unknown)}; valid source folders are: {', '.join(SOURCES)}"
        )
    now = _local_naive(now)
    seen = set(seen_hashes)
    for folder in folders:
        try:
            mapping = load_mapping(folder)
            _check_categories(mapping, taxonomy)
        except MappingError as exc:
            mapping = exc
        for path in _landing_files(folder):
            rel = path.relative_to(data_dir).as_posix() if path.is_relative_to(data_dir) else path.as_posix()
            if progress:
                progress(f"{folder.name}: {rel}")
            known = known_hashes.get(rel) if known_hashes else None
            yield _ingest_file(path, rel, folder, mapping, seen, taxonomy, bbox, now, known)


def _empty_records() -> pl.DataFrame:
    return pl.DataFrame(schema=RECORD_SCHEMA)


RECORD_SCHEMA = {
    "source": pl.String, "record_id": pl.String, "category": pl.String, "category_code": pl.String,
    "occurred_at": pl.Datetime("us"), "address": pl.String, "lon": pl.Float64, "lat": pl.Float64,
    "coord_sys": pl.String, "compound_id": pl.String, "police_case_no": pl.String, "status": pl.String,
    "description": pl.String, "file_sha256": pl.String, "line": pl.Int64,
}
