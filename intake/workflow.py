"""Needs through their workflow, stored as appended events in the intake database.

``need_events`` is append-only (triggers refuse UPDATE and DELETE): who, in which role and
capacity, when, what, from which state to which, and where the need sits afterwards.
``need_state`` is a cache of the latest event per need, written in the same transaction
as the event, so queues are one indexed query; :func:`replay` derives the state from the
events alone and :func:`check_cache` proves the two agree. The rules themselves are in
``intake.workflow_rules``.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from intake import store
from intake.staff_directory import departments, location_of
from intake.store import transaction  # one write transaction, a savepoint inside another
from intake.vocab import LOCAL_TZ, local_now, need_reference
from intake.workflow_config import NeedsConfig
from intake.workflow_rules import (CITY_UNIT, OPEN_STATES, TRANSITIONS, Action, Location, NeedView, Outcome,
                                   Refused, Role, StaffView, State, decide, department_for, register, roles_of)

_REFERENCE = re.compile(r"^N\d{8}-(\d{6,12})$")
_STATE_COLS = ("need_id, state, level, unit, deadline, reopen_count, resolved_by, category, grid_code, street,"
               " district, escalations, last_event_id")


@dataclass(eq=False)
class NeedsPages:
    """Base of the request handlers over needs (the staff desk, the resident's receipt): the
    service's SQLite connection, the needs policy and the clock."""

    conn: sqlite3.Connection
    cfg: NeedsConfig
    clock: Callable[[], datetime] = local_now


def stamp(t: datetime) -> str:
    """A local time as stored: ISO 8601 with +08:00, so text order is time order."""
    return t.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def parse_stamp(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def need_id_of(reference: str) -> int | None:
    m = _REFERENCE.match(reference or "")
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member, the resident holding the receipt, or the system clock."""

    actor_id: str
    role: str                    # staff.csv role, 'resident' or 'system'
    staff: StaffView | None = None


SYSTEM = Actor("system", "system")
RESIDENT = Actor("resident", "resident")


@dataclass(frozen=True)
class NeedRow:
    """A need's cached current state with its place in the grid system."""

    need_id: int
    view: NeedView
    escalations: int
    last_event_id: int


def _row_view(row) -> NeedRow:
    (need_id, state, level, unit, deadline, reopen, resolved_by, category, grid, street, district,
     escalations, last) = row
    view = NeedView(State(state), category, Location(grid, street, district), level, unit,
                    parse_stamp(deadline), reopen, resolved_by)
    return NeedRow(need_id, view, escalations, last)


def load_need(conn: sqlite3.Connection, need_id: int) -> NeedRow | None:
    row = conn.execute(f"SELECT {_STATE_COLS} FROM need_state WHERE need_id = ?", (need_id,)).fetchone()
    return _row_view(row) if row else None


def _append(conn: sqlite3.Connection, need_id: int, out: Outcome, actor: Actor, capacity: Role, now: datetime,
            note: str | None, rating: str | None) -> int:
    return conn.execute(
        "INSERT INTO need_events (need_id, at, actor_id, actor_role, capacity, action, from_state, to_state,"
        " level, unit, deadline, reopen_count, resolved_by, note, rating)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (need_id, stamp(now), actor.actor_id, actor.role, str(capacity), str(out.action),
         str(out.from_state) if out.from_state else None, str(out.to_state), out.level, out.unit,
         stamp(out.deadline) if out.deadline else None, out.reopen_count, out.resolved_by, note, rating),
    ).fetchall()[0][0]


def register_need(conn: sqlite3.Connection, need_id: int, compound_id: str, category: str,
                  now: datetime | None, cfg: NeedsConfig) -> Outcome:
    """Register a stored need and assign it (two events and its state row), as of ``now``
    (None: the need's own submission time). Call inside the transaction that inserted the
    need, so a need never exists without its workflow."""
    if now is None:
        now = parse_stamp(conn.execute("SELECT created_at FROM needs WHERE id = ?", (need_id,)).fetchall()[0][0])
    loc = location_of(conn, compound_id)
    dept = department_for(category, loc, departments(conn)) if cfg.categories[category].route == "department" else None
    reg, assign = register(category, loc, dept, now, cfg)
    _append(conn, need_id, reg, SYSTEM, Role.SYSTEM, now, None, None)
    last = _append(conn, need_id, assign, SYSTEM, Role.SYSTEM, now, None, None)
    conn.execute(
        f"INSERT INTO need_state ({_STATE_COLS}) VALUES (?, ?, ?, ?, ?, 0, NULL, ?, ?, ?, ?, 0, ?)",
        (need_id, str(assign.to_state), assign.level, assign.unit, stamp(assign.deadline), category,
         loc.grid_code, loc.street, loc.district, last))
    return assign


def submit_need(conn: sqlite3.Connection, compound_id: str, category: str, text: str, contact: str | None,
                cfg: NeedsConfig, now: datetime | None = None):
    """Store a resident's need and register it in its workflow, in one transaction
    (``now``: the submission time, for simulations; default the clock)."""
    now = now or local_now()
    with transaction(conn):
        need = store.insert_need(conn, compound_id, category, text, contact, now=now)
        register_need(conn, need_id_of(need.reference), compound_id, category, now, cfg)
    return need


def register_unregistered(conn: sqlite3.Connection, now: datetime, cfg: NeedsConfig) -> int:
    """Register, as of ``now``, needs stored before the workflow existed (an older intake
    database), so none is left unworked; returns how many."""
    with transaction(conn):
        rows = conn.execute("SELECT n.id, n.compound_id, n.category FROM needs n LEFT JOIN need_state s"
                            " ON s.need_id = n.id WHERE s.need_id IS NULL ORDER BY n.id").fetchall()
        for need_id, compound_id, category in rows:
            register_need(conn, need_id, compound_id, category if category in cfg.categories else "其他", now, cfg)
    return len(rows)


def _apply(conn: sqlite3.Connection, need: NeedRow, out: Outcome, actor: Actor, capacity: Role, now: datetime,
           note: str | None, rating: str | None) -> int:
    last = _append(conn, need.need_id, out, actor, capacity, now, note, rating)
    escalated = out.action in (Action.ESCALATE, Action.OVERDUE)
    conn.execute(
        "UPDATE need_state SET state = ?, level = ?, unit = ?, deadline = ?, reopen_count = ?, resolved_by = ?,"
        " escalations = escalations + ?, last_event_id = ? WHERE need_id = ?",
        (str(out.to_state), out.level, out.unit, stamp(out.deadline) if out.deadline else None,
         out.reopen_count, out.resolved_by, int(escalated), last, need.need_id))
    return last


def act(conn: sqlite3.Connection, need_id: int, action: Action, actor: Actor, now: datetime, cfg: NeedsConfig, *,
        note: str | None = None, rating: str | None = None, target: tuple[str, str] | None = None) -> Outcome:
    """One action on one need, in its own transaction: checks the actor's capacity and the
    rules, appends the event and moves the cached state; :class:`Refused` otherwise."""
    with transaction(conn):
        need = load_need(conn, need_id)
        if need is None:
            raise Refused("unknown_need", "no such need", "没有这条需求")
        if actor.staff is not None:
            capacities = roles_of(actor.staff, need.view)
            # A staff action is decided in the capacity the table asks for, when they hold it.
            wanted = [r for r in (Role.HANDLER, Role.SUPERVISOR) if r in capacities]
            rule_roles = _rule_roles(need.view.state, action)
            capacity = next((r for r in wanted if r in rule_roles), wanted[0] if wanted else None)
            if capacity is None:
                raise Refused("not_your_need", "this need is not assigned to you or your area",
                              "此需求不在您的办理或监督范围内")
        else:
            capacity = Role.RESIDENT if actor.role == "resident" else Role.SYSTEM
        if target is not None and target[0] == "department" and target[1] not in {d.unit for d in departments(conn)}:
            raise Refused("bad_target", f"no department {target[1][:40]!r} in staff.csv", "没有这个职能部门")
        out = decide(need.view, action, capacity, now, cfg, note=note, rating=rating,
                     actor_id=actor.actor_id, target=target)
        _apply(conn, need, out, actor, capacity, now, note, rating)
    return out


def _rule_roles(state: State, action: Action) -> frozenset[Role]:
    rule = TRANSITIONS.get((state, action))
    return rule.roles if rule else frozenset()


def sweep_overdue(conn: sqlite3.Connection, now: datetime, cfg: NeedsConfig, batch: int = 500) -> int:
    """Escalate, one level each, the needs whose deadline passed while being handled;
    returns how many moved. Each batch is one transaction; cheap when none are due."""
    due = ("FROM need_state WHERE state IN ('assigned', 'in_progress') AND level <> 'city' AND deadline < ?")
    moved = 0
    # Most calls find nothing due: look before taking the write lock.
    while conn.execute(f"SELECT 1 {due} LIMIT 1", (stamp(now),)).fetchall():
        with transaction(conn):
            rows = conn.execute(f"SELECT {_STATE_COLS} {due} ORDER BY deadline LIMIT ?", (stamp(now), batch)).fetchall()
            for row in rows:
                need = _row_view(row)
                out = decide(need.view, Action.OVERDUE, Role.SYSTEM, now, cfg)
                _apply(conn, need, out, SYSTEM, Role.SYSTEM, now, None, None)
        moved += len(rows)
    return moved


# ---- reading -------------------------------------------------------------------------
@dataclass(frozen=True)
class Event(Outcome):
    """One appended step: what the action did (its outcome), who did it and when."""

    event_id: int
    at: datetime
    actor_id: str
    actor_role: str
    capacity: str
    note: str | None
    rating: str | None


def history(conn: sqlite3.Connection, need_id: int) -> list[Event]:
    """Every event of a need, oldest first."""
    rows = conn.execute(
        "SELECT action, from_state, to_state, level, unit, deadline, reopen_count, resolved_by,"
        " id, at, actor_id, actor_role, capacity, note, rating FROM need_events WHERE need_id = ? ORDER BY id",
        (need_id,)).fetchall()
    return [Event(Action(r[0]), State(r[1]) if r[1] else None, State(r[2]), r[3], r[4], parse_stamp(r[5]), *r[6:9],
                  parse_stamp(r[9]), *r[10:]) for r in rows]


def replay(events: list[Event]) -> tuple[State, str, str, datetime | None, int, str | None, int]:
    """The state a need is in, derived from its events alone: (state, level, unit,
    deadline, reopen_count, resolved_by, escalations). Raises if the chain is broken."""
    if not events or events[0].action is not Action.REGISTER or events[0].from_state is not None:
        raise ValueError("a need's history starts with its registration")
    state, escalations = None, 0
    for e in events:
        if e.from_state != state:
            raise ValueError(f"event {e.event_id} starts from {e.from_state}, the need was {state}")
        state = e.to_state
        escalations += e.action in (Action.ESCALATE, Action.OVERDUE)
    last = events[-1]
    return state, last.level, last.unit, last.deadline, last.reopen_count, last.resolved_by, escalations


def check_cache(conn: sqlite3.Connection, need_id: int) -> None:
    """Raise unless the cached state row equals the state replayed from the events."""
    need = load_need(conn, need_id)
    derived = replay(history(conn, need_id))
    v = need.view
    cached = (v.state, v.level, v.unit, v.deadline, v.reopen_count, v.resolved_by, need.escalations)
    if cached != derived:
        raise AssertionError(f"need {need_id}: cached {cached} != replayed {derived}")


@dataclass(frozen=True)
class NeedSummary:
    """One line of a queue: the need, where it is and how late."""

    need_id: int
    reference: str
    compound_id: str
    category: str
    created_at: str
    state: State
    level: str
    unit: str
    deadline: datetime | None
    overdue: bool
    grid_code: str | None
    street: str | None
    escalations: int


_SUMMARY = ("SELECT s.need_id, n.local_date, n.compound_id, s.category, n.created_at, s.state, s.level, s.unit,"
            " s.deadline, s.grid_code, s.street, s.escalations FROM need_state s JOIN needs n ON n.id = s.need_id")


def _summaries(rows, now: datetime) -> list[NeedSummary]:
    out = []
    for (need_id, day, cid, cat, created, state, level, unit, deadline, grid, street, escalations) in rows:
        dl = parse_stamp(deadline)
        st = State(state)
        out.append(NeedSummary(need_id, need_reference(day, need_id), cid, cat, created, st, level, unit, dl,
                               st in OPEN_STATES and dl is not None and now > dl, grid, street, escalations))
    return out


def _in(values) -> str:
    return ",".join("?" * len(values))


def queue(conn: sqlite3.Connection, staff: StaffView, now: datetime, limit: int = 100) -> dict[str, list[NeedSummary]]:
    """A staff member's queue: ``handle`` (needs assigned to their unit, earliest deadline
    first) and ``check`` (results waiting for their check, for supervisors)."""
    units = _handler_units(staff)
    handle: list = []
    if units:
        level, names = units
        handle = conn.execute(
            _SUMMARY + f" WHERE s.state IN ('assigned', 'in_progress') AND s.level = ? AND s.unit IN ({_in(names)})"
            " ORDER BY s.deadline LIMIT ?", (level, *names, limit)).fetchall()
    check: list = []
    area = _area_clause(staff)
    if area is not None and staff.role != "grid_worker":
        clause, params = area
        levels = {"street_supervisor": ("grid", "department", "street"),
                  "district_supervisor": ("grid", "department", "street", "district")}.get(
                      staff.role, ("grid", "department", "street", "district", "city"))
        check = conn.execute(
            _SUMMARY + f" WHERE s.state IN ('resolved', 'reopened') AND {clause} AND s.level IN ({_in(levels)})"
            " AND (coalesce(s.resolved_by, '') <> ? OR s.level = 'city') ORDER BY s.need_id LIMIT ?",
            (*params, *levels, staff.staff_id, limit)).fetchall()
    return {"handle": _summaries(handle, now), "check": _summaries(check, now)}


def _handler_units(staff: StaffView) -> tuple[str, list[str]] | None:
    if staff.role == "grid_worker":
        return "grid", sorted(staff.grids)
    if staff.role == "department":
        return ("department", [staff.unit]) if staff.unit else None
    if staff.role == "street_supervisor":
        return "street", sorted(staff.streets)
    if staff.role == "district_supervisor":
        return "district", sorted(staff.districts)
    if staff.role == "city_supervisor":
        return "city", [CITY_UNIT]
    return None


def _area_clause(staff: StaffView) -> tuple[str, tuple] | None:
    if staff.role == "grid_worker":
        return f"s.grid_code IN ({_in(staff.grids)})", tuple(sorted(staff.grids))
    if staff.role == "street_supervisor":
        return f"s.street IN ({_in(staff.streets)})", tuple(sorted(staff.streets))
    if staff.role == "district_supervisor":
        return f"s.district IN ({_in(staff.districts)})", tuple(sorted(staff.districts))
    if staff.role == "city_supervisor":
        return "1 = 1", ()
    return None


def area_overview(conn: sqlite3.Connection, staff: StaffView, now: datetime, limit: int = 50) -> dict:
    """A supervisor's view of their street or district: needs per state and level, and the
    overdue ones (earliest deadline first)."""
    area = _area_clause(staff)
    if area is None or staff.role in ("grid_worker", "department"):
        raise Refused("not_supervisor", "the area view is for street, district and city supervisors",
                      "区域总览仅对街道、区、市级督办人员开放")
    clause, params = area
    # Needs still in hand (rated ones are history, and counting them would read every need
    # of a district on every view).
    active = tuple(str(st) for st in State if st is not State.RATED)
    counts = conn.execute(f"SELECT s.state, s.level, count(*) FROM need_state s WHERE {clause}"
                          f" AND s.state IN ({_in(active)}) GROUP BY s.state, s.level ORDER BY s.state, s.level",
                          (*params, *active)).fetchall()
    overdue = conn.execute(
        _SUMMARY + f" WHERE s.state IN ('assigned', 'in_progress') AND {clause} AND s.deadline < ?"
        " ORDER BY s.deadline LIMIT ?", (*params, stamp(now), limit)).fetchall()
    return {"counts": counts, "overdue": _summaries(overdue, now)}


def summary(conn: sqlite3.Connection, need_id: int, now: datetime | None = None) -> NeedSummary | None:
    rows = conn.execute(_SUMMARY + " WHERE s.need_id = ?", (need_id,)).fetchall()
    return _summaries(rows, now or local_now())[0] if rows else None
