"""The demo city's closed loop: residents' needs and the staff's handling over the last months.

Needs are submitted and handled through the intake service's own workflow
(``intake.workflow``: submit, act, the overdue sweep) on a simulated clock, so the demo's
intake database holds what the service would have recorded: most needs handled in time and
closed, some escalated by a missed deadline or a call for help, some sent back, some rated
不满意 and reopened, the newest still open; and officers' check-ins. The same seed and city
give the same needs, times, actions and states (receipt keys are random, as in the service).
"""
from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from intake import store
from intake.settings import load_intake_settings
from intake.staff_directory import load_directory, read_staff, staff_view
from intake.vocab import CHECKIN_KINDS, LOCAL_TZ, NEED_CATEGORIES
from intake.workflow import RESIDENT, Actor, act, load_need, need_id_of, submit_need, sweep_overdue
from intake.workflow_config import NeedsConfig, load_needs_config
from intake.workflow_rules import Action, Refused, State, is_checker

# How needs go, with their shares (drawn per need; the newest stay open whatever they drew).
OUTCOMES = {"on_time": 0.62, "late": 0.12, "help": 0.07, "sent_back": 0.06, "reopened": 0.07, "open": 0.06}
CATEGORY_WEIGHTS = {"治安隐患": 0.24, "矛盾纠纷": 0.2, "防范诈骗": 0.1, "消防安全": 0.12, "邻里求助": 0.16,
                    "法律咨询": 0.1, "其他": 0.08}
TEXTS = {
    "治安隐患": ["楼道灯坏了，晚上看不清", "小区后门门禁损坏，外来人员随意进出", "地下车库监控不亮", "围墙有缺口"],
    "矛盾纠纷": ["楼上漏水，和邻居协商不成", "车位被长期占用", "装修噪音影响休息", "物业费争议"],
    "防范诈骗": ["收到冒充客服的电话，想了解如何防范", "老人被拉进理财群", "有人在小区推销保健品"],
    "消防安全": ["楼道堆放杂物堵住通道", "电动车在楼道充电", "消防栓没有水"],
    "邻里求助": ["独居老人需要帮忙", "小区路面积水", "流浪犬伤人隐患"],
    "法律咨询": ["租房合同纠纷想咨询", "工资被拖欠怎么办", "遗产继承问题"],
    "其他": ["希望增加夜间巡逻", "建议在路口增设路灯", "希望开展防诈骗宣传"],
}
RATINGS = ("满意", "基本满意", "不满意")


@dataclass(order=True)
class _Step:
    """A step someone will try on a need at a time (ordered by time, then need)."""

    at: datetime
    need: int
    action: str
    rating: str | None = None


def simulate_needs(data_dir: Path, db_path: Path, *, end: date, start: date, seed: int = 7,
                   per_compound_day: float = 0.01, cfg: NeedsConfig | None = None,
                   progress: Callable[[str], None] | None = None) -> dict:
    """Fill the intake database ``db_path`` with the needs and check-ins of ``start``..``end``
    (local days) of the city in ``data_dir``; returns counts per final state."""
    say = progress or (lambda _m: None)
    cfg = cfg or load_needs_config()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 18]))
    registry = pl.read_csv(data_dir / "compounds.csv", infer_schema_length=0)
    staff = read_staff(data_dir / "staff.csv")
    conn = store.connect(db_path)
    try:
        load_directory(conn, staff, registry)
        actors = _Actors(conn, staff)
        days = (end - start).days + 1
        n_needs = rng.poisson(per_compound_day * registry.height, days)
        weight = registry["households"].cast(pl.Float64, strict=False).fill_null(100.0).to_numpy()
        weight = weight / weight.sum()
        cats = list(CATEGORY_WEIGHTS)
        cat_p = np.array([CATEGORY_WEIGHTS[c] for c in cats])
        say(f"needs: simulating {int(n_needs.sum())} needs from {start} to {end}")
        arrivals = []
        for d in range(days):
            day = start + timedelta(days=d)
            for _ in range(int(n_needs[d])):
                at = _local(day, rng.uniform(7.5, 21.5))
                compound = registry["compound_id"][int(rng.choice(registry.height, p=weight))]
                category = cats[int(rng.choice(len(cats), p=cat_p / cat_p.sum()))]
                texts = TEXTS[category]
                text = texts[int(rng.integers(len(texts)))]
                contact = f"1{int(rng.integers(30, 90))}{int(rng.integers(0, 10**8)):08d}" if rng.random() < 0.7 else None
                outcome = list(OUTCOMES)[int(rng.choice(len(OUTCOMES), p=list(OUTCOMES.values())))]
                arrivals.append((at, compound, category, text, contact, outcome, rng.random(6)))
        arrivals.sort(key=lambda a: a[0])
        last = _local(end, 23.99)
        clock_hours = _hourly(_local(start, 0), last)
        # Needs arrive in time order; each brings its planned steps, which run in time order
        # with the others and with the hourly overdue sweep.
        queue: list[_Step] = []
        ids: dict[int, int] = {}
        for k, (at, compound, category, text, contact, outcome, u) in enumerate(arrivals):
            while queue and queue[0].at <= at:
                _run(conn, heapq.heappop(queue), ids, actors, cfg, clock_hours)
            need = submit_need(conn, compound, category, text, contact, cfg, now=at)
            ids[k] = need_id_of(need.reference)
            for step in _plan(k, at, outcome, u, rng):
                if step.at <= last:
                    heapq.heappush(queue, step)
        while queue and queue[0].at <= last:
            _run(conn, heapq.heappop(queue), ids, actors, cfg, clock_hours)
        _sweep_until(conn, last, cfg, clock_hours)
        _checkins(conn, registry, rng, start, end)
        states = dict(conn.execute("SELECT state, count(*) FROM need_state GROUP BY state ORDER BY state").fetchall())
    finally:
        conn.close()
    say(f"needs: {sum(states.values())} needs, by state {states}")
    return states


def _local(day: date, hours: float) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ) + timedelta(seconds=int(hours * 3600))


def _hourly(first: datetime, last: datetime) -> list[datetime]:
    """The sweep's ticks, latest first (popped from the end as the clock moves on)."""
    ticks, t = [], first
    while t <= last:
        ticks.append(t)
        t += timedelta(hours=1)
    return ticks[::-1]


def _sweep_until(conn: sqlite3.Connection, now: datetime, cfg: NeedsConfig, ticks: list[datetime]) -> None:
    while ticks and ticks[-1] <= now:
        sweep_overdue(conn, ticks.pop(), cfg)


def _plan(k: int, at: datetime, outcome: str, u: np.ndarray, rng: np.random.Generator) -> list[_Step]:
    """The steps someone will try on need ``k``; whoever holds the need then takes them."""
    h = lambda hours: at + timedelta(hours=float(hours))  # noqa: E731
    if outcome == "open":
        return [_Step(h(1 + 3 * u[0]), k, "accept")]
    if outcome == "late":  # nobody takes it before its deadline: the sweep sends it up a level
        accept = h(80 + 40 * u[0])
    else:
        accept = h(0.5 + 3 * u[0])
    steps = [_Step(accept, k, "accept"), _Step(accept + timedelta(hours=1 + 2 * u[1]), k, "record")]
    t = accept + timedelta(hours=3 + 6 * u[1])
    if outcome == "help":
        steps.append(_Step(t, k, "escalate"))
        t += timedelta(hours=2)
        steps.append(_Step(t, k, "accept"))
        t += timedelta(hours=4 + 4 * u[2])
    steps.append(_Step(t, k, "resolve"))
    t += timedelta(hours=6 + 12 * u[3])
    if outcome == "sent_back":
        steps.append(_Step(t, k, "send_back"))
        t += timedelta(hours=4 + 8 * u[4])
        steps.append(_Step(t, k, "resolve"))
        t += timedelta(hours=6)
    steps.append(_Step(t, k, "close"))
    t += timedelta(hours=8 + 30 * u[5])
    rating = "不满意" if outcome == "reopened" else "满意" if u[4] < 0.75 else "基本满意" if u[4] < 0.95 else "不满意"
    if rating == "不满意":  # reopened for the supervisor, who closes it again; the resident rates once more
        steps += [_Step(t, k, "rate", "不满意"), _Step(t + timedelta(hours=20), k, "close"),
                  _Step(t + timedelta(hours=40), k, "rate", RATINGS[int(rng.integers(0, 3))])]
    elif u[5] < 0.85:  # most residents rate
        steps.append(_Step(t, k, "rate", rating))
    return steps


class _Actors:
    """Who takes a step: the need's current handler unit, or a supervisor who may check it."""

    def __init__(self, conn: sqlite3.Connection, staff: pl.DataFrame) -> None:
        self.conn = conn
        self.by_unit: dict[tuple[str, str], list[str]] = {}
        for r in staff.iter_rows(named=True):
            role, ident = r["role"], r["staff_id"]
            keys = {"grid_worker": [("grid", g) for g in (r["grids"] or "").split("|") if g],
                    "department": [("department", r["unit"])],
                    "street_supervisor": [("street", s) for s in (r["streets"] or "").split("|") if s],
                    "district_supervisor": [("district", d) for d in (r["districts"] or "").split("|") if d],
                    "city_supervisor": [("city", "全市")]}.get(role, [])
            for key in keys:
                self.by_unit.setdefault(key, []).append(ident)
        self._views: dict[str, Actor] = {}

    def actor(self, staff_id: str) -> Actor:
        if staff_id not in self._views:
            view = staff_view(self.conn, staff_id)
            self._views[staff_id] = Actor(staff_id, view.role, view)
        return self._views[staff_id]

    def handler(self, level: str, unit: str) -> Actor | None:
        idents = self.by_unit.get((level, unit))
        return self.actor(idents[0]) if idents else None

    def checker(self, need) -> Actor | None:
        """The most local supervisor who may check the need and did not record its result."""
        loc = need.view.location
        for key in (("street", loc.street), ("district", loc.district), ("city", "全市")):
            for ident in self.by_unit.get(key, []):
                if ident != need.view.resolved_by and is_checker(self.actor(ident).staff, need.view):
                    return self.actor(ident)
        return None


NOTES = {"record": "已到现场了解情况", "escalate": "需要街道协调相关部门", "resolve": "已处理完毕，已回访说明",
         "send_back": "处理结果不完整，请补充"}


def _run(conn, step: _Step, ids: dict[int, int], actors: _Actors, cfg: NeedsConfig, ticks: list[datetime]) -> None:
    """Take one planned step, if the need's state still allows it (a step overtaken by
    events — e.g. an accept after the sweep already moved the need — falls to whoever holds it)."""
    _sweep_until(conn, step.at, cfg, ticks)
    need_id = ids[step.need]
    need = load_need(conn, need_id)
    action = Action(step.action)
    if action is Action.RATE:
        actor = RESIDENT
    elif action in (Action.CLOSE, Action.SEND_BACK):
        actor = actors.checker(need)
    else:
        actor = actors.handler(need.view.level, need.view.unit)
    if actor is None:
        return
    if action is Action.ACCEPT and need.view.state is State.IN_PROGRESS:
        return  # already taken
    try:
        act(conn, need_id, action, actor, step.at, cfg, note=NOTES.get(step.action), rating=step.rating)
    except Refused:
        pass  # the need moved on (escalated, already closed): the planned step no longer applies


def _checkins(conn: sqlite3.Connection, registry: pl.DataFrame, rng: np.random.Generator, start: date,
              end: date) -> None:
    """Officers' check-ins (报到): a few per day across the city, each at one compound (a
    repeat within the service's counting interval is stored once, as the service does)."""
    interval = timedelta(hours=load_intake_settings().checkins.count_interval_hours)
    days = (end - start).days + 1
    for d in range(days):
        day = start + timedelta(days=d)
        for _ in range(int(rng.poisson(max(1.0, registry.height / 150)))):
            compound = registry["compound_id"][int(rng.integers(registry.height))]
            officer = f"officer-{int(rng.integers(1, 60)):03d}"
            kind = CHECKIN_KINDS[int(rng.integers(len(CHECKIN_KINDS)))]
            store.insert_checkin(conn, officer, compound, kind, None, interval, now=_local(day, rng.uniform(9, 18)))
