"""The veto monitor: new veto and downgrade records act within minutes, not at month's end."""
import dataclasses
import os
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from assets.attribution import attributed_events
from assets.common import OWNERS, frame_metadata
from assets.ratings import scoring_inputs
from intake.vocab import local_now
from pipelines.resources import WAREHOUSE_POOL, Policy, RunFolders, Warehouse
from plaques.batch import write_batch
from plaques.registry import plan_plaques
from plaques.sign import resolve_secret
from scoring.engine import rate
from scoring.monitor import interim_ratings, urgent_alerts, urgent_compounds


class MonitorConfig(dg.Config):
    """`as_of`: the day to re-rate for (default: today in the city's time zone)."""

    as_of: str = ""


@dg.asset(
    key=["marts", "urgent_alerts"],
    group_name="ratings",
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    deps=[attributed_events],
    pool=WAREHOUSE_POOL,
)
def urgent_alerts_asset(context: dg.AssetExecutionContext, config: MonitorConfig, warehouse: Warehouse,
                        folders: RunFolders, policy: Policy) -> dg.MaterializeResult:
    """Veto and downgrade alerts raised between nightly runs: the compounds a new veto- or
    downgrade-category record affects, re-rated at once, with the plaque withdrawal or
    replacement order for the printers (OUT_DIR/urgent/plaques/)."""
    today = date.fromisoformat(config.as_of) if config.as_of else local_now().date()
    latest = warehouse.read("marts.ratings", where="as_of = (SELECT max(as_of) FROM marts.ratings WHERE as_of < ?)",
                            params=[today])
    if latest is None or latest.is_empty():
        context.log.info("no rating date yet: nothing to monitor")
        return dg.MaterializeResult(metadata={"alerts": 0})
    since = latest["as_of"][0]
    # The incidents and overrides exactly as the nightly rating reads them: an override that
    # excludes or moves an incident holds here too.
    events, overrides = scoring_inputs(warehouse, folders)
    rules = policy.rules
    affected = urgent_compounds(events, rules, since, today)
    if affected.is_empty():
        return dg.MaterializeResult(metadata={"alerts": 0, "since": since.isoformat()})
    compounds = warehouse.read("core.compounds")
    # The whole city is rated (a street or city prior makes a rating depend on the neighbours'
    # incidents); only the affected compounds change. No explanations: the nightly run writes them.
    rescored = rate(compounds, events, rules, today, overrides=overrides, previous=latest)
    interim = interim_ratings(latest, rescored, affected, today)
    alerts = urgent_alerts(latest, interim, affected, today)
    with warehouse.transaction() as w:
        w.replace_partition("marts.urgent_alerts", alerts, "detected_on", today)
    for row in alerts.iter_rows(named=True):
        context.log.warning(
            f"ALERT {row['compound_id']} {row['name']}: {row['status_before']} {row['stars_before']}★ → "
            f"{row['status_after']} {row['stars_after']}★ ({row['rules_after']})"
        )
    batch = None
    if alerts.height:
        registry = warehouse.read("marts.plaques", where="as_of = ?", params=[since])
        history = warehouse.read("marts.ratings", where="as_of <= ?", params=[since])
        plan = plan_plaques(registry.drop("as_of") if registry is not None else None,
                            pl.concat([history, interim.select(history.columns)]), compounds,
                            as_of=today, stability_days=rules.plaque_stability_days)
        ids = alerts["compound_id"].implode()
        urgent_plan = dataclasses.replace(
            plan, actions=plan.actions.filter(pl.col("compound_id").is_in(ids)),
            batch_id=f"{plan.batch_id}U",
        )
        batch = write_batch(urgent_plan, compounds, folders.out / "urgent" / "plaques", as_of=today,
                            base_url=folders.public_base_url, secret=resolve_secret(os.environ, demo=folders.demo))
    return dg.MaterializeResult(metadata={**frame_metadata(alerts), "since": since.isoformat(),
                                          "batch": str(batch) if batch else "none"})
