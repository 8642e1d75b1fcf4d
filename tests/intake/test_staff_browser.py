"""The staff pages in headless Chromium at a phone's size: sign in, queue, accept, record a
result, without JavaScript and without sideways scrolling; the resident reads the result."""
from __future__ import annotations

import pytest

from tests.intake.staff_live import staff_server, submit  # noqa: F401 (fixture)
from tests.site.test_browser import IPHONE, browser  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_grid_worker_handles_a_need_on_a_phone(browser, staff_server):
    need = submit(staff_server, text="七号楼电动车在楼道充电，存在火灾隐患")
    ctx = browser.new_context(**IPHONE, java_script_enabled=False)
    page = ctx.new_page()
    page.goto(staff_server.url + "/staff/queue")
    assert "请先登录" in page.content()
    page.goto(staff_server.url + "/staff/login")
    page.fill("#token", staff_server.tokens["w1"])
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/queue")
    assert _fits(page)
    page.click(f"a[href='/staff/needs/{need['reference']}']")
    assert page.locator("#contact").inner_text() == "13912345678" and _fits(page)
    page.click("button[value=accept]")
    page.wait_for_url(f"**/staff/needs/{need['reference']}")
    assert page.locator("#state").inner_text().startswith("处置中")
    page.fill("#note-resolve", "已劝离并张贴消防提示")
    page.click("button[value=resolve]")
    assert page.locator("#state").inner_text().startswith("待核查")
    assert "反馈办理结果" in page.locator("#history").inner_text() and _fits(page)
    resident = browser.new_context(**IPHONE).new_page()
    resident.goto(staff_server.url + need["receipt_url"])
    assert resident.locator("#result").inner_text() == "已劝离并张贴消防提示"
    assert "13912345678" not in resident.content() and _fits(resident)
    ctx.close()
