"""Several worker processes on one port (config ``workers``): connections are spread over
them, the limits hold over all of them together, and the service stops as one."""
from __future__ import annotations

import json
import os
import signal
import time

import httpx
import pytest

from intake.settings import load_intake_settings
from tests.intake.live import live_server

NEED = {"compound_id": "XM-001", "category": "治安隐患", "text": "楼道灯坏了"}


def _log(server) -> list[dict]:
    return [json.loads(l) for l in server.log.read_text(encoding="utf-8").splitlines() if l.startswith("{")]


def _workers(pid: int) -> list[int]:
    """The service's worker processes (children of the supervisor, but its resource tracker)."""
    kids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            kids += [int(k) for k in f.read().split()]
    return [k for k in kids if b"spawn_main" in open(f"/proc/{k}/cmdline", "rb").read()]


@pytest.fixture
def two_workers(site_dir, tmp_path):
    with live_server(site_dir, tmp_path / "intake.sqlite", tmp_path / "log.jsonl", "--workers", "2",
                     "--burst", "8", "--rate", "1") as srv:
        yield srv


def test_the_shipped_config_serves_with_more_than_one_worker():
    assert load_intake_settings().workers >= 2


def test_the_rate_limit_holds_over_every_worker(two_workers):
    """Each post on a new connection (the kernel spreads them over the workers): the burst of
    8 is the client's in all, not 8 per worker."""
    started = time.monotonic()
    codes = [httpx.post(two_workers.url + "/api/needs", json=NEED, timeout=10).status_code for _ in range(40)]
    took = time.monotonic() - started
    assert codes[:8] == [201] * 8
    assert codes.count(201) <= 8 + int(took) + 1 and codes.count(429) >= 40 - 8 - int(took) - 1, (codes, took)
    answered = [l for l in _log(two_workers) if l.get("path") == "/api/needs"]
    assert len({l["pid"] for l in answered}) == 2  # both workers took posts
    assert {l["pid"] for l in answered} == set(_workers(two_workers.proc.pid))


def test_public_pages_are_answered_by_both_workers_alike(two_workers):
    pages = [httpx.get(two_workers.url + "/c/XM-001.html", timeout=10) for _ in range(12)]
    assert {p.status_code for p in pages} == {200} and len({p.text for p in pages}) == 1
    assert len({p.headers["etag"] for p in pages}) == 1  # same publication, same code
    assert len({l["pid"] for l in _log(two_workers) if l.get("path") == "/c/XM-001.html"}) == 2


def test_stopping_the_service_stops_every_worker(two_workers):
    workers = _workers(two_workers.proc.pid)
    assert len(workers) == 2
    two_workers.proc.send_signal(signal.SIGTERM)
    assert two_workers.proc.wait(15) == 0
    assert all(_gone(pid) for pid in workers)
    assert "Traceback" not in two_workers.log.read_text(encoding="utf-8")


def test_a_worker_that_dies_stops_the_service_with_a_clear_line(two_workers):
    workers = _workers(two_workers.proc.pid)
    os.kill(workers[0], signal.SIGKILL)
    assert two_workers.proc.wait(15) == 1
    last = two_workers.log.read_text(encoding="utf-8").strip().splitlines()[-1]
    assert last.startswith("error: worker") and "exited" in last and "Traceback" not in two_workers.log.read_text()
    assert _gone(workers[1])  # the other one stopped too


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.1)
    return not os.path.exists(f"/proc/{pid}")
