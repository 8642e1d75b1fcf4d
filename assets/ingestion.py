"""Landing-zone ingestion: department exports → canonical case records → incidents."""

from datetime import datetime

import dagster as dg
import polars as pl

from assets.common import OWNERS, contract_check, frame_metadata
from ingest.event_updates import update_case_events
from ingest.landing import iter_landing
from ingest.prefetch import prefetch
from ingest.quality import (
    CHAIN_MEMBER_COUNTS_SQL,
    INCIDENT_COUNTS_SQL,
    RECORD_COUNTS_SQL,
    data_quality_from_counts,
)
from ingest.taxonomy import load_taxonomy
from ingest.upsert import NightWriter
from pipelines.resources import RunFolders, Warehouse
from reports.excel import PEOPLE_CSV, write_people_csv
from schemas.events import CaseEvent

BBOX_MARGIN_DEG = 0.2


def _bbox(compounds: pl.DataFrame) -> tuple[float, float, float, float] | None:
    located = compounds.drop_nulls(["lon", "lat"])
    if located.is_empty():
        return None
    return (
        located["lon"].min() - BBOX_MARGIN_DEG, located["lat"].min() - BBOX_MARGIN_DEG,
        located["lon"].max() + BBOX_MARGIN_DEG, located["lat"].max() + BBOX_MARGIN_DEG,
    )


@dg.asset(
    key=["raw", "case_records"],
    group_name="sources",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    deps=[dg.AssetKey(["core", "compounds"])],
    check_specs=[
        dg.AssetCheckSpec("rows_add_up", asset=["raw", "case_records"], blocking=True,
                          description="For every loaded file: rows read = accepted + quarantined."),
    ],
)
def case_records(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders):
    """Accepted records of the five departments on the canonical layout, every landing-zone
    file ingested once (by content hash); a corrected file supersedes earlier versions of its
    records. Bad rows go to raw.quarantine with a reason, unreadable files to raw.file_ledger."""
    compounds = warehouse.read("core.compounds")
    ledger_before = warehouse.read("raw.file_ledger")
    # Only loaded files are skipped: a file rejected for a mapping error is retried once
    # the mapping is fixed.
    loaded_before = ledger_before.filter(pl.col("status") == "loaded") if ledger_before is not None else None
    seen = set(loaded_before["file_sha256"].to_list()) if loaded_before is not None else set()
    # Each file's records replace their earlier versions as soon as the file is checked (the
    # later file wins, as before), so the night is never held in memory; a file's records,
    # quarantine rows and ledger row commit together, so a killed run leaves whole files.
    with warehouse.connect() as conn:
        night = NightWriter(conn, ledger_before)
        # Files whose stamp is unchanged since their digest was recorded are not read again.
        # The next file is read and checked on a second thread while this one is written:
        # DuckDB and Polars release the GIL; at most two files wait behind the one written.
        files = prefetch(iter_landing(
            folders.data, seen_hashes=seen, taxonomy=load_taxonomy(), bbox=_bbox(compounds),
            now=datetime.now(), progress=context.log.info, known_hashes=night.known_hashes,
        ), depth=1)
        for outcome in files:
            night.add(outcome)
            del outcome  # written: nothing of this file is kept
        ledger = night.finish()
        total = conn.execute("SELECT count(*) FROM raw.case_records").fetchall()[0][0]
        tonight = night.records_tonight()
        preview = night.preview()
    loaded = ledger.filter(pl.col("status") == "loaded")
    broken = loaded.filter(pl.col("rows_read") != pl.col("rows_accepted") + pl.col("rows_quarantined"))
    rejected = ledger.filter(pl.col("status") == "rejected")
    for row in rejected.iter_rows(named=True):
        context.log.warning(f"rejected {row['file']}: {row['error']}")
    yield dg.MaterializeResult(metadata={
        **frame_metadata(preview),
        "dagster/row_count": dg.MetadataValue.int(total),
        "records_tonight": tonight,
        "new_files": loaded.height,
        "files_already_ingested": ledger.filter(pl.col("status") == "skipped_duplicate").height,
        "rejected_files": rejected.height,
        "rows_accepted": int(loaded["rows_accepted"].sum() or 0),
        "rows_quarantined": int(loaded["rows_quarantined"].sum() or 0),
    })
    yield dg.AssetCheckResult(
        check_name="rows_add_up", passed=broken.is_empty(),
        metadata={"files_checked": loaded.height, "files_not_adding_up": broken["file"].to_list()},
    )


@dg.asset(
    key=["core", "case_events"],
    group_name="canonical_events",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    deps=[case_records],
    check_specs=[dg.AssetCheckSpec("matches_contract", asset=["core", "case_events"], blocking=True,
                                   description="Every incident satisfies the CaseEvent pandera model.")],
)
def case_events(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """One row per incident: records that follow one police case through procuratorate and
    court count once, at their most final classification; revoked incidents are gone.
    Each night only the chains of tonight's records are rebuilt (ops.case_event_changes
    lists the incidents added, changed or removed); a new taxonomy rebuilds everything."""
    with warehouse.connect() as conn:
        update = update_case_events(conn, load_taxonomy())
        preview = conn.sql("SELECT * FROM core.case_events LIMIT 10").pl()
    context.log.info(
        f"case events ({update.mode}): {update.chains} chains rebuilt; {update.added} added, "
        f"{update.changed} changed, {update.removed} removed; {update.events} in all"
    )
    yield dg.MaterializeResult(metadata={
        **frame_metadata(preview), "dagster/row_count": dg.MetadataValue.int(update.events), "mode": update.mode,
        "chains_rebuilt": update.chains, "added": update.added, "changed": update.changed, "removed": update.removed,
    })
    if update.rebuilt is not None:
        yield contract_check(CaseEvent, update.rebuilt, "matches_contract")
    else:  # a full build validates every slice against the contract as it is built
        yield dg.AssetCheckResult(check_name="matches_contract", passed=True, metadata={"rows": update.events})


@dg.asset(
    key=["marts", "data_quality"],
    group_name="canonical_events",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    deps=[case_events],
)
def data_quality_table(warehouse: Warehouse, folders: RunFolders) -> dg.MaterializeResult:
    """Per source: files, rows, accepted, quarantined by reason, rejected files, duplicates
    merged and chains linked — whether tonight's data can be trusted. The quarantined rows
    (file, line, field, reason) and the file ledger are exported for analysts to OUT_DIR/review/."""
    # Records and incidents are counted in DuckDB: only per-source counts reach Polars.
    with warehouse.connect(read_only=True) as conn:
        counts = [conn.sql(q).pl() for q in (RECORD_COUNTS_SQL, INCIDENT_COUNTS_SQL, CHAIN_MEMBER_COUNTS_SQL)]
    ledger, quarantine = warehouse.read("raw.file_ledger"), warehouse.read("raw.quarantine")
    quality = data_quality_from_counts(ledger, quarantine, *counts)
    with warehouse.transaction() as w:
        w.replace_table("marts.data_quality", quality)
    review = folders.out / "review"
    review.mkdir(parents=True, exist_ok=True)
    for frame, name in ((quarantine, "quarantine"), (ledger, "file_ledger")):
        frame = frame.sort(frame.columns[:3])
        frame.write_csv(review / f"{name}.csv", include_bom=True)
        write_people_csv(frame, review / PEOPLE_CSV[name])
    return dg.MaterializeResult(metadata=frame_metadata(quality))
