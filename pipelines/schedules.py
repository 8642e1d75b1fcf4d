"""The nightly schedule: rate yesterday's date every night."""
from __future__ import annotations

import dagster as dg

from pipelines.jobs import nightly_rating

nightly_schedule = dg.build_schedule_from_partitioned_job(
    nightly_rating, hour_of_day=2, minute_of_hour=0, name="nightly_rating_schedule",
)
