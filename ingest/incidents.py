"""One incident, one count: police -> procuratorate -> court records of one case are one event.

Records of these three sources sharing a police case number (`police_case_no`; a police
record without one is keyed by its own record_id) form one incident. It is carried by its
most final record (court > procuratorate > police; within a stage the latest, then the
highest record_id), whose category it takes. Place fields come from the carrying record,
falling back stage by stage to earlier records when missing; coordinates fall back as a
(lon, lat, coord_sys) triple so a point never mixes two systems. `occurred_at` is the
earliest date in the chain: when it happened, not when the court ruled.

Revocation rule: an incident is dropped when its most final record is revoked, or when a
police record of it is revoked (不立案/撤案: the police found no case). A revoked
intermediate record (e.g. one procuratorate decision) with a valid later stage does not
drop it. Justice and petition records, and records without a case number, are their own
incident (dropped when revoked).
"""
from __future__ import annotations

import polars as pl
from pandera.typing.polars import DataFrame

from ingest.taxonomy import Taxonomy
from schemas.events import CaseEvent, CaseRecord

CHAIN_SOURCES = {"police": 1, "procuratorate": 2, "court": 3}
R = CaseRecord


# The chain key as SQL over raw.case_records, for selecting the records of some chains in
# DuckDB; it must stay equal to `chain_key()` (tests/ingest/test_event_updates.py checks).
CHAIN_KEY_SQL = (
    "CASE WHEN source IN ('police', 'procuratorate', 'court') AND police_case_no IS NOT NULL"
    " THEN 'case:' || police_case_no"
    " WHEN source = 'police' THEN 'case:' || record_id"
    " ELSE 'rec:' || source || ':' || record_id END"
)
CHAIN_KEY = "chain_key"


def _stage() -> pl.Expr:
    return pl.col(R.source).replace_strict(CHAIN_SOURCES, default=0, return_dtype=pl.Int8)


def chain_key() -> pl.Expr:
    """The incident a record belongs to: its police case number within the police ->
    procuratorate -> court chain, else the record itself."""
    case_no = pl.col(R.police_case_no)
    return (
        pl.when((_stage() > 0) & case_no.is_not_null())
        .then(pl.lit("case:") + case_no)
        .when(pl.col(R.source) == "police")
        .then(pl.lit("case:") + pl.col(R.record_id))
        .otherwise(pl.lit("rec:") + pl.col(R.source) + pl.lit(":") + pl.col(R.record_id))
    )


def build_keyed_events(records: DataFrame[CaseRecord], taxonomy: Taxonomy) -> pl.DataFrame:
    """Collapse accepted case records into incidents (see the module docstring for the rules),
    each with the `chain_key` it was built from (unvalidated), sorted by event_id: what
    incremental rebuilding needs to replace an incident later."""
    stage = _stage()
    chain_key_ = chain_key()
    ref = pl.col(R.source) + pl.lit(":") + pl.col(R.record_id)
    has_point = pl.col(R.lon).is_not_null() & pl.col(R.lat).is_not_null()
    ordered = (
        records.lazy()
        .with_columns(stage.alias("_stage"), chain_key_.alias("_key"), ref.alias("_ref"), has_point.alias("_pt"))
        # Most final first: stage, then latest date, then record_id, so the choice is stable.
        .sort(["_key", "_stage", R.occurred_at, R.record_id], descending=[False, True, True, True])
    )
    revoked = pl.col(R.status) == "revoked"

    def first_present(col: str) -> pl.Expr:
        return pl.col(col).drop_nulls().first().alias(col)

    events = (
        ordered.group_by("_key", maintain_order=True)
        .agg(
            pl.col(R.source).first(),
            pl.col(R.record_id).first(),
            pl.col(R.category_code).first(),
            pl.col(R.occurred_at).min(),
            first_present(R.address),
            pl.col(R.lon).filter(pl.col("_pt")).first(),
            pl.col(R.lat).filter(pl.col("_pt")).first(),
            pl.col(R.coord_sys).filter(pl.col("_pt")).first().alias("_pt_cs"),
            pl.col(R.coord_sys).first().alias("_cs"),
            first_present(R.compound_id),
            first_present(R.police_case_no),
            pl.col("_ref").sort_by("_stage", "_ref").str.join("|").alias(CaseEvent.linked_records),
            pl.len().cast(pl.Int32).alias(CaseEvent.n_records),
            revoked.first().alias("_final_revoked"),
            (revoked & (pl.col(R.source) == "police")).any().alias("_police_revoked"),
        )
        .filter(~pl.col("_final_revoked") & ~pl.col("_police_revoked"))
        .with_columns(
            (pl.col(R.source) + pl.lit(":") + pl.col(R.record_id)).alias(CaseEvent.event_id),
            pl.coalesce("_pt_cs", "_cs").alias(CaseEvent.coord_sys),
            pl.col(R.category_code)
            .replace_strict(taxonomy.group_of(), default=None, return_dtype=pl.String)
            .alias(CaseEvent.category_group),
        )
        .select(*CaseEvent.to_schema().columns, pl.col("_key").alias(CHAIN_KEY))
        .sort(CaseEvent.event_id)
        .collect()
    )
    return events
