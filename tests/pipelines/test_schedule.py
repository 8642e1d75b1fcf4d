"""The nightly schedule rates yesterday, on the city's calendar."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.definitions import defs
from pipelines.schedules import nightly_schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _tick(when: datetime) -> dg.RunRequest:
    # With the repository, the tick's partition key is checked against rating_dates too.
    context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs().get_repository_def())
    result = nightly_schedule.evaluate_tick(context)
    assert len(result.run_requests) == 1
    return result.run_requests[0]


def test_the_0200_tick_rates_yesterday():
    request = _tick(datetime(2026, 11, 20, 2, 0, tzinfo=SHANGHAI))
    assert request.partition_key == "2026-11-19"


def test_the_tick_follows_the_city_calendar_not_utc():
    # 02:00 in Xiamen on 1 March is still 28 February in UTC: yesterday is 28 February.
    request = _tick(datetime(2026, 2, 28, 18, 0, tzinfo=timezone.utc))
    assert request.partition_key == "2026-02-28"
    assert nightly_schedule.cron_schedule == "0 2 * * *"
    assert nightly_schedule.execution_timezone == "Asia/Shanghai"
