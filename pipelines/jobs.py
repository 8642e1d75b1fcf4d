"""Jobs: the full nightly rating, ingestion alone and the veto monitor, all on the in-process
executor. A step that writes several tables (a multi-asset) is selected whole."""
from __future__ import annotations

import dagster as dg


# DuckDB allows one writing process: every job runs its assets in one process, in order.
nightly_rating = dg.define_asset_job(
    "nightly_rating",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(["marts", "urgent_alerts"]),
    executor_def=dg.in_process_executor,
    description="Ingest, attribute, score and publish one rating date.",
)

ingestion = dg.define_asset_job(
    "ingestion",
    # Unpartitioned: the per-date assets of those groups run with the nightly rating.
    selection=(dg.AssetSelection.groups("sources", "canonical_events")
               - dg.AssetSelection.assets(["core", "intake_counts"], ["marts", "source_completeness"])
               ).required_multi_asset_neighbors(),
    executor_def=dg.in_process_executor,
    description="Load new landing-zone files into the warehouse.",
)

veto_monitor = dg.define_asset_job(
    "veto_monitor",
    selection=(dg.AssetSelection.assets(["marts", "urgent_alerts"]).upstream()
               - dg.AssetSelection.assets(["core", "intake_counts"])).required_multi_asset_neighbors(),
    executor_def=dg.in_process_executor,
    description="Ingest new records and re-rate the compounds a veto or downgrade record affects.",
)
