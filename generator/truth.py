"""Ground truth written beside the data (truth/, never read by the pipeline).

`records_table`: one row per emitted data row. `expected_status`: every compound's status
at both rating dates under the design brief's default rules, assuming perfect attribution
and correct quarantine of the planted bad rows (records with a `bad_reason` or revoked
are not counted; an incident counts at its most final classification).
"""
from __future__ import annotations

import polars as pl

from generator import catalog
from generator.events import Window, add_months

# Columns of a source's role frame that records_table reads.
SOURCE_COLUMNS = ["file", "line", "record_id", "incident", "compound_id", "coord_kind", "bad_reason", "revoked",
                  "planted", "code", "at", "chain"]
_FINALITY = {"police": 0, "petition": 0, "justice": 0, "procuratorate": 1, "court": 2}


def records_table(rf: pl.DataFrame) -> pl.DataFrame:
    """truth/records.parquet: where every data row is, what it truly is, and how it was spoiled."""
    return rf.select(
        "source", "file", pl.col("line").cast(pl.Int64), "record_id",
        incident_id=pl.format("I{}", pl.col("incident").cast(pl.String).str.zfill(9)),
        compound_id="compound_id", coord_kind="coord_kind", bad_reason="bad_reason", revoked="revoked",
        planted="planted", category_code="code", occurred_at="at", chained="chain",
    ).sort("source", "file", "line")


def expected_status(records: pl.DataFrame, reg: pl.DataFrame, win: Window) -> pl.DataFrame:
    """compound_id, as_of, status, rules for both rating dates (default rules of the brief)."""
    counted = records.filter(pl.col("bad_reason").is_null() & ~pl.col("revoked"))
    incidents = (counted.with_columns(f=pl.col("source").replace_strict(_FINALITY, return_dtype=pl.Int8))
                 .sort("incident_id", "f")
                 .group_by("incident_id", maintain_order=True)
                 .agg(pl.col("compound_id", "category_code", "occurred_at").last()))
    frames = []
    for as_of in (win.first_as_of, win.second_as_of):
        day = pl.col("occurred_at").dt.date()
        window_lo = add_months(as_of, -12)
        veto = incidents.filter(pl.col("category_code").is_in(catalog.VETO)
                                & (pl.col("occurred_at").dt.year() == as_of.year) & (day <= as_of))
        down = incidents.filter(pl.col("category_code").is_in(catalog.DOWNGRADE)
                                & (day > window_lo) & (day <= as_of))
        fired = pl.concat([
            veto.select("compound_id", rule=pl.format("veto:{}", "category_code")),
            down.select("compound_id", rule=pl.format("downgrade:{}", "category_code")),
        ]).unique().sort("compound_id", "rule").group_by("compound_id", maintain_order=True).agg(
            pl.col("rule").str.join("|").alias("rules"))
        frames.append(reg.select("compound_id", "households", "population").join(
            fired, on="compound_id", how="left", maintain_order="left").select(
            "compound_id", as_of=pl.lit(as_of),
            status=pl.when(pl.col("households").is_null() & pl.col("population").is_null()).then(pl.lit("not_rated"))
            .when(pl.col("rules").str.contains("veto:")).then(pl.lit("vetoed"))
            .when(pl.col("rules").is_not_null()).then(pl.lit("downgraded"))
            .otherwise(pl.lit("rated")),
            rules="rules"))
    return pl.concat(frames)
