"""Verification: genuine/current, superseded, withdrawn, not genuine — and the pages."""
from __future__ import annotations

import re

import pytest

from plaques.pages import MAX_PAGE_BYTES, render_verification_pages
from plaques.sign import sign_serial
from plaques.verify import plaque_status
from tests.plaques.conftest import BASE_URL, KEYRING, SECRET
from tests.plaques.scenario import build


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return build(tmp_path_factory.mktemp("out"))


@pytest.fixture(scope="module")
def site(scenario, tmp_path_factory):
    site_dir = tmp_path_factory.mktemp("site")
    written = render_verification_pages(site_dir, scenario.second.registry, scenario.history, keyring=KEYRING)
    return site_dir, written


def status(scenario, serial, signature=None):
    sig = sign_serial(serial, SECRET) if signature is None else signature
    return plaque_status(scenario.second.registry, scenario.history, serial, sig, KEYRING)


def test_statuses(scenario):
    assert status(scenario, "350213-C5-01")["status"] == "current"
    assert status(scenario, "350213-C5-01")["text"] == "真品且有效"
    sup = status(scenario, "350205-C2-01")
    assert (sup["status"], sup["current_stars"], sup["current_serial"]) == ("superseded", 4, "350205-C2-02")
    assert sup["text"] == "已更换（现为4星）"
    assert status(scenario, "350203-C1-01")["status"] == "withdrawn"
    assert status(scenario, "350203-C1-01")["text"] == "已收回"


def test_tampered_or_unknown_is_not_genuine(scenario):
    sig = sign_serial("350213-C5-01", SECRET)
    assert status(scenario, "350213-C5-01", sig[:-1] + ("A" if sig[-1] != "A" else "B"))["status"] == "not_genuine"
    assert status(scenario, "350213-C5-02", sig)["status"] == "not_genuine"
    # A well-signed serial that was never issued is not genuine either.
    assert status(scenario, "350213-C5-09")["status"] == "not_genuine"
    assert status(scenario, "350213-C5-09")["text"] == "非正品牌匾"


def test_one_page_per_plaque_at_its_signed_path(scenario, site):
    site_dir, written = site
    serials = scenario.second.registry["serial"].to_list()
    for s in serials:
        assert (site_dir / "p" / f"{s}.{sign_serial(s, SECRET)}.html").is_file()
    assert len(written) == len(serials) + 2
    assert (site_dir / "p" / "index.html").is_file() and (site_dir / "404.html").is_file()


def page(site_dir, serial):
    return (site_dir / "p" / f"{serial}.{sign_serial(serial, SECRET)}.html").read_text(encoding="utf-8")


def test_page_wording(site):
    site_dir, _ = site
    assert "真品且有效" in page(site_dir, "350213-C5-01") and "翔安馨园" in page(site_dir, "350213-C5-01")
    withdrawn = page(site_dir, "350203-C1-01")
    assert 'data-status="withdrawn"' in withdrawn and "<h1>已收回</h1>" in withdrawn and "真品且有效" not in withdrawn
    superseded = page(site_dir, "350205-C2-01")
    assert "<h1>已更换（现为4星）</h1>" in superseded and "350205-C2-02" in superseded
    for name in ("404.html", "p/index.html"):
        html = (site_dir / name).read_text(encoding="utf-8")
        assert "非正品牌匾" in html and 'lang="zh-CN"' in html


def test_pages_are_small_self_contained_and_mobile(site):
    _, written = site
    for path in written:
        html = path.read_text(encoding="utf-8")
        assert path.stat().st_size < MAX_PAGE_BYTES
        assert 'name="viewport"' in html and 'lang="zh-CN"' in html
        assert not re.search(r"<(script|link|img|iframe)\b", html)
        assert not re.search(r"(src|href)=\"(https?:)?//", html)
        assert "url(" not in html  # no remote fonts or images in the CSS


def test_active_plaque_urls_point_at_existing_pages(scenario, site):
    from plaques.verify import active_plaque_urls
    site_dir, _ = site
    urls = active_plaque_urls(scenario.second.registry, base_url=BASE_URL, keyring=KEYRING)
    assert "350203-C1-01" not in urls["serial"].to_list() and "350205-C2-02" in urls["serial"].to_list()
    for url in urls["url"]:
        path = url.removeprefix(BASE_URL.rstrip("/"))
        assert path.endswith(".html") and (site_dir / path.lstrip("/")).is_file()


def test_current_plaque_page_tells_of_a_pending_change(site):
    site_dir, _ = site
    # C3 rose from 3 to 4 stars by its index on the second date: the 3-star plaque stays.
    html = page(site_dir, "JM-C3-01")
    assert "<h1>真品且有效</h1>" in html and "，4星</dd>" in html and "将更换牌匾" in html
    assert "将更换牌匾" not in page(site_dir, "350213-C5-01")
