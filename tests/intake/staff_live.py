"""A live intake server with the tiny grid system loaded, and signed-in staff clients."""
from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest

from intake.staff_auth import issue_token
from intake.workflow_config import load_needs_config
from tests.intake.live import live_server
from tests.intake.workflow_city import STAFF, city_db

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class StaffServer:
    url: str
    db: object
    log: object
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def staff_server(site_dir, tmp_path_factory):
    """A real server on a fresh intake database holding the tiny grid system; every staff
    member of tests/intake/workflow_city.py has a sign-in token."""
    db = tmp_path_factory.mktemp("staff") / "intake.sqlite"
    conn = city_db(db)
    tokens = {sid: issue_token(conn, sid, load_needs_config()) for sid in STAFF["staff_id"].to_list()}
    conn.close()
    log = tmp_path_factory.mktemp("staff_logs") / "server.jsonl"
    with live_server(site_dir, db, log, "--no-rate-limit") as srv:
        yield StaffServer(srv.url, db, log, tokens)


def csrf_of(html: str) -> str:
    return _CSRF.search(html).group(1)


def sign_in(server: StaffServer, staff_id: str) -> httpx.Client:
    """An httpx client holding a live session of ``staff_id``."""
    client = httpx.Client(base_url=server.url, timeout=10)
    form = client.get("/staff/login")
    r = client.post("/staff/login", data={"token": server.tokens[staff_id], "csrf": csrf_of(form.text)})
    assert r.status_code == 303 and r.headers["location"] == "/staff/queue", r.text
    return client


def submit(server: StaffServer, compound_id: str = "XM-001", category: str = "邻里求助",
           text: str = "三号楼楼道灯坏了", contact: str | None = "13912345678") -> dict:
    """A resident's need through the public API: its reference and receipt link."""
    body = {"compound_id": compound_id, "category": category, "text": text}
    if contact:
        body["contact"] = contact
    r = httpx.post(server.url + "/api/needs", json=body, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def act(client: httpx.Client, reference: str, action: str, **fields) -> httpx.Response:
    """Do an action from the need's page, with the page's CSRF token."""
    page = client.get(f"/staff/needs/{reference}")
    assert page.status_code == 200, page.text
    return client.post(f"/staff/needs/{reference}", data={"csrf": csrf_of(page.text), "action": action, **fields})
