"""Attribution: every incident placed in its compound, or queued for an analyst."""

import dagster as dg
import polars as pl
from assets.common import OWNERS, contract_check, frame_metadata, markdown_table
from assets.ingestion import case_events
from attribution.incremental import attribute_incremental, attribution_fingerprint, evidence_keys
from attribution.quality import match_rates
from attribution.review import read_decisions, write_review_queue
from geo.polygons import CompoundPolygons
from pipelines.resources import RunFolders, Warehouse
from schemas.events import AttributedEvent

MATCH_RATE_WARN = 0.95
DECISION_SCHEMA = {"source": pl.String, "record_id": pl.String, "compound_id": pl.String}


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
    def polygons():
        return CompoundPolygons.from_geojson(polygons_path) if polygons_path.exists() else None

    compounds = warehouse.read("core.compounds")
    events = warehouse.read("core.case_events")
    # Placements made with the same registry, outlines and code are kept for events whose
    # evidence did not change; a new registry (or code) attributes everything again.
    fingerprint = attribution_fingerprint(compounds, polygons_path)
    state = warehouse.read("ops.attribution_state")
    same = state is not None and state.height == 1 and state["fingerprint"][0] == fingerprint
    attributed, review, fresh = attribute_incremental(
        events, compounds, polygons, decisions=decisions,
        previous=warehouse.read("core.attributed_events") if same else None,
        previous_keys=warehouse.read("ops.attribution_keys") if same else None,
        previous_review=warehouse.read("core.review_queue") if same else None,
        previous_decisions=warehouse.read("ops.attribution_decisions") if same else None,
    )
    rates = match_rates(attributed)
    with warehouse.transaction() as w:
        w.replace_table("core.attributed_events", attributed)
        w.replace_table("core.review_queue", review)
        w.replace_table("marts.match_rates", rates)
        w.replace_table("ops.attribution_keys", evidence_keys(events))
        w.replace_table("ops.attribution_decisions", _decisions_or_empty(decisions))
        w.replace_table("ops.attribution_state", pl.DataFrame({"fingerprint": [fingerprint]}))
    context.log.info(f"attributed {fresh} of {events.height} events afresh, kept {events.height - fresh} placements")
    write_review_queue(review, folders.out / "review")
    worst = float(rates["rate"].min()) if rates.height else 1.0
    severity = dg.AssetCheckSeverity.ERROR if worst < folders.match_rate_floor else dg.AssetCheckSeverity.WARN
    if worst < MATCH_RATE_WARN:
        context.log.warning(f"match rate {worst:.1%} below {MATCH_RATE_WARN:.0%}: see {folders.out / 'review'}")
    yield dg.MaterializeResult(metadata={**frame_metadata(attributed), "review_queue": review.height,
                                         "attributed_afresh": fresh})
    yield contract_check(AttributedEvent, attributed, "matches_contract")
    yield dg.AssetCheckResult(
        check_name="match_rate", passed=worst >= MATCH_RATE_WARN, severity=severity,
        metadata={"rates": dg.MetadataValue.md(markdown_table(rates)), "lowest": worst,
                  "floor": folders.match_rate_floor},
    )



def _decisions_or_empty(decisions: pl.DataFrame | None) -> pl.DataFrame:
    """The decisions this run applied, kept so the next run also re-places events whose decision was withdrawn."""
    if decisions is None:
        return pl.DataFrame(schema=DECISION_SCHEMA)
    return decisions.select([pl.col(c).cast(t) for c, t in DECISION_SCHEMA.items()])
