"""The data-quality table: per source, what came in, what was kept, what was set aside."""
from __future__ import annotations

import polars as pl
from pandera.typing.polars import DataFrame

from schemas.events import SOURCES, CaseEvent, CaseRecord
from schemas.quality import FileLedger, QuarantineRow

QUARANTINE_REASONS = [
    "missing_id", "duplicate_id", "bad_date", "future_date", "bad_type", "out_of_bbox",
    "unknown_category", "invalid_status", "ragged_row", "bad_quote", "line_too_long",
    "unreadable_row", "not_an_object", "bad_json",
]


# The per-source counts of the kept records and of the incidents, as SQL over the warehouse
# (the asset's way: the 10M records never leave DuckDB) or as Polars (`data_quality`).
RECORD_COUNTS_SQL = (
    "SELECT source, count(*) AS records, count(*) FILTER (WHERE status = 'revoked') AS records_revoked"
    " FROM raw.case_records GROUP BY source"
)
INCIDENT_COUNTS_SQL = (
    "SELECT source, count(*) AS incidents, count(*) FILTER (WHERE n_records > 1) AS chains_linked"
    " FROM core.case_events GROUP BY source"
)
CHAIN_MEMBER_COUNTS_SQL = (
    "SELECT split_part(ref, ':', 1) AS source, count(*) AS records_in_chains"
    " FROM (SELECT unnest(string_split(linked_records, '|')) AS ref FROM core.case_events WHERE n_records > 1)"
    " GROUP BY 1"
)


def data_quality(
    ledger: DataFrame[FileLedger],
    quarantine: DataFrame[QuarantineRow],
    records: DataFrame[CaseRecord],
    events: DataFrame[CaseEvent],
) -> pl.DataFrame:
    """One row per source: files, rows, accepted, quarantined (total and per reason), merges, chains.

    Pass the ledger and quarantine of every file whose records are in `records` (the
    cumulative tables, or one run's tables with that run's records): `superseded` is
    rows accepted by the ledger minus records still standing, i.e. record versions a
    later file replaced. `chains_linked` counts incidents carried by the source that
    link two or more records; `records_in_chains` counts the source's records inside one.
    """
    kept = records.group_by(CaseRecord.source).agg(
        pl.len().alias("records"), (pl.col(CaseRecord.status) == "revoked").sum().alias("records_revoked")
    )
    in_chain = (
        events.filter(pl.col(CaseEvent.n_records) > 1)
        .select(pl.col(CaseEvent.linked_records).str.split("|"))
        .explode(CaseEvent.linked_records)
        .select(pl.col(CaseEvent.linked_records).str.split(":").list.first().alias("source"))
        .group_by("source")
        .agg(pl.len().alias("records_in_chains"))
    )
    carried = events.group_by(CaseEvent.source).agg(
        pl.len().alias("incidents"), (pl.col(CaseEvent.n_records) > 1).sum().alias("chains_linked")
    )
    return data_quality_from_counts(ledger, quarantine, kept, carried, in_chain)


def data_quality_from_counts(
    ledger: DataFrame[FileLedger],
    quarantine: DataFrame[QuarantineRow],
    record_counts: pl.DataFrame,
    incident_counts: pl.DataFrame,
    chain_member_counts: pl.DataFrame,
) -> pl.DataFrame:
    """`data_quality` from per-source counts computed elsewhere (e.g. `RECORD_COUNTS_SQL`,
    `INCIDENT_COUNTS_SQL`, `CHAIN_MEMBER_COUNTS_SQL` run in DuckDB): source, records,
    records_revoked / source, incidents, chains_linked / source, records_in_chains."""
    L = FileLedger
    base = pl.DataFrame({"source": SOURCES})
    files = ledger.group_by(L.source).agg(
        pl.len().alias("files"),
        (pl.col(L.status) == "loaded").sum().alias("files_loaded"),
        (pl.col(L.status) == "rejected").sum().alias("files_rejected"),
        (pl.col(L.status) == "skipped_duplicate").sum().alias("files_skipped_duplicate"),
        pl.col(L.rows_read).sum().alias("rows_read"),
        pl.col(L.rows_accepted).sum().alias("rows_accepted"),
        pl.col(L.rows_quarantined).sum().alias("rows_quarantined"),
    )
    reasons = sorted(set(QUARANTINE_REASONS) | set(quarantine[QuarantineRow.reason].unique().to_list()))
    by_reason = quarantine.group_by(QuarantineRow.source).agg(
        (pl.col(QuarantineRow.reason) == r).sum().alias(f"quarantined_{r}") for r in reasons
    )
    out = base
    for part in (files, by_reason, record_counts, incident_counts, chain_member_counts):
        out = out.join(part, on="source", how="left")
    out = out.with_columns(pl.all().exclude("source").fill_null(0).cast(pl.Int64))
    return out.with_columns(
        (pl.col("rows_accepted") - pl.col("records")).clip(lower_bound=0).alias("superseded")
    ).select(
        "source", "files", "files_loaded", "files_rejected", "files_skipped_duplicate",
        "rows_read", "rows_accepted", "rows_quarantined", "superseded", "records", "records_revoked",
        "incidents", "chains_linked", "records_in_chains",
        *[f"quarantined_{r}" for r in reasons],
    )
