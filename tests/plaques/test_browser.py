"""Headless Chromium checks: Chinese text renders with real glyphs (no tofu) in the proof
sheet and the artwork, and the QR codes decode from what the browser draws of the SVGs."""
from __future__ import annotations

import io
import os
from pathlib import Path

import polars as pl
import pytest
from PIL import Image, ImageChops

from tests.plaques.qr_decode import decode
from tests.plaques.scenario import build, pulled

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
CJK_FAMILIES = {"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC"}
# Unassigned code points: every font lacks them, so they render as the missing-glyph box.
MISSING = ["\u0378", "\u0379"]

# `make test` installs Chromium; in CI a missing browser must fail the run, never skip it.
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                 reason="headless Chromium not installed (run `make browser`)")]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The first date's batch as a printer pulls it."""
    return pulled(build(tmp_path_factory.mktemp("out")), tmp_path_factory.mktemp("print"), "B20260302")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def platform_fonts(page, selector: str) -> list[set[str]]:
    """The font families Chromium actually used for each node matching ``selector``."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    out = []
    for node in cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]:
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        out.append({f["familyName"] for f in fonts if f["glyphCount"] > 0})
    cdp.detach()
    return out


def glyph_tiles(page, chars: list[str]) -> list[Image.Image]:
    """Each character drawn alone in a 64 px cell with the page's own fonts, one screenshot."""
    page.evaluate(
        """chars => { const box = document.createElement('div'); box.id = 'glyph-probe';
                      box.style.cssText = 'position:absolute;top:0;left:0;width:' + (64 * chars.length)
                        + 'px;background:#fff;line-height:0;z-index:9';
                      for (const ch of chars) { const el = document.createElement('span');
                        el.style.cssText = 'display:inline-block;width:64px;height:64px;font-size:48px;'
                          + 'line-height:64px;text-align:center;color:#000;overflow:hidden;vertical-align:top';
                        el.textContent = ch; box.appendChild(el); }
                      document.body.appendChild(box); }""", chars)
    shot = Image.open(io.BytesIO(page.locator("#glyph-probe").screenshot())).convert("L")
    page.evaluate("document.getElementById('glyph-probe').remove()")
    return [shot.crop((64 * i, 0, 64 * i + 64, 64)) for i in range(len(chars))]


def same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.difference(a, b).getbbox() is None


def test_proof_names_use_cjk_fonts_and_have_no_tofu(batch, browser):
    page = browser.new_page()
    names = []
    for proof in sorted((batch / "proof").glob("*.html")):  # one proof per district
        page.goto(proof.as_uri())
        page.wait_for_load_state("load")
        names += page.locator(".card .name").all_inner_texts()
        used = platform_fonts(page, ".card .name")
        assert used and all(fams and fams <= CJK_FAMILIES for fams in used), used
    assert len(names) == 5

    chars = sorted({ch for n in names for ch in n if ord(ch) > 0x2E80})
    assert len(chars) >= 15
    tiles = glyph_tiles(page, MISSING + chars)
    tofu, shots = tiles[0], dict(zip(chars, tiles[2:]))
    # The probe can fail: two different missing code points look alike (the missing-glyph
    # box), and two different real characters do not.
    assert same(tofu, tiles[1])
    tofu_chars = [ch for ch, img in shots.items() if same(img, tofu)]
    assert not tofu_chars, f"rendered as missing glyphs: {tofu_chars}"
    assert not same(shots[chars[0]], shots[chars[1]])
    assert all(img.getextrema()[0] < 128 for img in shots.values())  # every cell has ink
    page.close()


def test_artwork_text_uses_cjk_fonts(batch, browser):
    page = browser.new_page()
    art = sorted((batch / "art").glob("*.svg"))[0]
    page.goto(art.as_uri())
    used = platform_fonts(page, "text")
    assert len(used) >= 6 and all(fams and fams <= CJK_FAMILIES for fams in used), used
    page.close()


def test_qr_svg_and_artwork_decode_as_chromium_draws_them(batch, browser, tmp_path):
    from datetime import date

    from plaques.artwork import PlaqueItem, artwork_svg, qr_code, qr_svg
    from plaques.config import load_plaque_config

    manifest = pl.read_csv(batch / "manifest.csv", infer_schema=False)
    rows = [(f"qr/{s}.svg", 400, u) for s, u in manifest.head(2).select("编号", "二维码网址").rows()]
    rows += [(f"art/{s}.svg", 1200, u) for s, u in manifest.head(2).select("编号", "二维码网址").rows()]
    # A demo plaque's 样例 mark leaves its QR code readable.
    url = manifest["二维码网址"][0]
    demo = PlaqueItem("350203-C1-01", url, "鹭江花园", 4, "思明区", "厦港街道", date(2026, 3, 2), demo=True)
    (tmp_path / "demo.svg").write_bytes(artwork_svg(demo, qr_svg(qr_code(url)), load_plaque_config()))
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    for path, width, expected in [(batch / rel, w, u) for rel, w, u in rows] + [(tmp_path / "demo.svg", 1200, url)]:
        wrapper = tmp_path / "view.html"
        wrapper.write_text(f'<body style="margin:0;background:#fff"><img id="i" src="{path.as_uri()}" '
                           f'style="width:{width}px;display:block"></body>', encoding="utf-8")
        page.goto(wrapper.as_uri())
        page.wait_for_function("document.getElementById('i').complete")
        shot = Image.open(io.BytesIO(page.locator("#i").screenshot()))
        assert decode(shot) == [expected], path
    page.close()
