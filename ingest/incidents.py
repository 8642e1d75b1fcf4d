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


def build_case_events(records: DataFrame[CaseRecord], taxonomy: Taxonomy) -> DataFrame[CaseEvent]:
    """Collapse accepted case records into incidents (see the module docstring for the rules)."""
    stage = pl.col(R.source).replace_strict(CHAIN_SOURCES, default=0, return_dtype=pl.Int8)
    case_no = pl.col(R.police_case_no)
    chain_key = (
        pl.when((stage > 0) & case_no.is_not_null())
        .then(pl.lit("case:") + case_no)
        .when(pl.col(R.source) == "police")
        .then(pl.lit("case:") + pl.col(R.record_id))
        .otherwise(pl.lit("rec:") + pl.col(R.source) + pl.lit(":") + pl.col(R.record_id))
    )
    ref = pl.col(R.source) + pl.lit(":") + pl.col(R.record_id)
    has_point = pl.col(R.lon).is_not_null() & pl.col(R.lat).is_not_null()
    ordered = (
        records.lazy()
        .with_columns(stage.alias("_stage"), chain_key.alias("_key"), ref.alias("_ref"), has_point.alias("_pt"))
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
        .select(list(CaseEvent.to_schema().columns))
        .sort(CaseEvent.event_id)
        .collect()
    )
    return CaseEvent.validate(events)
