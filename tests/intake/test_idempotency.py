"""Retries and replays (issue 16, item 3): an Idempotency-Key gives the same receipt, and a
check-in counts once per officer, compound and kind in the configured interval."""
from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from intake.app import create_app
from governance.figures import intake_counts
from intake.export import read_intake_tables
from intake.settings import load_intake_settings
from intake.tokens import add_officer
from intake.vocab import local_now
from reports.site import render
from reports.site_store import Publication
from tests.site import frames

NEED = {"compound_id": "A", "category": "治安隐患", "text": "楼道灯坏了"}
KEY = "3f6c1b8e-2d4a-4f1e-9a7b-5c2d8e1f0a93"


@pytest.fixture
def app(tmp_path):
    db = tmp_path / "intake.sqlite"
    token = add_officer(db, "officer-1", "王警官")
    app = create_app(site_dir=None, db_path=db, compound_ids=["A", "B"], rate_limit=None)
    with TestClient(app) as client:
        yield client, db, {"Authorization": f"Bearer {token}"}


def _count(db, table):
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_retried_need_gets_the_same_receipt(app):
    """Finding: a client that retries after a dropped response duplicated its need."""
    client, db, _ = app
    first = client.post("/api/needs", json=NEED, headers={"Idempotency-Key": KEY})
    again = client.post("/api/needs", json=NEED, headers={"Idempotency-Key": KEY})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    # The same fields as a form post with the key in a field: still the same need.
    form = client.post("/api/needs", data={**NEED, "idempotency_key": KEY}, headers={"Accept": "application/json"})
    assert form.json()["reference"] == first.json()["reference"]
    assert _count(db, "needs") == 1
    changed = client.post("/api/needs", json={**NEED, "text": "另一件事"}, headers={"Idempotency-Key": KEY})
    assert changed.status_code == 422 and changed.json()["error"] == "idempotency_key_reused"
    # Without a key every post is a new need; a malformed key is refused, not ignored.
    assert client.post("/api/needs", json=NEED).json()["reference"] != first.json()["reference"]
    assert client.post("/api/needs", json=NEED, headers={"Idempotency-Key": "short"}).status_code == 422
    assert client.post("/api/needs", json=NEED, headers={"Idempotency-Key": "x" * 20 + " <"}).status_code == 422
    assert _count(db, "needs") == 2


def test_a_check_in_counts_once_per_officer_compound_and_kind_in_the_interval(app):
    client, db, auth = app
    body = {"compound_id": "A", "kind": "法治宣传"}
    first = client.post("/api/checkins", json=body, headers=auth)
    assert first.status_code == 201 and first.json()["counted"] is True
    keyed = {**auth, "Idempotency-Key": KEY}
    replays = [client.post("/api/checkins", json=body, headers=keyed) for _ in range(50)]
    assert {r.status_code for r in replays} == {200}
    assert {r.json()["checkin_id"] for r in replays} == {first.json()["checkin_id"]}
    assert not any(r.json()["counted"] for r in replays)
    assert client.post("/api/checkins", json={**body, "kind": "矛盾调解"}, headers=keyed).status_code == 422
    # Another kind, or another compound, is another service.
    assert client.post("/api/checkins", json={**body, "kind": "矛盾调解"}, headers=auth).json()["counted"]
    assert client.post("/api/checkins", json={**body, "compound_id": "B"}, headers=auth).json()["counted"]
    assert _count(db, "checkins") == 3
    # Once the interval has passed, the same service counts again.
    hours = load_intake_settings().checkins.count_interval_hours
    earlier = (local_now() - timedelta(hours=hours, minutes=1)).isoformat(timespec="seconds")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE checkins SET created_at = ? WHERE compound_id = 'A' AND kind = '法治宣传'", (earlier,))
    again = client.post("/api/checkins", json=body, headers=auth)
    assert again.status_code == 201 and again.json()["counted"] and _count(db, "checkins") == 4


def test_a_replayed_check_in_counts_once_on_the_public_page(tmp_path):
    """Finding: a replayed check-in counted 50 times on the public page."""
    db = tmp_path / "intake.sqlite"
    token = add_officer(db, "officer-1", "王警官")
    app = create_app(site_dir=None, db_path=db, compound_ids=["XM-002"], rate_limit=None)
    with TestClient(app) as client:
        for _ in range(50):  # a captured request sent again and again, without a key
            r = client.post("/api/checkins", json={"compound_id": "XM-002", "kind": "治安巡防"},
                            headers={"Authorization": f"Bearer {token}"})
            assert r.status_code in (200, 201)
    day = local_now().date()
    tables = read_intake_tables(db, day)  # as the nightly run reads it (marts.intake_counts)
    checkins = intake_counts(tables["needs"], tables["checkins"], day).select(
        "compound_id", n_month="n_checkins_month")
    assert checkins.rows() == [("XM-002", 1)]
    figures = frames.need_figures(needs={}, checkins=dict(checkins.rows()))
    page = render(Publication(frames.publication(tmp_path / "pub", needs=figures)), "/c/XM-002.html").body
    assert '<td class="n" id="visits">少量 次</td>' in page  # one check-in, under the threshold (not 50)
