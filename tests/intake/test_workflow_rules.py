"""The pure workflow rules: the table, routing, escalation, deadlines from config."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from config.loader import ConfigError
from intake.vocab import LOCAL_TZ, NEED_CATEGORIES
from intake.workflow_config import DEFAULT_NEEDS, load_needs_config, parse_needs_config
from intake.workflow_rules import (TRANSITIONS, Action, Location, NeedView, Refused, Role, State, StaffView,
                                   add_limit, decide, department_for, next_level, register)

CFG = load_needs_config()
RAW = yaml.safe_load(DEFAULT_NEEDS.read_text(encoding="utf-8"))
LOC = Location("Hd001", "鹭江街道", "思明区")
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=LOCAL_TZ)  # a Friday


def _need(state: State, level: str = "grid", unit: str = "Hd001", **kw) -> NeedView:
    return NeedView(state, "邻里求助", kw.pop("loc", LOC), level, unit, NOW + timedelta(days=1), **kw)


def test_every_pair_outside_the_table_is_refused_in_both_languages():
    for state in State:
        for action in Action:
            if (state, action) in TRANSITIONS or action in (Action.REGISTER, Action.ASSIGN):
                continue
            for role in Role:
                with pytest.raises(Refused) as exc:
                    decide(_need(state), action, role, NOW + timedelta(days=9), CFG, note="x", rating="满意",
                           actor_id="someone", target=("department", "鹭江派出所"))
                assert exc.value.code == "illegal_transition"
                assert "不能执行" in exc.value.zh and "not allowed" in exc.value.en


def test_wrong_capacity_and_missing_note_are_refused():
    with pytest.raises(Refused, match="无权"):
        decide(_need(State.RESOLVED), Action.CLOSE, Role.HANDLER, NOW, CFG)
    with pytest.raises(Refused, match="须填写说明"):
        decide(_need(State.IN_PROGRESS), Action.RESOLVE, Role.HANDLER, NOW, CFG, note="  ")
    with pytest.raises(Refused, match="尚未超时"):
        decide(_need(State.ASSIGNED), Action.OVERDUE, Role.SYSTEM, NOW, CFG)


def test_four_eyes_below_the_city_level():
    resolved = _need(State.RESOLVED, level="street", unit="鹭江街道", resolved_by="s1")
    with pytest.raises(Refused) as exc:
        decide(resolved, Action.CLOSE, Role.SUPERVISOR, NOW, CFG, actor_id="s1")
    assert exc.value.code == "four_eyes"
    assert decide(resolved, Action.CLOSE, Role.SUPERVISOR, NOW, CFG, actor_id="d1").to_state is State.CLOSED
    at_city = _need(State.RESOLVED, level="city", unit="全市", resolved_by="c1")
    assert decide(at_city, Action.CLOSE, Role.SUPERVISOR, NOW, CFG, actor_id="c1").to_state is State.CLOSED


def test_unsatisfied_reopens_once_then_rates():
    closed = _need(State.CLOSED)
    assert decide(closed, Action.RATE, Role.RESIDENT, NOW, CFG, rating="满意").to_state is State.RATED
    first = decide(closed, Action.RATE, Role.RESIDENT, NOW, CFG, rating="不满意")
    assert (first.to_state, first.reopen_count) == (State.REOPENED, 1)
    again = _need(State.CLOSED, reopen_count=1)
    assert decide(again, Action.RATE, Role.RESIDENT, NOW, CFG, rating="不满意").to_state is State.RATED
    with pytest.raises(Refused, match="请选择满意"):
        decide(closed, Action.RATE, Role.RESIDENT, NOW, CFG, rating="很好")


def test_escalation_climbs_one_level_at_a_time_and_stops_at_the_city():
    need = _need(State.IN_PROGRESS)
    seen = []
    while (up := next_level(need, CFG)) is not None:
        out = decide(need, Action.ESCALATE, Role.HANDLER, NOW, CFG, note="请求支援")
        assert (out.level, out.unit) == up and out.deadline == NOW + timedelta(hours=CFG.escalation.hours)
        seen.append(out.level)
        need = NeedView(out.to_state, need.category, LOC, out.level, out.unit, out.deadline)
    assert seen == ["street", "district", "city"]
    with pytest.raises(Refused, match="市级"):
        decide(need, Action.ESCALATE, Role.HANDLER, NOW, CFG, note="再上报")
    dept = _need(State.ASSIGNED, level="department", unit="鹭江派出所")
    assert next_level(dept, CFG) == (CFG.escalation.department_escalates_to, "鹭江街道")
    # A level the compound has no unit at is skipped.
    no_street = _need(State.ASSIGNED, loc=Location("Hd001", None, "思明区"))
    assert next_level(no_street, CFG) == ("district", "思明区")


def test_routing_to_a_department_or_the_grid():
    police = StaffView("p1", "department", "鹭江派出所", streets=frozenset({"鹭江街道"}),
                       categories=frozenset({"消防安全"}))
    citywide = StaffView("p9", "department", "市消防救援支队", categories=frozenset({"消防安全"}))
    assert department_for("消防安全", LOC, [citywide, police]) == "鹭江派出所"  # the most local wins
    assert department_for("消防安全", Location("Hx001", "别的街道", "湖里区"), [citywide, police]) == "市消防救援支队"
    assert department_for("邻里求助", LOC, [citywide, police]) is None
    reg, assign = register("消防安全", LOC, "鹭江派出所", NOW, CFG)
    assert (reg.to_state, assign.to_state, assign.level, assign.unit) == (
        State.REGISTERED, State.ASSIGNED, "department", "鹭江派出所")
    # Routed to a department but none covers the compound: its grid; no grid known: its street.
    assert register("消防安全", LOC, None, NOW, CFG)[1].level == "grid"
    assert register("邻里求助", Location(None, "鹭江街道", "思明区"), None, NOW, CFG)[1].unit == "鹭江街道"
    assert register("邻里求助", Location(None, None, None), None, NOW, CFG)[1].level == "city"


def test_working_days_skip_weekends_and_holidays():
    friday_5pm = datetime(2026, 9, 25, 17, 0, tzinfo=LOCAL_TZ)
    limit = parse_needs_config({**RAW, "categories": {**RAW["categories"], "其他": {"working_days": 3}}}).categories["其他"]
    # Mon 28, Tue 29, Wed 30 September.
    assert add_limit(friday_5pm, limit, frozenset()) == datetime(2026, 9, 30, 17, 0, tzinfo=LOCAL_TZ)
    # With 1-2 and 5-7 October as holidays, three working days from Wednesday 30 September
    # are Thursday 8, Friday 9 and Monday 12 October.
    holidays = frozenset({date(2026, 10, d) for d in (1, 2, 5, 6, 7)})
    assert add_limit(datetime(2026, 9, 30, 9, tzinfo=LOCAL_TZ), limit, holidays).date() == date(2026, 10, 12)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(category=st.sampled_from(NEED_CATEGORIES), hours=st.integers(1, 200), days=st.integers(1, 15),
       use_days=st.booleans(), start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31)))
def test_deadlines_follow_the_config(category, hours, days, use_days, start):
    """Whatever the config says for a category, the registered deadline is exactly that."""
    start = start.replace(tzinfo=LOCAL_TZ)
    limit = {"working_days": days} if use_days else {"hours": hours}
    cfg = parse_needs_config({**RAW, "categories": {**RAW["categories"], category: {**limit, "route": "grid"}}})
    deadline = register(category, LOC, None, start, cfg)[1].deadline
    if not use_days:
        assert deadline == start + timedelta(hours=hours)
        return
    assert deadline.time() == start.time() and deadline > start
    assert deadline.weekday() < 5 and deadline.date() not in cfg.holidays
    span = [start.date() + timedelta(days=i) for i in range(1, (deadline.date() - start.date()).days + 1)]
    assert sum(d.weekday() < 5 and d not in cfg.holidays for d in span) == days


@pytest.mark.parametrize("change, key", [
    ({"categories": {k: v for k, v in RAW["categories"].items() if k != "其他"}}, "categories"),
    ({"categories": {**RAW["categories"], "其他": {"hours": 3, "working_days": 2}}}, "categories.其他"),
    ({"escalation": {**RAW["escalation"], "levels": ["grid", "city"]}}, "escalation"),
    ({"rating": {**RAW["rating"], "reopens": "差评"}}, "rating"),
    ({"labels": {**RAW["labels"], "states": {k: v for k, v in RAW["labels"]["states"].items() if k != "rated"}}},
     "labels"),
])
def test_a_broken_needs_config_is_one_line_naming_the_key(change, key):
    with pytest.raises(ConfigError) as exc:
        parse_needs_config({**RAW, **change}, source="needs.yaml")
    message = str(exc.value)
    assert "\n" not in message and message.startswith(f"needs.yaml: {key}") and "fix" in message


def test_the_shipped_config_is_versioned_by_content():
    assert len(CFG.version) == 12 and CFG.version != "unversioned"
