"""The workflow of a resident's need, as pure rules: states, actions, who may act, deadlines.

受理登记 → 分解交办 → 行动处置 → 结果反馈 → 核查结案 → 监督评价. Every step is one row of
:data:`TRANSITIONS`; :func:`decide` is the only place that says what an action does to a
need, and it touches no database and no clock (``now`` is an argument). The store
(``intake.workflow``) appends one event per decision.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from intake.workflow_config import LEVELS, Limit, NeedsConfig


class State(StrEnum):
    REGISTERED = "registered"    # 受理登记
    ASSIGNED = "assigned"        # 分解交办: waiting for its handler to accept
    IN_PROGRESS = "in_progress"  # 行动处置
    RESOLVED = "resolved"        # 结果反馈: result recorded, waiting for the check
    CLOSED = "closed"            # 核查结案: waiting for the resident's rating
    REOPENED = "reopened"        # rated 不满意: back with the supervisor, once
    RATED = "rated"              # 监督评价: final


class Action(StrEnum):
    REGISTER = "register"
    ASSIGN = "assign"
    ACCEPT = "accept"
    RECORD = "record"            # record an action taken
    ESCALATE = "escalate"        # ask the level above for help (吹哨)
    TRANSFER = "transfer"        # hand to another unit, with a reason (转办)
    OVERDUE = "overdue"          # the deadline passed: one level up, by itself
    RESOLVE = "resolve"          # record the result (结果反馈)
    CLOSE = "close"              # the supervisor checks and closes (核查结案)
    SEND_BACK = "send_back"      # the supervisor sends the result back (退回重办)
    RATE = "rate"                # the resident rates (监督评价)


class Role(StrEnum):
    """The capacity an actor has towards one need (not their job title)."""

    SYSTEM = "system"
    RESIDENT = "resident"
    HANDLER = "handler"          # a member of the unit the need is assigned to
    SUPERVISOR = "supervisor"    # a supervisor above the need's level who may check it


# Handling states: the deadline runs and an overdue need escalates.
OPEN_STATES = frozenset({State.ASSIGNED, State.IN_PROGRESS})
CITY_UNIT = "全市"


@dataclass(frozen=True)
class Rule:
    to: State
    roles: frozenset[Role]
    needs_note: bool = False


def _r(to: State, *roles: Role, note: bool = False) -> Rule:
    return Rule(to, frozenset(roles), note)


# (from state, action) -> (to state, who may do it). Anything not listed is refused.
# RATE's target is RATED, or REOPENED for the reopening choice while reopens remain.
TRANSITIONS: dict[tuple[State | None, Action], Rule] = {
    (None, Action.REGISTER): _r(State.REGISTERED, Role.SYSTEM),
    (State.REGISTERED, Action.ASSIGN): _r(State.ASSIGNED, Role.SYSTEM),
    (State.ASSIGNED, Action.ACCEPT): _r(State.IN_PROGRESS, Role.HANDLER),
    (State.ASSIGNED, Action.ESCALATE): _r(State.ASSIGNED, Role.HANDLER, note=True),
    (State.ASSIGNED, Action.TRANSFER): _r(State.ASSIGNED, Role.HANDLER, note=True),
    (State.ASSIGNED, Action.OVERDUE): _r(State.ASSIGNED, Role.SYSTEM),
    (State.IN_PROGRESS, Action.RECORD): _r(State.IN_PROGRESS, Role.HANDLER, note=True),
    (State.IN_PROGRESS, Action.ESCALATE): _r(State.ASSIGNED, Role.HANDLER, note=True),
    (State.IN_PROGRESS, Action.TRANSFER): _r(State.ASSIGNED, Role.HANDLER, note=True),
    (State.IN_PROGRESS, Action.OVERDUE): _r(State.ASSIGNED, Role.SYSTEM),
    (State.IN_PROGRESS, Action.RESOLVE): _r(State.RESOLVED, Role.HANDLER, note=True),
    (State.RESOLVED, Action.CLOSE): _r(State.CLOSED, Role.SUPERVISOR),
    (State.RESOLVED, Action.SEND_BACK): _r(State.IN_PROGRESS, Role.SUPERVISOR, note=True),
    (State.CLOSED, Action.RATE): _r(State.RATED, Role.RESIDENT),
    (State.REOPENED, Action.CLOSE): _r(State.CLOSED, Role.SUPERVISOR),
    (State.REOPENED, Action.SEND_BACK): _r(State.IN_PROGRESS, Role.SUPERVISOR, note=True),
}
# Actions a staff page offers, in the order of its buttons.
STAFF_ACTIONS = (Action.ACCEPT, Action.RECORD, Action.RESOLVE, Action.ESCALATE, Action.TRANSFER,
                 Action.CLOSE, Action.SEND_BACK)


class Refused(ValueError):
    """An action the rules do not allow, with a machine code and messages in both languages."""

    def __init__(self, code: str, en: str, zh: str):
        super().__init__(f"{en} / {zh}")
        self.code, self.en, self.zh = code, en, zh


@dataclass(frozen=True)
class Location:
    """Where the need's compound sits in the grid system (any part may be unknown)."""

    grid_code: str | None
    street: str | None
    district: str | None


@dataclass(frozen=True)
class NeedView:
    """A need's current state as the rules see it."""

    state: State
    category: str
    location: Location
    level: str                   # grid | street | district | city | department
    unit: str                    # grid code, street, district, CITY_UNIT or a department unit
    deadline: datetime | None
    reopen_count: int = 0
    resolved_by: str | None = None


@dataclass(frozen=True)
class StaffView:
    """A staff member and what they answer for (from staff.csv)."""

    staff_id: str
    role: str
    unit: str | None
    grids: frozenset[str] = frozenset()
    streets: frozenset[str] = frozenset()
    districts: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Outcome:
    """What an allowed action does: the need's next state and where it sits."""

    action: Action
    from_state: State | None
    to_state: State
    level: str
    unit: str
    deadline: datetime | None
    reopen_count: int
    resolved_by: str | None


# ---- time limits ----------------------------------------------------------------------
def add_limit(start: datetime, limit: Limit, holidays: frozenset[date]) -> datetime:
    """``start`` plus a limit: clock hours, or working days (skipping weekends and holidays,
    same time of day)."""
    if limit.hours is not None:
        return start + timedelta(hours=limit.hours)
    t, left = start, limit.working_days or 0
    while left > 0:
        t += timedelta(days=1)
        if t.weekday() < 5 and t.date() not in holidays:
            left -= 1
    return t


def is_overdue(need: NeedView, now: datetime) -> bool:
    """Whether the deadline passed while the need is being handled."""
    return need.state in OPEN_STATES and need.deadline is not None and now > need.deadline


# ---- where a need goes ----------------------------------------------------------------
def unit_at(level: str, loc: Location) -> str | None:
    """The unit that answers for ``loc`` at an area level (None: that part is unknown)."""
    return {"grid": loc.grid_code, "street": loc.street, "district": loc.district, "city": CITY_UNIT}[level]


def _first_known(levels: tuple[str, ...], loc: Location) -> tuple[str, str]:
    for level in levels:
        if (unit := unit_at(level, loc)) is not None:
            return level, unit
    return "city", CITY_UNIT


def department_for(category: str, loc: Location, staff: list[StaffView]) -> str | None:
    """The department unit a category goes straight to for this compound, if any: a unit
    listing the category whose area (streets/districts; none = the whole city) covers it;
    the most local one wins, then the first by name."""
    best: tuple[int, str] | None = None
    for s in staff:
        if s.role != "department" or category not in s.categories or not s.unit:
            continue
        if s.streets:
            rank = 0 if loc.street in s.streets else None
        elif s.districts:
            rank = 1 if loc.district in s.districts else None
        else:
            rank = 2
        if rank is not None and (best is None or (rank, s.unit) < best):
            best = (rank, s.unit)
    return best[1] if best else None


def first_assignment(category: str, loc: Location, department: str | None, now: datetime,
                     cfg: NeedsConfig) -> tuple[str, str, datetime]:
    """(level, unit, deadline) of a new need: its department when the category is routed
    to one and one covers the compound, else its grid (or the lowest known level)."""
    policy = cfg.categories[category]
    deadline = add_limit(now, policy, cfg.holidays)
    if policy.route == "department" and department:
        return "department", department, deadline
    level, unit = _first_known(LEVELS, loc)
    return level, unit, deadline


def next_level(need: NeedView, cfg: NeedsConfig) -> tuple[str, str] | None:
    """The level and unit above the need's current one (None at the city level)."""
    if need.level == "department":
        start = LEVELS.index(cfg.escalation.department_escalates_to)
    elif need.level == "city":
        return None
    else:
        start = LEVELS.index(need.level) + 1
    return _first_known(LEVELS[start:], need.location)


# ---- who may act ----------------------------------------------------------------------
_SUPERVISOR_RANK = {"street_supervisor": 1, "district_supervisor": 2, "city_supervisor": 3}
_LEVEL_RANK = {"grid": 0, "department": 0, "street": 1, "district": 2, "city": 3}


def covers(staff: StaffView, loc: Location) -> bool:
    """Whether a supervisor's or grid worker's area includes the compound."""
    return {"grid_worker": loc.grid_code in staff.grids,
            "street_supervisor": loc.street in staff.streets,
            "district_supervisor": loc.district in staff.districts,
            "city_supervisor": True}.get(staff.role, False)


def is_handler(staff: StaffView, need: NeedView) -> bool:
    """A member of the unit the need is assigned to."""
    if need.level == "department":
        return staff.role == "department" and staff.unit == need.unit
    if need.level == "grid":
        return staff.role == "grid_worker" and need.unit in staff.grids
    expected = {"street": "street_supervisor", "district": "district_supervisor", "city": "city_supervisor"}
    return staff.role == expected[need.level] and covers(staff, need.location)


def is_checker(staff: StaffView, need: NeedView) -> bool:
    """A supervisor of the compound's area at the street level or above and at least at the
    need's level, who may check results and close."""
    rank = _SUPERVISOR_RANK.get(staff.role)
    return (rank is not None and covers(staff, need.location)
            and rank >= max(1, _LEVEL_RANK[need.level]))


def can_see(staff: StaffView, need: NeedView) -> bool:
    """A worker sees the needs of their grids, a supervisor those of their area, a
    department those assigned to its unit."""
    return is_handler(staff, need) or covers(staff, need.location)


def roles_of(staff: StaffView, need: NeedView) -> frozenset[Role]:
    roles = set()
    if is_handler(staff, need):
        roles.add(Role.HANDLER)
    if is_checker(staff, need):
        roles.add(Role.SUPERVISOR)
    return frozenset(roles)


def allowed_actions(need: NeedView, roles: frozenset[Role], cfg: NeedsConfig,
                    actor_id: str | None = None) -> list[Action]:
    """The staff actions the rules allow this actor on this need now (for the page's buttons)."""
    out = []
    for action in STAFF_ACTIONS:
        rule = TRANSITIONS.get((need.state, action))
        if rule is None or not rule.roles & roles:
            continue
        if action is Action.ESCALATE and next_level(need, cfg) is None:
            continue
        if action is Action.CLOSE and _own_result(need, actor_id):
            continue
        out.append(action)
    return out


def _own_result(need: NeedView, actor_id: str | None) -> bool:
    """Four eyes: whoever recorded the result does not close it, except at the city level,
    where nobody is above to check."""
    return actor_id is not None and actor_id == need.resolved_by and need.level != "city"


# ---- the decision ---------------------------------------------------------------------
def decide(need: NeedView | None, action: Action, role: Role, now: datetime, cfg: NeedsConfig, *,
           note: str | None = None, rating: str | None = None, actor_id: str | None = None,
           target: tuple[str, str] | None = None) -> Outcome:
    """What ``action`` by someone acting as ``role`` does to ``need``, or :class:`Refused`.

    ``target`` is the (level, unit) of a transfer; ``rating`` one of the configured choices.
    REGISTER and ASSIGN are made by :func:`register`, not here."""
    state = need.state if need is not None else None
    rule = TRANSITIONS.get((state, action))
    if rule is None:
        zh_state = cfg.labels.states[state] if state else "未登记"
        raise Refused("illegal_transition",
                      f"'{action}' is not allowed while the need is {state or 'unregistered'}",
                      f"当前状态（{zh_state}）不能执行“{cfg.labels.actions[action]}”")
    if role not in rule.roles:
        raise Refused("not_allowed", f"'{action}' is for the {'/'.join(sorted(rule.roles))}, not the {role}",
                      f"您无权对此需求执行“{cfg.labels.actions[action]}”")
    if rule.needs_note and not (note or "").strip():
        raise Refused("missing_note", f"'{action}' needs a note saying what and why",
                      f"“{cfg.labels.actions[action]}”须填写说明")
    assert need is not None  # REGISTER is the only rule from None, made by register()
    out = Outcome(action, state, rule.to, need.level, need.unit, need.deadline, need.reopen_count,
                  need.resolved_by)
    if action in (Action.ESCALATE, Action.OVERDUE):
        if action is Action.OVERDUE and not is_overdue(need, now):
            raise Refused("not_overdue", "the need is not past its deadline", "该需求尚未超时")
        up = next_level(need, cfg)
        if up is None:
            raise Refused("top_level", "the need is already at the city level", "已在市级办理，无法再上报")
        deadline = now + timedelta(hours=cfg.escalation.hours)
        return replace(out, level=up[0], unit=up[1], deadline=deadline)
    if action is Action.TRANSFER:
        if target is None or target == (need.level, need.unit):
            raise Refused("bad_target", "choose another unit to transfer to", "请选择转办的其他单位")
        if target[0] not in ("grid", "department") or (target[0] == "grid" and target[1] != need.location.grid_code):
            raise Refused("bad_target", "a need goes to a department or back to its own grid",
                          "只能转办至职能部门或本网格")
        return replace(out, level=target[0], unit=target[1])
    if action is Action.RESOLVE:
        return replace(out, resolved_by=actor_id)
    if action is Action.CLOSE and _own_result(need, actor_id):
        raise Refused("four_eyes", "whoever recorded the result cannot also close it",
                      "办理结果须由其他人核查结案")
    if action is Action.SEND_BACK:
        return replace(out, deadline=add_limit(now, cfg.send_back, cfg.holidays))
    if action is Action.RATE:
        if rating not in cfg.rating.choices:
            raise Refused("bad_rating", "rate with one of " + ", ".join(cfg.rating.choices),
                          "请选择" + "、".join(cfg.rating.choices))
        if rating == cfg.rating.reopens and need.reopen_count < cfg.rating.max_reopen:
            return replace(out, to_state=State.REOPENED, reopen_count=need.reopen_count + 1)
    return out


def register(category: str, loc: Location, department: str | None, now: datetime,
             cfg: NeedsConfig) -> tuple[Outcome, Outcome]:
    """The two first events of a need: registered (受理登记), then assigned (分解交办)."""
    if category not in cfg.categories:
        raise Refused("unknown_category", f"no time limit for category {category!r}", "需求类别无效")
    level, unit, deadline = first_assignment(category, loc, department, now, cfg)
    reg = Outcome(Action.REGISTER, None, State.REGISTERED, level, unit, deadline, 0, None)
    return reg, replace(reg, action=Action.ASSIGN, from_state=State.REGISTERED, to_state=State.ASSIGNED)
