"""The nightly schedule: rate yesterday's date every night."""
from __future__ import annotations

from datetime import timedelta

import dagster as dg

from pipelines.jobs import monthly_ranking, nightly_rating

nightly_schedule = dg.build_schedule_from_partitioned_job(
    nightly_rating, hour_of_day=2, minute_of_hour=0, name="nightly_rating_schedule",
)


@dg.schedule(job=monthly_ranking, cron_schedule="0 5 1 * *", execution_timezone="Asia/Shanghai",
             name="monthly_ranking_schedule")
def monthly_ranking_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The month just ended, on the 1st at 05:00 after that night's rating (02:00) is done.
    (The month partitions reach the running month, which can be ranked on demand.)"""
    tick = context.scheduled_execution_time
    last_month = (tick.replace(day=1) - timedelta(days=1)).replace(day=1)
    return dg.RunRequest(partition_key=last_month.strftime("%Y-%m-%d"))
