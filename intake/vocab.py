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

# What a resident reads when a submission is refused (the API's codes stay English).
REFUSAL_ZH: dict[str, str] = {
    "rate_limited": "提交过于频繁，请稍后再试。",
    "body_too_large": "提交的内容过长。",
    "unknown_compound": "未找到该小区，请从小区页面提交。",
    "missing_compound": "未找到该小区，请从小区页面提交。",
    "unknown_category": "请选择需求类别。",
    "missing_text": "请填写具体内容。",
    "text_too_long": f"具体内容请不要超过{NEED_TEXT_MAX}字。",
    "bad_text": "具体内容含有无法识别的字符。",
    "bad_contact": "联系电话格式不正确（手机号、固定电话或电子邮箱）。",
    "contact_too_long": "联系电话格式不正确（手机号、固定电话或电子邮箱）。",
    "missing_token": "请填写干警令牌。",
    "invalid_token": "干警令牌无效。",
    "revoked_token": "该干警令牌已停用。",
    "unknown_kind": "请选择服务类型。",
    "body_timeout": "网络较慢，提交未完成，请重试。",
    "idempotency_key_reused": "内容已修改，请重新提交。",
    "bad_idempotency_key": "提交未成功，请刷新页面后重试。",
}
