"""Ratings per rating date: the safety index, stars, veto/downgrade rules and explanations."""

import json
from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from assets.common import OWNERS, as_of_of, frame_metadata, rating_dates, table_results, table_specs
from pipelines.inputs import read_decision_file
from pipelines.publish import fresh_staging
from pipelines.resources import WAREHOUSE_POOL, Policy, RunFolders, Warehouse
from reports.excel import PEOPLE_CSV, write_people_csv
from schemas.events import AttributedEvent as AE
from schemas.ratings import STATUSES
from scoring.engine import score
from scoring.history import rating_changes
from scoring.public import public_aggregates

RATINGS_KEY = ["marts", "ratings"]
# What scoring and the public aggregates read of an attributed incident.
SCORING_COLUMNS = [AE.event_id, AE.source, AE.compound_id, AE.method, AE.occurred_at, AE.category_code,
                   AE.category_group]
OVERRIDE_COLUMNS = [AE.linked_records, AE.confidence, AE.needs_review]


def scoring_inputs(warehouse: Warehouse, folders: RunFolders) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The attributed incidents as scoring reads them, and the analysts' overrides (or None).
    Only the columns scoring uses leave DuckDB: addresses, coordinates and linked records stay
    there, unless overrides (which name linked records and reset confidence and the review
    flag of what they move) need them."""
    overrides = read_decision_file(folders.data, "overrides.csv")
    columns = SCORING_COLUMNS + (OVERRIDE_COLUMNS if overrides is not None and overrides.height else [])
    return warehouse.read("core.attributed_events", columns=columns), overrides


def run_manifest(as_of, ruleset_version: str, ledger: pl.DataFrame | None) -> dict:
    """What a rating date was computed from: the ruleset version and every input file's hash."""
    files = [] if ledger is None else (
        ledger.filter(pl.col("status") == "loaded").sort("source", "file")
        .select("source", "file", "file_sha256", "rows_read", "rows_accepted", "rows_quarantined").to_dicts()
    )
    return {"as_of": as_of.isoformat(), "ruleset_version": ruleset_version, "input_files": files}


SIDE_TABLES = {
    "marts.explanations": "Per compound and date: the index broken down by category and source, the rules that "
                          "fired and what would lift it to the next star.",
    "marts.rating_changes": "Stars and status against the previous rating date, with the reason of each change.",
    "marts.public_stats": "Public figures per compound (incidents by category group), small counts suppressed.",
    "marts.public_monthly": "Public monthly counts per compound for the trend, small counts suppressed.",
    "ops.rating_runs": "Per rating date: the ruleset version and every input file's hash it was computed from.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(RATINGS_KEY, group_name="ratings", kinds={"duckdb", "polars"}, owners=OWNERS,
                     # Ratings wait for the sources' completeness verdict: a blocked source stops them.
                     deps=[dg.AssetKey(["core", "attributed_events"]), dg.AssetKey(["core", "compounds"]),
                           dg.AssetKey(["marts", "source_completeness"])],
                     description="One star rating per compound for the rating date: safety index (0–100, higher "
                                 "is safer), stars, status (rated/downgraded/vetoed/not_rated), the rules that "
                                 "fired and the ruleset version; exported as ratings.csv / ratings.parquet."),
        *table_specs("ratings", SIDE_TABLES, deps=[dg.AssetKey(["core", "attributed_events"])]),
    ],
    partitions_def=rating_dates,
    pool=WAREHOUSE_POOL,
)
def ratings(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders, policy: Policy):
    """Scores the rating date: ratings, explanations, changes and public aggregates."""
    as_of = as_of_of(context)
    rules = policy.rules
    with warehouse.reading():
        compounds = warehouse.read("core.compounds")
        events, overrides = scoring_inputs(warehouse, folders)  # read once: the scores and the public aggregates
        # Stable stars need each compound's previous rating and the nights of the last
        # stable_stars.days days: only those dates leave DuckDB.
        earlier = warehouse.read(
            "marts.ratings", columns=["compound_id", "as_of", "stars", "status", "rules", "safety_index"],
            where="as_of < ? AND (as_of >= ? OR as_of = (SELECT max(as_of) FROM marts.ratings WHERE as_of < ?))",
            params=[as_of, as_of - timedelta(days=max(rules.stable_stars.days - 1, 0)), as_of],
        )
        previous = warehouse.read(
            "marts.ratings", where="as_of = (SELECT max(as_of) FROM marts.ratings WHERE as_of < ?)", params=[as_of],
        )
    result = score(compounds, events, rules, as_of, overrides=overrides, previous=earlier)
    changes = rating_changes(previous if previous is not None and previous.height else None, result.ratings)
    # The events as scored (overrides applied), so public counts agree with the ratings.
    stats, monthly = public_aggregates(result.events, result.ratings, as_of)
    with warehouse.transaction() as w:
        for table, frame in {
            "marts.ratings": result.ratings, "marts.explanations": result.explanations,
            "marts.rating_changes": changes, "marts.public_stats": stats, "marts.public_monthly": monthly,
        }.items():
            w.replace_partition(table, frame, "as_of", as_of)
    staging = fresh_staging(folders.out, context.partition_key)
    result.ratings.write_csv(staging / "ratings.csv")
    write_people_csv(result.ratings, staging / PEOPLE_CSV["ratings"])
    result.ratings.write_parquet(staging / "ratings.parquet")
    manifest = run_manifest(as_of, rules.version, warehouse.read("raw.file_ledger"))
    (staging / "run.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    with warehouse.transaction() as w:
        w.replace_partition("ops.rating_runs", pl.DataFrame({
            "as_of": [as_of], "ruleset_version": [rules.version],
            "input_files": [json.dumps(manifest["input_files"], ensure_ascii=False, sort_keys=True)],
        }), "as_of", as_of)

    counts = dict(result.ratings.group_by("status").len().iter_rows())
    yield from table_results(warehouse, SIDE_TABLES, as_of=as_of)
    yield dg.MaterializeResult(asset_key=RATINGS_KEY, metadata={
        **frame_metadata(result.ratings.sort("safety_index", descending=True, nulls_last=True)),
        "ruleset_version": rules.version,
        **{f"status/{s}": int(counts.get(s, 0)) for s in STATUSES},
        "changes": int(changes.filter(pl.col("change") != "unchanged").height),
    })
