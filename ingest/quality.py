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
    out = base
    for part in (files, by_reason, kept, carried, in_chain):
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
