"""Stateful property test of the need workflow on a real intake database: random sequences
of submissions, staff and resident actions, clock jumps and overdue sweeps never reach a
state the rules forbid; every need is in exactly one state, the cached state equals the
one replayed from the events, and deadlines and escalations follow config/needs.yaml."""
from __future__ import annotations

import itertools
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from intake import workflow
from intake.staff_directory import staff_view
from intake.vocab import NEED_CATEGORIES
from intake.workflow_config import LEVELS, load_needs_config
from intake.workflow_rules import (OPEN_STATES, STAFF_ACTIONS, TRANSITIONS, Action, Refused, State, add_limit,
                                   allowed_actions, is_checker, is_handler, roles_of, unit_at)
from tests.intake.workflow_city import REGISTRY, STAFF, T0, city_db

CFG = load_needs_config()
STAFF_IDS = STAFF["staff_id"].to_list()
_dbs = itertools.count()


class NeedWorkflow(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.conn = city_db(Path(self.dir.name) / f"w{next(_dbs)}.sqlite")
        self.now = T0
        self.needs: list[int] = []

    def teardown(self):
        self.conn.close()
        self.dir.cleanup()

    def _events(self) -> int:
        return self.conn.execute("SELECT count(*) FROM need_events").fetchall()[0][0]

    @precondition(lambda self: len(self.needs) < 4)
    @rule(compound=st.sampled_from(REGISTRY["compound_id"].to_list()), category=st.sampled_from(NEED_CATEGORIES))
    def submit(self, compound, category):
        need = workflow.submit_need(self.conn, compound, category, "楼道灯坏了", None, CFG, now=self.now)
        self.needs.append(workflow.need_id_of(need.reference))

    @rule(hours=st.sampled_from([1, 5, 13, 25, 49, 100]))
    def wait(self, hours):
        self.now += timedelta(hours=hours)

    @rule()
    def sweep(self):
        workflow.sweep_overdue(self.conn, self.now, CFG)
        due = self.conn.execute(
            "SELECT count(*) FROM need_state WHERE state IN ('assigned', 'in_progress') AND level <> 'city'"
            " AND deadline < ?", (workflow.stamp(self.now),)).fetchall()[0][0]
        assert due == 0

    @precondition(lambda self: self.needs)
    @rule(data=st.data(), staff_id=st.sampled_from(STAFF_IDS), action=st.sampled_from(STAFF_ACTIONS),
          note=st.sampled_from(["", "已联系物业处理"]), to=st.sampled_from(
              [None, ("grid", "Hd001"), ("grid", "He001"), ("department", "鹭江派出所"), ("city", "全市")]))
    def staff_acts(self, data, staff_id, action, note, to):
        need_id = data.draw(st.sampled_from(self.needs))
        staff = staff_view(self.conn, staff_id)
        before_row = workflow.load_need(self.conn, need_id)
        before = self._events()
        actor = workflow.Actor(staff_id, staff.role, staff)
        try:
            out = workflow.act(self.conn, need_id, action, actor, self.now, CFG, note=note, target=to)
        except Refused as refused:
            assert refused.zh and refused.en
            assert self._events() == before
            assert workflow.load_need(self.conn, need_id) == before_row
            return
        assert self._events() == before + 1
        view = before_row.view
        rule_ = TRANSITIONS[(view.state, action)]
        # Only someone in the capacity the table names could do it.
        capacities = {"handler": is_handler(staff, view), "supervisor": is_checker(staff, view)}
        assert any(capacities[str(r)] for r in rule_.roles)
        assert note or not rule_.needs_note
        if action is Action.CLOSE:
            assert view.resolved_by != staff_id or view.level == "city"

    @precondition(lambda self: self.needs)
    @rule(data=st.data(), steps=st.integers(1, 8))
    def someone_moves_it_on(self, data, steps):
        """Someone allowed to act does, a few times (so sequences reach the later states)."""
        views = {sid: staff_view(self.conn, sid) for sid in STAFF_IDS}
        for _ in range(steps):
            need_id = data.draw(st.sampled_from(self.needs))
            need = workflow.load_need(self.conn, need_id).view
            moves = [(sid, a) for sid, staff in views.items()
                     for a in allowed_actions(need, roles_of(staff, need), CFG, sid) if a is not Action.TRANSFER]
            if need.state is State.CLOSED:
                moves += [("resident", Action.RATE)]
            if not moves:
                continue
            actor_id, action = data.draw(st.sampled_from(moves))
            if actor_id == "resident":
                self.resident_rates(data, data.draw(st.sampled_from(CFG.rating.choices[::-1])), need_id)
                continue
            staff = views[actor_id]
            out = workflow.act(self.conn, need_id, action, workflow.Actor(actor_id, staff.role, staff), self.now,
                               CFG, note="已处置")
            assert out.to_state is TRANSITIONS[(need.state, action)].to

    @precondition(lambda self: self.needs)
    @rule(data=st.data(), rating=st.sampled_from(list(CFG.rating.choices) + ["很好"]))
    def resident_rates(self, data, rating, need_id=None):
        need_id = need_id or data.draw(st.sampled_from(self.needs))
        before = workflow.load_need(self.conn, need_id)
        try:
            out = workflow.act(self.conn, need_id, Action.RATE, workflow.RESIDENT, self.now, CFG, rating=rating)
        except Refused:
            assert workflow.load_need(self.conn, need_id) == before
            return
        assert before.view.state is State.CLOSED and rating in CFG.rating.choices
        reopen = rating == CFG.rating.reopens and before.view.reopen_count < CFG.rating.max_reopen
        assert out.to_state is (State.REOPENED if reopen else State.RATED)

    @invariant()
    def one_state_each_and_cache_matches_events(self):
        rows = self.conn.execute("SELECT need_id, state FROM need_state ORDER BY need_id").fetchall()
        assert [r[0] for r in rows] == sorted(self.needs)
        assert all(r[1] in {s.value for s in State} for r in rows)
        for need_id in self.needs:
            workflow.check_cache(self.conn, need_id)

    @invariant()
    def histories_follow_the_rules(self):
        for need_id in self.needs:
            events = workflow.history(self.conn, need_id)
            created = events[0].at
            view = workflow.load_need(self.conn, need_id).view
            category, loc = view.category, view.location
            assert events[0].deadline == add_limit(created, CFG.categories[category], CFG.holidays)
            assert [e.action for e in events[:2]] == [Action.REGISTER, Action.ASSIGN]
            previous = events[0]
            reopens = 0
            for e in events[1:]:
                rule_ = TRANSITIONS.get((e.from_state, e.action))
                assert rule_ is not None, (e.from_state, e.action)
                if e.action is Action.RATE and e.to_state is State.REOPENED:
                    reopens += 1
                else:
                    assert e.to_state is rule_.to
                assert e.at >= previous.at
                if e.action in (Action.ESCALATE, Action.OVERDUE):
                    # One level up (a department hands to the configured level), new limit from config.
                    start = (LEVELS.index(CFG.escalation.department_escalates_to) if previous.level == "department"
                             else LEVELS.index(previous.level) + 1)
                    assert e.level in LEVELS[start:] and previous.level != "city"
                    skipped = LEVELS[start:LEVELS.index(e.level)]
                    # A level is skipped only when the compound has no unit there.
                    assert all(unit_at(lv, loc) is None for lv in skipped)
                    assert e.deadline == e.at + timedelta(hours=CFG.escalation.hours)
                if e.action is Action.OVERDUE:
                    assert previous.to_state in OPEN_STATES and e.at > previous.deadline
                    assert e.actor_id == "system"
                if e.action is Action.SEND_BACK:
                    assert e.deadline == add_limit(e.at, CFG.send_back, CFG.holidays)
                if e.action not in (Action.ESCALATE, Action.OVERDUE, Action.SEND_BACK, Action.REGISTER):
                    assert e.deadline == previous.deadline
                if e.to_state is State.RATED:
                    assert e.rating in CFG.rating.choices
                previous = e
            assert reopens <= CFG.rating.max_reopen


NeedWorkflow.TestCase.settings = settings(max_examples=50, stateful_step_count=40, derandomize=True,
                                          deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestNeedWorkflow = NeedWorkflow.TestCase
