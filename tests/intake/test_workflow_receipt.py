"""The resident's side on a real server: the receipt shows the timeline and the result,
never who handled it or their notes; rating from the receipt link, 不满意 reopens once;
escalations by missed deadlines reach the level above at once."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta

import httpx

from intake.vocab import local_now
from tests.intake.live import ROOT
from tests.intake.staff_live import act, sign_in, staff_server, submit  # noqa: F401 (fixture)


def _rate(server, need: dict, rating: str, key: str | None = None) -> httpx.Response:
    good_key = need["receipt_url"].split("key=")[1]
    return httpx.post(f"{server.url}/api/needs/{need['reference']}/rating",
                      data={"key": key if key is not None else good_key, "rating": rating}, timeout=10)


def _receipt(server, need: dict) -> str:
    r = httpx.get(server.url + need["receipt_url"], timeout=10)
    assert r.status_code == 200
    return r.text


def _state(server, need: dict) -> str:
    with sqlite3.connect(server.db) as conn:
        return conn.execute("SELECT state FROM need_state WHERE need_id = ?",
                            (int(need["reference"].split("-")[1]),)).fetchone()[0]


def test_the_whole_loop_from_the_residents_side(staff_server):
    need = submit(staff_server, text="小区门口路灯不亮<script>alert(1)</script>")
    page = _receipt(staff_server, need)
    assert "受理登记" in page and "分派至网格员办理" in page and 'id="rating"' not in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    # Rating before the need is closed is refused, and leaves it as it was.
    assert _rate(staff_server, need, "满意").status_code == 409 and _state(staff_server, need) == "assigned"
    worker, street = sign_in(staff_server, "w1"), sign_in(staff_server, "s1")
    detail = worker.get(f"/staff/needs/{need['reference']}").text
    assert "<script>alert(1)" not in detail and "&lt;script&gt;alert(1)" in detail
    assert act(worker, need["reference"], "accept").status_code == 303
    assert act(worker, need["reference"], "record", note="联系物业 张师傅 <img src=x onerror=alert(1)>").status_code == 303
    assert "<img src=x" not in worker.get(f"/staff/needs/{need['reference']}").text
    assert act(worker, need["reference"], "resolve", note="已更换灯泡<b>").status_code == 303
    page = _receipt(staff_server, need)
    assert "已更换灯泡&lt;b&gt;" in page and "反馈办理结果" in page
    assert "张师傅" not in page and "网格员甲" not in page and "街道督办" not in page
    assert act(street, need["reference"], "close").status_code == 303
    page = _receipt(staff_server, need)
    assert 'id="rating"' in page and all(c in page for c in ("满意", "基本满意", "不满意"))
    # Wrong key: nothing changes; unknown choice: refused.
    assert _rate(staff_server, need, "满意", key="wrong-key").status_code == 404
    assert _rate(staff_server, need, "非常满意").status_code == 422
    assert _state(staff_server, need) == "closed"
    # 不满意 reopens it once, for the supervisor.
    r = _rate(staff_server, need, "不满意")
    assert r.status_code == 303 and _state(staff_server, need) == "reopened"
    assert need["reference"] in street.get("/staff/queue").text
    assert act(street, need["reference"], "send_back", note="请再核实").status_code == 303
    assert act(worker, need["reference"], "resolve", note="已加装感应灯").status_code == 303
    assert act(street, need["reference"], "close").status_code == 303
    assert "已加装感应灯" in _receipt(staff_server, need)
    # The second 不满意 is recorded as the rating: the need does not reopen again.
    assert _rate(staff_server, need, "不满意").status_code == 303 and _state(staff_server, need) == "rated"
    page = _receipt(staff_server, need)
    assert page.count("居民评价：不满意") == 2 and 'id="rating"' not in page
    assert _rate(staff_server, need, "满意").status_code == 409
    worker.close(), street.close()


def test_a_missed_deadline_escalates_once_and_the_street_sees_it_at_once(staff_server):
    need = submit(staff_server, compound_id="XM-003", category="治安隐患", text="暗号-overdue 单元门禁损坏")
    worker, street = sign_in(staff_server, "w3"), sign_in(staff_server, "s2")
    assert act(worker, need["reference"], "accept").status_code == 303
    assert need["reference"] not in street.get("/staff/queue").text
    # 治安隐患 has 24 hours; the sweep (here as the operator's CLI, at a later time) moves it once.
    later = (local_now() + timedelta(hours=25)).isoformat(timespec="seconds")
    out = subprocess.run([sys.executable, "-m", "intake", "staff", "sweep", "--db", str(staff_server.db),
                          "--at", later], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.startswith("1 overdue")
    again = subprocess.run([sys.executable, "-m", "intake", "staff", "sweep", "--db", str(staff_server.db),
                            "--at", later], cwd=ROOT, capture_output=True, text=True, check=True)
    assert again.stdout.startswith("0 overdue")  # one level per missed deadline, not one per sweep
    assert _state(staff_server, need) == "assigned"
    queue = street.get("/staff/queue").text
    assert need["reference"] in queue
    detail = street.get(f"/staff/needs/{need['reference']}").text
    assert "超时自动上报" in detail and "街道 滨海街道" in detail
    # The worker still sees it (their grid) but may no longer act on it.
    assert worker.get(f"/staff/needs/{need['reference']}").status_code == 200
    assert act(worker, need["reference"], "resolve", note="x").status_code == 403
    assert "超过办理期限，自动上报至街道" in _receipt(staff_server, need)
    worker.close(), street.close()


def test_department_categories_go_straight_to_the_department(staff_server):
    need = submit(staff_server, compound_id="XM-001", category="防范诈骗", text="有人上门推销假药")
    police, worker = sign_in(staff_server, "p1"), sign_in(staff_server, "w1")
    assert need["reference"] in police.get("/staff/queue").text
    assert need["reference"] not in worker.get("/staff/queue").text
    # A department that does not exist, or no reason: refused with a clear message.
    r = act(police, need["reference"], "transfer", note="转交", target="department:不存在的部门")
    assert r.status_code == 409 and "没有这个职能部门" in r.text
    r = act(police, need["reference"], "transfer", note="", target="grid:Hd001")
    assert r.status_code == 409 and "须填写说明" in r.text
    # The department hands it back to the grid with a reason.
    r = act(police, need["reference"], "transfer", note="非诈骗，属邻里事务", target="grid:Hd001")
    assert r.status_code == 303
    assert need["reference"] in worker.get("/staff/queue").text
    assert "转至网格员办理" in _receipt(staff_server, need)
    police.close(), worker.close()
