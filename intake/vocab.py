"""The fixed vocabularies and limits shared by the intake service and the public pages."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

# What a resident can report (反映平安需求); the page's form offers exactly these.
NEED_CATEGORIES: tuple[str, ...] = (
    "治安隐患",
    "矛盾纠纷",
    "防范诈骗",
    "消防安全",
    "邻里求助",
    "法律咨询",
    "其他",
)

# The volunteer services an officer checks in for (报到).
CHECKIN_KINDS: tuple[str, ...] = ("矛盾调解", "法治宣传", "治安巡防", "其他")

NEED_TEXT_MAX = 500
CONTACT_MAX = 64
CHECKIN_NOTE_MAX = 200

# China keeps one offset all year, so a fixed +08:00 gives the local calendar day
# without depending on a tz database being installed.
LOCAL_TZ = timezone(timedelta(hours=8), name="Asia/Shanghai")


def local_now() -> datetime:
    """The current time in the city's local time zone."""
    return datetime.now(LOCAL_TZ)


def need_reference(local_day: str, seq: int) -> str:
    """The reference number a resident gets back, e.g. ``N20261123-000123``."""
    return f"N{local_day.replace('-', '')}-{seq:06d}"
