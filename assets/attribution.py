"""Attribution: every incident placed in its compound, or queued for an analyst."""

import dagster as dg
from assets.common import OWNERS, contract_check, frame_metadata, markdown_table
from assets.ingestion import case_events
from attribution.attribute import attribute_events
from attribution.quality import match_rates
from attribution.review import read_decisions, write_review_queue
from geo.polygons import CompoundPolygons
from pipelines.resources import RunFolders, Warehouse
from schemas.events import AttributedEvent

MATCH_RATE_WARN = 0.95


@dg.asset(
    key=["core", "attributed_events"],
    group_name="attribution",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    deps=[case_events, dg.AssetKey(["core", "compounds"])],
    check_specs=[
        dg.AssetCheckSpec("match_rate", asset=["core", "attributed_events"],
                          description=f"Share of incidents placed in a compound, per source: "
                                      f"warns below {MATCH_RATE_WARN:.0%}, fails below the configured floor "
                                      f"(RunFolders.match_rate_floor, default 80%)."),
        dg.AssetCheckSpec("matches_contract", asset=["core", "attributed_events"], blocking=True,
                          description="Every attributed incident satisfies the AttributedEvent pandera model."),
    ],
)
def attributed_events(context: dg.AssetExecutionContext, warehouse: Warehouse, folders: RunFolders):
    """Each incident with the compound it belongs to, the method (department's id, polygon,
    address, nearest centroid, analyst decision) and a confidence; the unmatched and the
    disagreeing wait in core.review_queue and in the review export."""
    decisions_path = folders.data / "decisions" / "review_decisions.csv"
    decisions = read_decisions(decisions_path) if decisions_path.exists() else None
    polygons_path = folders.data / "compounds.geojson"
    polygons = CompoundPolygons.from_geojson(polygons_path) if polygons_path.exists() else None
    attributed, review = attribute_events(
        warehouse.read("core.case_events"), warehouse.read("core.compounds"), polygons, decisions=decisions,
    )
    rates = match_rates(attributed)
    with warehouse.transaction() as w:
        w.replace_table("core.attributed_events", attributed)
        w.replace_table("core.review_queue", review)
        w.replace_table("marts.match_rates", rates)
    write_review_queue(review, folders.out / "review")
    worst = float(rates["rate"].min()) if rates.height else 1.0
    severity = dg.AssetCheckSeverity.ERROR if worst < folders.match_rate_floor else dg.AssetCheckSeverity.WARN
    if worst < MATCH_RATE_WARN:
        context.log.warning(f"match rate {worst:.1%} below {MATCH_RATE_WARN:.0%}: see {folders.out / 'review'}")
    yield dg.MaterializeResult(metadata={**frame_metadata(attributed), "review_queue": review.height})
    yield contract_check(AttributedEvent, attributed, "matches_contract")
    yield dg.AssetCheckResult(
        check_name="match_rate", passed=worst >= MATCH_RATE_WARN, severity=severity,
        metadata={"rates": dg.MetadataValue.md(markdown_table(rates)), "lowest": worst,
                  "floor": folders.match_rate_floor},
    )

