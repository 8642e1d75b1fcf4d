"""The closed loop end to end, in headless Chromium against the real service: a resident
reports a need from a compound page, the grid worker takes it, the deadline passes and the
need goes up to the street by itself, the street handles it, the district supervisor checks
and closes it, the resident rates it from the receipt link; the next nightly run and the
month's ranking count it, the compound page's figures move, and no star changes."""
from __future__ import annotations

import json

import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

import yaml

from generator.city import generate_city
from intake.vocab import LOCAL_TZ
from intake.workflow_config import DEFAULT_NEEDS, NEEDS_CONFIG_ENV
from pipelines.cli import run_monthly_ranking, run_rating
from tests.intake.live import ROOT, live_server
from tests.privacy import scan_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("SAFESTAR_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
RESULT = "已更换小区后门门禁锁并加装照明"
# The city's policy with one change: 治安隐患 must be handled within 45 seconds, so the test
# can let a real deadline pass (the shipped limit is 24 hours).
LIMIT_SECONDS = 45


def _safestar(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _token(db: Path, staff_id: str) -> str:
    return _safestar("staff", "add", staff_id, "--db", str(db)).strip().splitlines()[-1]


def _sign_in(browser, url: str, token: str):
    ctx = browser.new_context(**PHONE)
    page = ctx.new_page()
    page.goto(url + "/staff/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/queue")
    return ctx, page


def _act(page, url: str, reference: str, action: str, note: str | None = None) -> None:
    page.goto(f"{url}/staff/needs/{reference}")
    if note is not None:
        page.fill(f"#note-{action}", note)
    page.click(f"button[value={action}]")
    page.wait_for_load_state()
    assert page.locator("#error").count() == 0, page.locator("#error").inner_text()


def _figures(page) -> dict[str, str]:
    """The month's needs and check-in figures of a compound page, as the browser shows them."""
    cells = page.locator("#h-loop ~ table td[id]")
    figures = {cells.nth(i).get_attribute("id"): cells.nth(i).inner_text().strip() for i in range(cells.count())}
    return {**figures, "stars": page.locator(".stars").first.get_attribute("aria-label")}


def _warehouse(out: Path, sql: str, params: list) -> pl.DataFrame:
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as conn:
        return conn.sql(sql, params=params).pl()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def test_a_need_goes_round_the_loop(tmp_path, browser, monkeypatch):
    data, out = tmp_path / "data", tmp_path / "out"
    policy = yaml.safe_load(DEFAULT_NEEDS.read_text(encoding="utf-8"))
    policy["categories"]["治安隐患"] = {"hours": LIMIT_SECONDS / 3600, "urgent": True, "route": "grid"}
    # The test sweeps with the CLI at a moment it chooses; the service's own background sweep
    # (every minute by default) could otherwise escalate the need first on a slow machine.
    policy["staff"]["sweep_seconds"] = 3600
    (tmp_path / "needs.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv(NEEDS_CONFIG_ENV, str(tmp_path / "needs.yaml"))
    generate_city(data, seed=13, n_compounds=100, n_events=1500)
    # Submissions are stamped now, local time: the nightly run that counts them rates today.
    today = datetime.now(LOCAL_TZ).date()
    # The synthetic records end at the city's last date: rating today is a known outage of
    # every source, acknowledged as an analyst would (or the completeness check blocks it).
    city = json.loads((data / "city.json").read_text(encoding="utf-8"))
    (data / "decisions").mkdir(exist_ok=True)
    pl.DataFrame({"source": ["police", "procuratorate", "court", "justice", "petition"], "from": city["end"],
                  "to": today.isoformat(), "who": "测试", "when": "2026-01-01 00:00",
                  "why": "合成数据止于生成日期"}).write_csv(data / "decisions" / "source_outages.csv")
    run_rating(data, out, today, demo=True, quiet=True)
    ratings_before = _warehouse(out, "SELECT * FROM marts.ratings WHERE as_of = ? ORDER BY compound_id", [today])
    target = ratings_before.filter(pl.col("status") == "rated")["compound_id"][0]
    registry = pl.read_csv(data / "compounds.csv", infer_schema_length=0)
    place = registry.filter(pl.col("compound_id") == target).row(0, named=True)
    grid, street_letter = place["grid_code"], place["grid_code"][:2]
    db = out / "intake.sqlite"
    _safestar("staff", "load", "--data", str(data), "--db", str(db))
    tokens = {who: _token(db, who) for who in (f"gw-{grid}", f"ss-{street_letter}", f"ds-{grid[0]}")}

    with live_server(out / today.isoformat(), db, tmp_path / "log.jsonl") as srv:
        # -- the resident, on the compound page -------------------------------------------------
        resident = browser.new_context(**PHONE)
        page = resident.new_page()
        page.goto(f"{srv.url}/c/{target}.html")
        before = _figures(page)
        page.select_option("#need-category", "治安隐患")
        page.fill("#need-text", "小区后门门禁坏了，夜里外来人员随意进出")
        page.fill("#need-contact", "13912345678")
        with page.expect_response(re.compile(r"/api/needs$")) as answer:
            page.click("#need-form button[type=submit]")
        submitted = time.monotonic()
        receipt = answer.value.json()
        reference, receipt_url = receipt["reference"], receipt["receipt_url"]
        page.wait_for_function("document.getElementById('need-result').textContent.includes('受理编号')")
        for text in ("楼道灯不亮", "独居老人需要帮忙"):  # two neighbours report too (days to handle them)
            page.select_option("#need-category", "邻里求助")
            page.fill("#need-text", text)
            with page.expect_response(re.compile(r"/api/needs$")):
                page.click("#need-form button[type=submit]")

        # -- the grid worker takes it ----------------------------------------------------------
        ctx, worker = _sign_in(browser, srv.url, tokens[f"gw-{grid}"])
        assert reference in worker.locator("main").inner_text()  # in the worker's queue
        _act(worker, srv.url, reference, "accept")
        _act(worker, srv.url, reference, "record", "已到现场查看，需更换门禁锁")
        assert "13912345678" in worker.locator("#contact").inner_text()  # the handler sees the contact
        assert time.monotonic() - submitted < LIMIT_SECONDS, "the worker took the need after its deadline"
        ctx.close()

        # -- the deadline passes: the sweep sends the need one level up, once ------------------
        time.sleep(max(0.0, LIMIT_SECONDS + 1 - (time.monotonic() - submitted)))
        assert _safestar("staff", "sweep", "--db", str(db)).startswith("1 overdue")
        assert _safestar("staff", "sweep", "--db", str(db)).startswith("0 overdue")  # the street has a day

        # -- the street takes it and records the result; the district checks and closes ---------
        ctx, street = _sign_in(browser, srv.url, tokens[f"ss-{street_letter}"])
        street.goto(f"{srv.url}/staff/needs/{reference}")
        assert "街道" in street.locator("main").inner_text() and "超时自动上报" in street.locator("#history").inner_text()
        _act(street, srv.url, reference, "accept")
        _act(street, srv.url, reference, "resolve", RESULT)
        ctx.close()
        ctx, district = _sign_in(browser, srv.url, tokens[f"ds-{grid[0]}"])
        _act(district, srv.url, reference, "close")
        assert "已办结" in district.locator("#state").inner_text()
        ctx.close()

        # -- the resident reads the result and rates it from the receipt link -------------------
        page.goto(srv.url + receipt_url)
        assert RESULT in page.locator("body").inner_text()
        page.check("input[name=rating][value=满意]")
        page.click("#rating button[type=submit]")
        page.wait_for_load_state()
        assert "满意" in page.locator("body").inner_text()
        resident.close()

    # -- the next nightly run counts it; the stars do not move ---------------------------------
    run_rating(data, out, today, demo=True, quiet=True)
    ratings_after = _warehouse(out, "SELECT * FROM marts.ratings WHERE as_of = ? ORDER BY compound_id", [today])
    assert ratings_after.select("compound_id", "safety_index", "stars", "status").equals(
        ratings_before.select("compound_id", "safety_index", "stars", "status"))
    need = _warehouse(out, "SELECT * FROM core.needs WHERE compound_id = ? AND state = 'rated'", [target])
    assert need.height == 1 and need["escalations"][0] == 1 and not need["on_time"][0] and need["rating"][0] == "满意"
    grid_row = _warehouse(out, "SELECT * FROM marts.need_figures WHERE as_of = ? AND level = 'grid' AND unit_id = ?",
                          [today, grid]).row(0, named=True)
    assert (grid_row["received"], grid_row["closed"], grid_row["closed_on_time"]) == (3, 1, 0)
    assert (grid_row["escalations"], grid_row["rated"], grid_row["satisfied"]) == (1, 1, 1)
    public = _warehouse(out, "SELECT * FROM marts.compound_need_figures WHERE as_of = ? AND compound_id = ?",
                        [today, target]).row(0, named=True)
    assert public["needs_received"] == 3 and public["needs_closed"] is None and public["needs_closed_suppressed"]

    # -- the compound page's figures moved; nothing of the need itself is on it -----------------
    with live_server(out / today.isoformat(), db, tmp_path / "log2.jsonl") as srv:
        ctx = browser.new_context(**PHONE)
        page = ctx.new_page()
        page.goto(f"{srv.url}/c/{target}.html")
        after = _figures(page)
        after_html = page.content()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone's width
        assert page.locator("#stars-unaffected").is_visible()
        ctx.close()
    assert before == {"need-received": "0 件", "need-closed": "0 件", "need-on-time": "—", "need-satisfied": "—",
                      "visits": "0 次", "stars": before["stars"]}
    # 3 received; 1 closed, late, rated 满意: a count under the threshold, shares that would give it away
    assert after == {**before, "need-received": "3 件", "need-closed": "少量 件"}
    needles = ["小区后门门禁坏了", "楼道灯不亮", "独居老人", "13912345678", RESULT, reference]
    assert not [n for n in needles if n in after_html]
    assert scan_for([out / today.isoformat()], needles) == []  # the publication file and every output

    # -- and the month's ranking shows it ------------------------------------------------------
    run_monthly_ranking(data, out, today.replace(day=1), demo=True, quiet=True)
    folder = out / "monthly" / f"{today:%Y-%m}"
    grids = pl.read_csv(folder / "网格排名.csv").filter(pl.col("网格编码") == grid).row(0, named=True)
    assert (grids["受理需求"], grids["办结需求"], grids["按时办结"], grids["上报次数"], grids["满意数"]) == (3, 1, 0, 1, 1)
    streets = pl.read_csv(folder / "街道排名.csv").filter(pl.col("街道") == place["street"]).row(0, named=True)
    assert streets["受理需求"] == 3 and streets["上报次数"] == 1
    assert reference not in (folder / "index.html").read_text(encoding="utf-8")
