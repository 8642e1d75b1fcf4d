"""The one place SafeStar's Dagster definitions are assembled."""
from __future__ import annotations

import atexit
import gc

import dagster as dg

from assets import attribution, checks, ingestion, monitor, outputs, ratings, registry
from pipelines.jobs import ingestion as ingestion_job
from pipelines.jobs import nightly_rating, veto_monitor
from pipelines.progress import progress_logger
from pipelines.resources import env_resources
from pipelines.schedules import nightly_schedule
from pipelines.sensors import veto_monitor_sensor

ASSET_MODULES = [registry, ingestion, attribution, ratings, monitor, outputs, checks]

# Python's cyclic garbage collector runs every 700 new objects by default and, as the heap
# grows, scans every live object again. A run process holds over a million objects from its
# imports (Dagster, pandas, pandera) and its steps make millions more (a slice of 1M events
# gives 1M outline-test points): at 100,000 compounds the collector took ~17 s of a full
# run. The imports are frozen out of its scans (they live as long as the process) and it
# runs 100x less often; cycles are still collected.
GC_THRESHOLDS = (70_000, 20, 10)


def tune_gc() -> None:
    """Freeze the objects made so far and collect less often (see GC_THRESHOLDS)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    # At exit the frozen objects go back to the collector, so extension modules (DuckDB's
    # bindings) see their objects freed and do not report leaks.
    atexit.register(gc.unfreeze)


tune_gc()  # on import: the CLI, `dagster dev` and every run or step process load this module


def build_definitions(resources: dict) -> dg.Definitions:
    """Assets, checks, jobs, schedules and sensors bound to the given resources."""
    return dg.Definitions(
        assets=dg.load_assets_from_modules(ASSET_MODULES),
        asset_checks=dg.load_asset_checks_from_modules(ASSET_MODULES),
        jobs=[nightly_rating, ingestion_job, veto_monitor],
        schedules=[nightly_schedule],
        sensors=[veto_monitor_sensor],
        resources=resources,
        loggers={"console": dg.default_loggers()["console"], "progress": progress_logger},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(env_resources())
