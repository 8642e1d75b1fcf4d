"""Attribution: every incident placed in its compound, or queued for an analyst."""

import dagster as dg

from assets.common import OWNERS, frame_metadata, markdown_table, table_results, table_specs
from attribution.incremental import attribution_fingerprint
from attribution.review import read_decisions, write_review_queue
from attribution.warehouse import (
    ATTRIBUTED,
    RATES,
    REVIEW,
    attribute_warehouse,
    contract_problems,
)
from geo.polygons import CompoundPolygons
from pipelines.resources import WAREHOUSE_POOL, Policy, RunFolders, Warehouse

# DuckDB caches what it reads up to 80% of RAM by default; this step reads a city's whole
# history slice by slice, so its share is capped (joins and sorts spill beyond it).
DUCKDB_MEMORY_LIMIT = "3GB"


SIDE_TABLES = {
    REVIEW: "Incidents an analyst should look at: unplaced, ambiguous or disagreeing placements (also in OUT_DIR/review/).",
    RATES: "Share of each source's incidents placed in a compound.",
    "ops.attribution_keys": "A row hash per incident: unchanged incidents keep their placement.",
    "ops.attribution_state": "Fingerprint of registry, outlines, parameters and code, and the change-log position consumed.",
    "ops.attribution_outlines": "The compound outlines the placements were made with (WKB).",
    "ops.attribution_decisions": "The analysts' review decisions last applied.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["core", "attributed_events"], group_name="attribution", kinds={"duckdb", "polars"},
                     owners=OWNERS,
                     deps=[dg.AssetKey(["core", "case_events"]), dg.AssetKey(["ops", "case_event_log"]),
                           dg.AssetKey(["core", "compounds"])],
                     description="Each incident with the compound it belongs to, the method (department's id, "
                                 "polygon, address, nearest centroid, analyst decision) and a confidence."),
        *table_specs("attribution", SIDE_TABLES),
    ],
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec("match_rate", asset=["core", "attributed_events"],
                          description="Share of incidents placed in a compound, per source: warns below "
                                      "attribution.match_rate_warn, fails below attribution.match_rate_floor "
                                      "(config/rules.yaml)."),
        dg.AssetCheckSpec("matches_contract", asset=["core", "attributed_events"], blocking=True,
                          description="Every attributed incident satisfies the AttributedEvent pandera model "
                                      "(each slice placed is validated; one row per incident is checked in DuckDB)."),
    ],
)
def attributed_events(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders, policy: Policy):
    """Each incident with the compound it belongs to, the method (department's id, polygon,
    address, nearest centroid, analyst decision) and a confidence; the unmatched and the
    disagreeing wait in core.review_queue and in the review export."""
    decisions_path = folders.data / "decisions" / "review_decisions.csv"
    decisions = read_decisions(decisions_path) if decisions_path.exists() else None
    polygons_path = folders.data / "compounds.geojson"
    def polygons():
        return CompoundPolygons.from_geojson(polygons_path) if polygons_path.exists() else None

    compounds = warehouse.read("core.compounds")
    limits = policy.rules.attribution
    # Placements made with the same registry, outlines and code are kept for events that did
    # not change; a new registry (or code) attributes everything again. All of it happens in
    # DuckDB, in one transaction: only the events to place reach Python, a slice at a time.
    params = {"fuzzy_threshold": limits.address_match_threshold}
    fingerprint = attribution_fingerprint(compounds, polygons_path, **params)
    with warehouse.transaction() as w:
        w.conn.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'").fetchall()
        run = attribute_warehouse(w.conn, compounds, polygons, fingerprint=fingerprint, decisions=decisions, **params)
        rates = w.conn.sql(f"SELECT * FROM {RATES}").pl()
        problems = contract_problems(w.conn, run)
        review = w.conn.sql(f"SELECT * FROM {REVIEW} ORDER BY event_id").pl()
        preview = w.conn.sql(f"SELECT * FROM {ATTRIBUTED} ORDER BY event_id LIMIT 10").pl()
    context.log.info(f"attributed {run.fresh} of {run.events} events afresh, kept {run.events - run.fresh} "
                     f"placements, dropped {run.removed}" + (" (registry, outlines or code changed)" if run.full else ""))
    write_review_queue(review, folders.out / "review")
    worst = float(rates["rate"].min()) if rates.height else 1.0
    severity = dg.AssetCheckSeverity.ERROR if worst < limits.match_rate_floor else dg.AssetCheckSeverity.WARN
    if worst < limits.match_rate_warn:
        context.log.warning(f"match rate {worst:.1%} below {limits.match_rate_warn:.0%}: see {folders.out / 'review'}")
    yield from table_results(warehouse, SIDE_TABLES)
    yield dg.MaterializeResult(asset_key=["core", "attributed_events"],
                               metadata={**frame_metadata(preview), "dagster/row_count": dg.MetadataValue.int(run.events),
                                         "review_queue": review.height, "attributed_afresh": run.fresh})
    yield dg.AssetCheckResult(check_name="matches_contract", passed=not any(problems.values()),
                              metadata={"rows": run.events, "validated_this_run": run.fresh, **problems})
    yield dg.AssetCheckResult(
        check_name="match_rate", passed=worst >= limits.match_rate_warn, severity=severity,
        metadata={"rates": dg.MetadataValue.md(markdown_table(rates)), "lowest": worst,
                  "floor": limits.match_rate_floor},
    )
