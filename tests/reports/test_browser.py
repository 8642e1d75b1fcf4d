"""The map and the report in headless Chromium: they load, draw, filter and show Chinese.

Never skipped in CI: with ``CI`` set, a missing Chromium or Playwright is a failure.
Screenshots go to ``artifacts/`` (gitignored) for a human to look at.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from reports.analyst import render_report
from reports.common_problems import common_problems, leading_group
from reports.map_layer import build_features, write_map_layers
from reports.map_viewer import write_map_viewer
from reports.rankings import build_rankings, write_rankings
from tests.reports.conftest import AS_OF

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SAFESTAR_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def _unavailable(why: str):
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is missing")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _quality() -> pl.DataFrame:
    """Every column the nightly data-quality table has, for the five sources (issue 19:
    such tables ran off the right edge of the page)."""
    from ingest.quality import QUARANTINE_REASONS
    from schemas.events import SOURCES
    cols = ["files", "files_loaded", "files_rejected", "files_skipped_duplicate", "rows_read", "rows_accepted",
            "rows_quarantined", "superseded", "records", "records_revoked", "incidents", "chains_linked",
            "records_in_chains", *[f"quarantined_{r}" for r in QUARANTINE_REASONS]]
    return pl.DataFrame({"source": SOURCES, **{c: [1234567 * (k + 1) for k in range(len(SOURCES))] for c in cols}})


def _match_rates() -> pl.DataFrame:
    from schemas.events import METHODS, SOURCES
    cols = ["events", "matched", "excluded", "review"] + [f"n_{m}" for m in METHODS]
    return pl.DataFrame({"source": SOURCES, **{c: [123456] * len(SOURCES) for c in cols},
                         "rate": [0.987654] * len(SOURCES)})


@pytest.fixture(scope="module")
def run_dir(city, tmp_path_factory):
    """A run's output folder: map, report and rankings for the test city."""
    root = tmp_path_factory.mktemp("run")
    probs = common_problems(city["stats_cur"], city["stats_prev"], city["compounds"])
    feats = build_features(city["compounds"], city["polygons"], city["ratings"], leading_group(city["stats_cur"]))
    write_map_layers(root / "map", feats, probs, city["outlines"])
    write_map_viewer(root / "map", feats)
    write_rankings(root / "rankings", build_rankings(city["ratings"], city["compounds"]))
    render_report(root / "report", as_of=AS_OF, ratings=city["ratings"], trend=city["trend"],
                  changes=city["changes"], explanations=city["explanations"],
                  quality=_quality(), match_rates=_match_rates(),
                  review_size=3, problems=probs, intake=None)
    return root


@pytest.fixture(scope="module")
def server(run_dir):
    """A static server on loopback, as a host would serve the run's folder."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(run_dir)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))

    def offline_only(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "file://", "data:", "blob:")):
            return route.continue_()
        errors.append(f"remote request: {url}")  # pages must work without the internet
        return route.abort()

    ctx.route("**/*", offline_only)
    yield pg
    ctx.close()
    assert not errors, errors


def _open_map(page, url):
    page.goto(url)
    page.wait_for_function("window.safestarMap && window.safestarMap.ready", timeout=30_000)


def test_map_draws_every_compound_and_filters(page, server, city):
    _open_map(page, f"{server}/map/index.html")
    cur = city["ratings"]
    n = city["compounds"].height
    assert page.evaluate("safestarMap.total") == n
    assert page.evaluate("safestarMap.drawnCount()") == n
    assert page.get_attribute("#map", "data-drawn") == str(n)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map.png"))

    five = int((cur["stars"] == 5).sum())
    page.uncheck('input[data-star="5"]')
    assert page.evaluate("safestarMap.drawnCount()") == n - five
    district = cur["district"].mode().sort()[0]
    page.select_option("#ss-district", label=district)
    expected = cur.filter((pl.col("district") == district) & (pl.col("stars") != 5)).height
    assert page.evaluate("safestarMap.drawnCount()") == expected
    assert page.inner_text("#ss-count") == f"{expected} / {n}"
    street = cur.filter(pl.col("district") == district)["street"].mode().sort()[0]
    page.select_option("#ss-street", label=street)
    expected = cur.filter((pl.col("street") == street) & (pl.col("stars") != 5)).height
    assert page.evaluate("safestarMap.drawnCount()") == expected
    page.screenshot(path=str(ARTIFACTS / "map_filtered.png"))
    page.select_option("#ss-district", label="全部")
    assert page.locator("#ss-street").input_value() == "-1", "a new district resets the street"
    page.fill("#ss-search", "测试小区1")  # ids 1, 10–19, 100–199 in the test city
    expected = cur.filter(pl.col("name").str.contains("测试小区1", literal=True) & (pl.col("stars") != 5)).height
    assert page.evaluate("safestarMap.drawnCount()") == expected
    page.fill("#ss-search", "")
    vetoed = cur.filter(pl.col("status") == "vetoed").height
    assert page.evaluate("safestarMap.setFilter({stars:[0,1,2,3,4,5], district:'', status:['vetoed']})") == vetoed


def test_map_popup_links_to_the_public_page(page, server, city):
    _open_map(page, f"{server}/map/index.html")
    comp = city["compounds"].row(5, named=True)
    page.evaluate(f"safestarMap.map.setView([{comp['lat']}, {comp['lon']}], 16, {{animate: false}}) && 0")
    box = page.locator("#map").bounding_box()
    x, y = page.evaluate(f"(() => {{ const p = safestarMap.map.latLngToContainerPoint([{comp['lat']}, {comp['lon']}]); return [p.x, p.y]; }})()")
    hit = page.evaluate(f"safestarMap.featureAt({x}, {y})")
    assert hit is not None
    page.mouse.click(box["x"] + x, box["y"] + y)
    popup = page.locator(".ss-popup")
    popup.wait_for(timeout=5_000)
    page.wait_for_timeout(400)  # let the popup fade in before the screenshot
    assert hit in popup.inner_text()
    assert popup.locator("a").get_attribute("href") == f"../site/c/{hit}.html"
    page.screenshot(path=str(ARTIFACTS / "map_popup.png"))


def test_map_works_from_file_url(page, run_dir, city):
    _open_map(page, (run_dir / "map" / "index.html").as_uri())
    assert page.evaluate("safestarMap.drawnCount()") == city["compounds"].height


def test_report_opens_with_its_sections(page, server):
    page.goto(f"{server}/report/index.html")
    for section in ("headline", "stars", "changes", "alerts", "problems", "quality", "review", "trend"):
        assert page.locator(f"#{section}").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
    page.locator("#stars").screenshot(path=str(ARTIFACTS / "report_stars.png"))
    link = page.locator("#changes a[href^='explain/']").first
    link.click()
    page.wait_for_load_state()
    assert "评级说明" in page.title()
    page.goto(f"{server}/rankings/index.html")
    assert page.locator("table").count() == 4


def test_cjk_font_is_installed():
    if not shutil.which("fc-match"):
        _unavailable("fontconfig's fc-match is missing")
    family = subprocess.run(["fc-match", "-f", "%{family}", "Noto Sans CJK SC"], capture_output=True,
                            text=True, check=True).stdout
    assert "CJK" in family, f"'Noto Sans CJK SC' resolves to {family!r}: install fonts-noto-cjk"


def _ink(png: bytes) -> np.ndarray:
    from PIL import Image
    img = np.asarray(Image.open(BytesIO(png)).convert("L"), dtype=np.int16)
    return img < 128


def test_chinese_labels_render_as_glyphs_not_tofu(page, server):
    """A missing CJK font draws every character as the same box (tofu): distinct characters
    must give distinct images, unlike two unassigned code points, and the chart's
    Chinese label must carry ink."""
    page.goto(f"{server}/report/index.html")
    label = page.locator("#chart-stars svg text", has_text="思明区").first
    ink = _ink(label.screenshot())
    assert ink.sum() > 20, "the chart's Chinese label is blank"
    page.evaluate("""() => {
      const font = getComputedStyle(document.querySelector('#chart-stars svg')).fontFamily
        || document.querySelector('#chart-stars svg').getAttribute('font-family');
      for (const [id, text] of [['g1', '思'], ['g2', '明'], ['t1', '\\u0378'], ['t2', '\\u0379']]) {
        const s = document.createElement('span');
        s.id = id; s.textContent = text;
        s.style.cssText = 'font-size:48px;line-height:60px;display:inline-block;padding:4px;background:#fff;color:#000;font-family:' + font;
        document.body.prepend(s);
      }
    }""")
    g1, g2 = (_ink(page.locator(f"#{i}").screenshot()) for i in ("g1", "g2"))
    t1, t2 = (_ink(page.locator(f"#{i}").screenshot()) for i in ("t1", "t2"))
    assert (t1 == t2).all() or t1.shape != g1.shape, "unassigned code points should draw the same box"
    assert g1.shape == g2.shape and (g1 != g2).sum() > 50, "思 and 明 render identically: tofu"
    if g1.shape == t1.shape:
        assert (g1 != t1).sum() > 50, "思 renders like a missing glyph"
    page.locator("#chart-stars").screenshot(path=str(ARTIFACTS / "report_chart_cjk.png"))


TABLE_WIDTHS = """() => [...document.querySelectorAll('table')].map(t => {
  const holder = (t.closest('section') || document.body);
  const style = getComputedStyle(holder);
  const inner = holder.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return {id: holder.id, width: Math.ceil(t.getBoundingClientRect().width), scroll: t.scrollWidth, inner: Math.floor(inner) + 1};
})"""


def test_no_table_is_wider_than_its_page_at_1280_px(page, server, run_dir):
    """Issue 19: the match-rate table was cut off at the right. Every table of the report,
    of an explanation page and of the rankings fits its section at 1280 px."""
    explain = sorted((run_dir / "report" / "explain").iterdir())[0].name
    for url in ("report/index.html", f"report/explain/{explain}", "rankings/index.html"):
        page.goto(f"{server}/{url}")
        tables = page.evaluate(TABLE_WIDTHS)
        assert tables, url
        wide = [t for t in tables if t["width"] > t["inner"] or t["scroll"] > t["inner"]]
        assert not wide, f"{url}: tables wider than their page: {wide}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, url


def test_charts_are_drawn_at_full_size_on_a_phone(browser, server):
    """At 390 px (a phone) no chart is shrunk below 90% of its drawn size, so its 12 px
    labels stay readable."""
    ctx = browser.new_context(viewport={"width": 390, "height": 800}, locale="zh-CN", device_scale_factor=2)
    pg = ctx.new_page()
    pg.goto(f"{server}/report/index.html")
    sizes = pg.evaluate("""() => [...document.querySelectorAll('.chart svg')].map(s =>
        [s.parentElement.id, s.getBoundingClientRect().width, parseFloat(s.getAttribute('width'))])""")
    ctx.close()
    assert len(sizes) == 6
    small = [(cid, shown, drawn) for cid, shown, drawn in sizes if shown < 0.9 * drawn]
    assert not small, f"charts shrunk on a phone: {small}"
