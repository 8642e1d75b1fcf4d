"""A resident's need reaches the public page as a count only: its text, the contact and
the reference number stay in the intake service. Three needs with planted text and contacts
go through the intake service and the nightly run's figures into the publication file."""
from __future__ import annotations

from datetime import datetime, time

from starlette.testclient import TestClient

from governance.config import load_governance_config
from governance.figures import compound_month_figures, local_datetime, need_facts
from intake.app import create_app
from intake.export import read_intake_tables
from intake.vocab import local_now
from reports.site import render
from reports.site_store import Publication
from tests.privacy import scan_for
from tests.site import frames

TEXT, PHONE = "三号楼二单元的欧阳先生家门口常有人徘徊", "13912345678"


def test_a_needs_text_and_contact_never_reach_the_public_page(tmp_path):
    db = tmp_path / "intake.sqlite"
    app = create_app(site_dir=None, db_path=db, compound_ids=["XM-001"], rate_limit=None)
    with TestClient(app) as client:
        references = []
        for i in range(3):
            r = client.post("/api/needs", json={"compound_id": "XM-001", "category": "治安隐患",
                                                "text": f"{TEXT}{i}", "contact": PHONE})
            assert r.status_code in (200, 201), r.text
            references.append(r.json()["reference"])
    # the nightly run's way (assets.governance.need_figures): a read-only snapshot, facts, figures
    day = local_now().date()
    tables = read_intake_tables(db, day)
    events = tables["need_events"].with_columns(local_datetime("at"), local_datetime("deadline"))
    figures = compound_month_figures(
        need_facts(tables["needs"], events, datetime.combine(day, time.max)), events,
        tables["checkins"].with_columns(local_datetime("at")), frames.compounds()["compound_id"], day,
        load_governance_config().satisfied, 3)
    path = frames.publication(tmp_path / "pub", as_of=day, needs=figures)
    html = render(Publication(path), "/c/XM-001.html").body
    assert '<td class="n" id="need-received">3 件</td>' in html  # the needs were counted ...
    needles = [TEXT, PHONE, *references]
    assert not [n for n in needles if n in html]  # ... and nothing else of them is on the page
    assert scan_for([path], needles) == []  # nor anywhere in the publication file
    assert scan_for([db], [TEXT, PHONE]) != []  # the planted strings are real: the intake holds them
