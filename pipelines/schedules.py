"""The nightly schedule: rate yesterday's date every night."""
from __future__ import annotations

import dagster as dg

from pipelines.jobs import monthly_ranking, nightly_rating

nightly_schedule = dg.build_schedule_from_partitioned_job(
    nightly_rating, hour_of_day=2, minute_of_hour=0, name="nightly_rating_schedule",
)

# The month's ranking once the month is over, after that night's rating (02:00) is done.
monthly_ranking_schedule = dg.build_schedule_from_partitioned_job(
    monthly_ranking, day_of_month=1, hour_of_day=5, minute_of_hour=0, name="monthly_ranking_schedule",
)
