"""Landing-zone ingestion: department exports → canonical case records → incidents."""

from datetime import datetime

import dagster as dg
import polars as pl

from assets.common import OWNERS, as_of_of, contract_check, frame_metadata, rating_dates, table_results, table_specs
from ingest.completeness import COUNTS_SQL, OUTAGES_FILE, blocking_message, source_completeness, split_outages, windows
from ingest.event_updates import update_case_events
from ingest.landing import iter_landing
from ingest.prefetch import prefetch
from ingest.quality import (
    CHAIN_MEMBER_COUNTS_SQL,
    INCIDENT_COUNTS_SQL,
    RECORD_COUNTS_SQL,
    data_quality_from_counts,
)
from ingest.upsert import NightWriter
from pipelines.inputs import read_decision_file
from pipelines.resources import WAREHOUSE_POOL, Policy, RunFolders, Warehouse
from reports.excel import PEOPLE_CSV, write_people_csv
from schemas.events import CaseEvent

BBOX_MARGIN_DEG = 0.2
REJECTED = "ops.landing_rejected"  # landing files rejected on the last ingestion (still in the landing zone)


def _bbox(compounds: pl.DataFrame) -> tuple[float, float, float, float] | None:
    located = compounds.drop_nulls(["lon", "lat"])
    if located.is_empty():
        return None
    return (
        located["lon"].min() - BBOX_MARGIN_DEG, located["lat"].min() - BBOX_MARGIN_DEG,
        located["lon"].max() + BBOX_MARGIN_DEG, located["lat"].max() + BBOX_MARGIN_DEG,
    )


RECORD_TABLES = {
    "raw.quarantine": "Rows set aside with the file, line, field and reason (never lost).",
    "raw.file_ledger": "Every landing-zone file seen: loaded, rejected (with the error) or a duplicate.",
    "ops.file_hashes": "Each landing file's SHA-256 with the stamp it had when read (unchanged files are not re-read).",
    "ops.case_event_pending": "Chain keys of the record versions loaded since the last incidents step.",
    REJECTED: "Landing files rejected on the last ingestion and still in the landing zone.",
}
EVENT_TABLES = {
    "ops.case_event_chains": "Incident -> chain key, so that only touched chains are rebuilt.",
    "ops.case_event_changes": "Incidents added, changed or removed by the last incidents step.",
    "ops.case_event_log": "The change lists of the last runs, numbered by generation (read by attribution).",
    "ops.case_event_log_state": "The change log's lineage and generations kept.",
    "ops.case_events_state": "Fingerprint of the taxonomy and incident rules the incidents were built with.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "case_records"], group_name="sources", kinds={"duckdb", "polars"}, owners=OWNERS,
                     deps=[dg.AssetKey(["core", "compounds"])],
                     description="Accepted records of the five departments on the canonical layout, every "
                                 "landing-zone file ingested once (by content hash); a corrected file supersedes "
                                 "earlier versions of its records."),
        *table_specs("sources", RECORD_TABLES),
    ],
    check_specs=[
        dg.AssetCheckSpec("rows_add_up", asset=["raw", "case_records"], blocking=True,
                          description="For every loaded file: rows read = accepted + quarantined."),
    ],
    pool=WAREHOUSE_POOL,
)
def case_records(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders, policy: Policy):
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
            folders.data, seen_hashes=seen, taxonomy=policy.taxonomy, bbox=_bbox(compounds),
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
    with warehouse.transaction() as w:  # what `sources_complete` holds against publication
        w.replace_table(REJECTED, rejected.select("source", "file", "error"))
    yield dg.MaterializeResult(asset_key=["raw", "case_records"], metadata={
        **frame_metadata(preview),
        "dagster/row_count": dg.MetadataValue.int(total),
        "records_tonight": tonight,
        "new_files": loaded.height,
        "files_already_ingested": ledger.filter(pl.col("status") == "skipped_duplicate").height,
        "rejected_files": rejected.height,
        "rows_accepted": int(loaded["rows_accepted"].sum() or 0),
        "rows_quarantined": int(loaded["rows_quarantined"].sum() or 0),
    })
    yield from table_results(warehouse, RECORD_TABLES)
    yield dg.AssetCheckResult(
        check_name="rows_add_up", passed=broken.is_empty(),
        metadata={"files_checked": loaded.height, "files_not_adding_up": broken["file"].to_list()},
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["core", "case_events"], group_name="canonical_events", kinds={"duckdb", "polars"},
                     owners=OWNERS, deps=[dg.AssetKey(["raw", "case_records"]), dg.AssetKey(["ops", "case_event_pending"])],
                     description="One row per incident: records that follow one police case through procuratorate "
                                 "and court count once, at their most final classification; revoked incidents are gone."),
        *table_specs("canonical_events", EVENT_TABLES),
    ],
    check_specs=[dg.AssetCheckSpec("matches_contract", asset=["core", "case_events"], blocking=True,
                                   description="Every incident satisfies the CaseEvent pandera model.")],
    pool=WAREHOUSE_POOL,
)
def case_events(context: dg.AssetExecutionContext, warehouse: Warehouse, policy: Policy):
    """One row per incident: records that follow one police case through procuratorate and
    court count once, at their most final classification; revoked incidents are gone.
    Each night only the chains of tonight's records are rebuilt (ops.case_event_changes
    lists the incidents added, changed or removed); a new taxonomy rebuilds everything."""
    with warehouse.connect() as conn:
        update = update_case_events(conn, policy.taxonomy)
        preview = conn.sql("SELECT * FROM core.case_events LIMIT 10").pl()
    context.log.info(
        f"case events ({update.mode}): {update.chains} chains rebuilt; {update.added} added, "
        f"{update.changed} changed, {update.removed} removed; {update.events} in all"
    )
    yield dg.MaterializeResult(asset_key=["core", "case_events"], metadata={
        **frame_metadata(preview), "dagster/row_count": dg.MetadataValue.int(update.events), "mode": update.mode,
        "chains_rebuilt": update.chains, "added": update.added, "changed": update.changed, "removed": update.removed,
    })
    yield from table_results(warehouse, EVENT_TABLES)
    if update.rebuilt is not None:
        yield contract_check(CaseEvent, update.rebuilt, "matches_contract")
    else:  # a full build validates every slice against the contract as it is built
        yield dg.AssetCheckResult(check_name="matches_contract", passed=True, metadata={"rows": update.events})


@dg.asset(
    key=["marts", "data_quality"],
    group_name="canonical_events",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    deps=[dg.AssetKey(["core", "case_events"]), dg.AssetKey(["raw", "case_records"]),
          dg.AssetKey(["raw", "file_ledger"]), dg.AssetKey(["raw", "quarantine"])],
    pool=WAREHOUSE_POOL,
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


@dg.asset(
    key=["marts", "source_completeness"],
    group_name="sources",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    partitions_def=rating_dates,
    deps=[dg.AssetKey(["raw", "case_records"]), dg.AssetKey(["ops", "landing_rejected"])],
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec("sources_complete", asset=["marts", "source_completeness"], blocking=True,
                          description="Every source is complete enough to publish the rating date: records in its "
                                      "recent window at its trailing level, no landing file rejected as unreadable "
                                      "(thresholds: `sources:` in config/rules.yaml), or an analyst acknowledged the "
                                      "outage in DATA_DIR/decisions/source_outages.csv. A run with no records from "
                                      "any source never publishes."),
    ],
)
def source_completeness_table(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders,
                              policy: Policy):
    """Per source and rating date: records up to the date, in the recent window, and the
    count its trailing level predicts; landing files rejected; the analysts' acknowledged
    outages (who, when, why). A source that looks incomplete stops publication until its
    data is fixed or the outage is acknowledged."""
    as_of = as_of_of(context)
    checks = policy.rules.sources
    with warehouse.connect(read_only=True) as conn:
        conn.register("windows", windows(checks, as_of).to_arrow())
        counts = conn.sql(COUNTS_SQL).pl()
    rejected = warehouse.read(REJECTED)
    outages, unusable = split_outages(read_decision_file(folders.data, OUTAGES_FILE))
    for row, reason in unusable.iter_rows():
        context.log.warning(f"{OUTAGES_FILE} row {row} not applied: {reason}")
    verdict = source_completeness(counts, rejected if rejected is not None else pl.DataFrame(
        schema={"source": pl.String, "file": pl.String, "error": pl.String}), outages, checks, as_of)
    with warehouse.transaction() as w:
        w.replace_partition("marts.source_completeness", verdict, "as_of", as_of)
    for row in verdict.filter(pl.col("acknowledged")).iter_rows(named=True):
        context.log.warning(f"{row['detail']} — acknowledged by {row['ack_who']}: {row['ack_why']}")
    message = blocking_message(verdict, as_of)
    yield dg.MaterializeResult(metadata={
        **frame_metadata(verdict.drop("as_of", "detail")),
        "blocking": int(verdict["blocks"].sum()), "acknowledged": int(verdict["acknowledged"].sum()),
        "unusable_acknowledgements": unusable.height,
    })
    yield dg.AssetCheckResult(
        check_name="sources_complete", passed=not message, description=message or None,
        metadata={"blocking_sources": verdict.filter(pl.col("blocks"))["source"].to_list(),
                  "acknowledged_sources": verdict.filter(pl.col("acknowledged"))["source"].to_list(),
                  "message": message},
    )
