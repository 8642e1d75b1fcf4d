"""The staff pages against the service's clock: the queue in deadline order with overdue
ones marked, escalation seen by the level above at once, sessions that expire."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from intake.app import create_app
from intake.staff_auth import issue_token
from intake.workflow_config import load_needs_config
from intake.vocab import local_now
from tests.intake.workflow_city import city_db

CFG = load_needs_config()
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    """The staff pages' clock: starts now (needs are stamped by the real clock), tests move it."""

    def __init__(self):
        self.start = self.now = local_now()

    def __call__(self):
        return self.now


@pytest.fixture
def service(tmp_path):
    db = tmp_path / "intake.sqlite"
    conn = city_db(db)
    tokens = {s: issue_token(conn, s, CFG) for s in ("w1", "s1", "c1", "d1")}
    conn.close()
    clock = Clock()
    app = create_app(site_dir=None, db_path=db, rate_limit=None, clock=clock,
                     compound_ids=["XM-001", "XM-002", "XM-003", "XM-004", "XM-005"])
    with TestClient(app, base_url="http://testserver") as client:
        yield client, tokens, clock


def _sign_in(client: TestClient, token: str) -> None:
    client.cookies.clear()
    form = client.get("/staff/login")
    r = client.post("/staff/login", data={"token": token, "csrf": _CSRF.search(form.text).group(1)},
                    follow_redirects=False)
    assert r.status_code == 303


def _submit(client: TestClient, compound: str, category: str) -> str:
    # The staff cookie is scoped to /staff: this is any resident's post.
    r = client.post("/api/needs", json={"compound_id": compound, "category": category, "text": "需求内容"})
    assert r.status_code == 201
    return r.json()["reference"]


def test_queue_is_in_deadline_order_and_marks_overdue(service):
    client, tokens, clock = service
    slow = _submit(client, "XM-001", "其他")          # 5 working days
    urgent = _submit(client, "XM-001", "治安隐患")     # 24 hours
    middle = _submit(client, "XM-002", "邻里求助")     # 3 working days, grid Hd002: not w1's
    mine = _submit(client, "XM-001", "邻里求助")       # 3 working days
    _sign_in(client, tokens["w1"])
    page = client.get("/staff/queue").text
    handle = page[page.index('id="handle"'):]
    assert handle.index(urgent) < handle.index(mine) < handle.index(slow)
    assert middle not in page and "已超时" not in handle
    # A need with no grid, street or district known sits at the city level, which has nobody
    # above: past its deadline it stays and is marked.
    lost = _submit(client, "XM-005", "邻里求助")
    clock.now = clock.start + timedelta(days=7)
    _sign_in(client, tokens["c1"])
    page = client.get("/staff/queue").text
    line = page[page.index(lost):].split("</li>")[0]
    assert "已超时" in line
    area = client.get("/staff/area").text
    assert lost in area[area.index('id="overdue"'):]


def test_the_level_above_sees_a_missed_deadline_at_once(service):
    client, tokens, clock = service
    ref = _submit(client, "XM-001", "治安隐患")
    _sign_in(client, tokens["s1"])
    assert ref not in client.get("/staff/queue").text
    clock.now = clock.start + timedelta(hours=24, minutes=1)
    _sign_in(client, tokens["s1"])  # a new day, a new session
    page = client.get("/staff/queue").text  # no sweep ran in between: the page itself escalates
    line = page[page.index(ref):].split("</li>")[0]
    assert "街道 鹭江街道" in line and "已上报1次" in line and "已超时" not in line
    detail = client.get(f"/staff/needs/{ref}").text
    assert "超时自动上报" in detail and 'value="accept"' in detail
    # The grid worker still sees it, without the actions.
    _sign_in(client, tokens["w1"])
    detail = client.get(f"/staff/needs/{ref}").text
    assert detail.count('name="action"') == 0 and "超时自动上报" in detail


def test_sessions_expire_with_the_configured_length(service):
    client, tokens, clock = service
    _sign_in(client, tokens["d1"])
    clock.now = clock.start + timedelta(minutes=CFG.staff.session_minutes - 1)
    assert client.get("/staff/area").status_code == 200
    clock.now = clock.start + timedelta(minutes=CFG.staff.session_minutes + 1)
    r = client.get("/staff/area")
    assert r.status_code == 401 and "请先登录" in r.text


def test_the_service_escalates_overdue_needs_by_itself(tmp_path):
    """Nobody opens a page: the service's own sweep (interval from config) moves the need."""
    import asyncio

    import yaml

    from intake import workflow
    from intake.staff_pages import StaffPages
    from intake.workflow_config import DEFAULT_NEEDS, parse_needs_config

    raw = yaml.safe_load(DEFAULT_NEEDS.read_text(encoding="utf-8"))
    cfg = parse_needs_config({**raw, "staff": {**raw["staff"], "sweep_seconds": 1}})
    conn = city_db(tmp_path / "intake.sqlite")
    clock = Clock()
    need = workflow.submit_need(conn, "XM-001", "治安隐患", "门禁损坏", None, cfg, now=clock.now)
    clock.now += timedelta(hours=25)

    async def serve_a_while():
        async with StaffPages(conn, cfg, clock).sweeping():
            await asyncio.sleep(1.6)

    asyncio.run(serve_a_while())
    view = workflow.load_need(conn, workflow.need_id_of(need.reference)).view
    assert (view.level, view.unit) == ("street", "鹭江街道")
    conn.close()



def test_a_replayed_submission_is_registered_once(service, tmp_path):
    from intake import store, workflow

    client, _, _ = service
    body = {"compound_id": "XM-001", "category": "其他", "text": "重复提交"}
    headers = {"Idempotency-Key": "resident-retry-0001"}
    first = client.post("/api/needs", json=body, headers=headers)
    again = client.post("/api/needs", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["reference"] == again.json()["reference"]
    conn = store.connect(tmp_path / "intake.sqlite")
    history = workflow.history(conn, workflow.need_id_of(first.json()["reference"]))
    assert [e.action.value for e in history] == ["register", "assign"]
    assert conn.execute("SELECT count(*) FROM need_state").fetchone()[0] == 1
    conn.close()
