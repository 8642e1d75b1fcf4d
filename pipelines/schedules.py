"""The nightly schedule: at 02:00 in the city's time zone, rate YESTERDAY's date."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from assets.common import CITY_TZ
from pipelines.jobs import nightly_rating


@dg.schedule(job=nightly_rating, cron_schedule="0 2 * * *", execution_timezone=CITY_TZ,
             name="nightly_rating_schedule", default_status=dg.DefaultScheduleStatus.STOPPED)
def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The 02:00 tick of day D rates D-1, the day whose records are in by then. (A schedule
    built from the partitioned job would request the newest partition, which is today's:
    rating_dates ends a day ahead so that the CLI can rate the current day.)"""
    day = context.scheduled_execution_time.astimezone(ZoneInfo(CITY_TZ)).date() - timedelta(days=1)
    return dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())
