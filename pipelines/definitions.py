"""The one place SafeStar's Dagster definitions are assembled."""
from __future__ import annotations

import dagster as dg

from assets import attribution, checks, ingestion, monitor, outputs, ratings, registry
from pipelines.jobs import ingestion as ingestion_job
from pipelines.jobs import nightly_rating, veto_monitor
from pipelines.progress import progress_logger
from pipelines.resources import env_resources
from pipelines.schedules import nightly_schedule
from pipelines.sensors import landing_zone_sensor, veto_monitor_sensor

ASSET_MODULES = [registry, ingestion, attribution, ratings, monitor, outputs, checks]


def build_definitions(resources: dict) -> dg.Definitions:
    """Assets, checks, jobs, schedules and sensors bound to the given resources."""
    return dg.Definitions(
        assets=dg.load_assets_from_modules(ASSET_MODULES),
        asset_checks=dg.load_asset_checks_from_modules(ASSET_MODULES),
        jobs=[nightly_rating, ingestion_job, veto_monitor],
        schedules=[nightly_schedule],
        sensors=[landing_zone_sensor, veto_monitor_sensor],
        resources=resources,
        loggers={"console": dg.default_loggers()["console"], "progress": progress_logger},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(env_resources())
