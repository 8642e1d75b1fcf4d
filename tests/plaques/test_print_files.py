"""A plaque's print files, made by libraries: QR codes by `qrcode` (decoded back with zxing),
the artwork SVG from its Jinja2 template (hostile names inert), and the print PDF of a chunk
by reportlab (read back with pypdf: page and trim size, bleed, crop marks, every font
embedded once, the shared artwork drawn as one form, each page's vector QR code scanning)."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import date

import numpy as np
import pypdf
import pytest
from pypdf.generic import ContentStream

from plaques.artwork import QUIET_ZONE, PlaqueItem, artwork_svg, qr_code, qr_svg
from plaques.config import load_plaque_config
from plaques.printfiles import CROP_GAP_MM, plaques_pdf, register_cjk_font
from tests.plaques.conftest import KEYRING
from tests.plaques.qr_decode import decode, matrix_from_path, raster

CONFIG = load_plaque_config()
MM = 72 / 25.4
URL = KEYRING.url("https://pingan.xm.gov.cn", "350203-XM000001-01")
HOSTILE = '<script>alert("x")</script>&\u202e园'


def item(name="鹭江花园", demo=False, stars=4, serial="350203-XM000001-01") -> PlaqueItem:
    return PlaqueItem(serial=serial, url=KEYRING.url("https://pingan.xm.gov.cn", serial), name=name, stars=stars,
                      district="思明区", street="厦港街道", rated_on=date(2026, 3, 2), demo=demo)


def test_qr_svg_is_qrcodes_own_vector_image_and_decodes_with_quiet_zone():
    code = qr_code(URL)
    assert code.error_correction == 3 and code.border == QUIET_ZONE  # ERROR_CORRECT_Q
    root = ET.fromstring(qr_svg(code))
    n = len(code.get_matrix())
    assert root.get("viewBox") == f"0 0 {n} {n}" and root.get("width") == f"{n}mm"
    modules = matrix_from_path(root.find("{http://www.w3.org/2000/svg}path").get("d"), n)
    assert not modules[:QUIET_ZONE].any() and not modules[:, -QUIET_ZONE:].any()  # light quiet zone
    assert decode(raster(modules)) == [URL]


def test_artwork_svg_states_issuer_date_size_and_keeps_hostile_names_inert():
    svg = artwork_svg(item(HOSTILE), qr_svg(qr_code(URL)), CONFIG)
    root = ET.fromstring(svg)  # well-formed XML despite the name
    ns = "{http://www.w3.org/2000/svg}"
    texts = ["".join(t.itertext()) for t in root.iter(f"{ns}text")]
    # Markup stays text; the bidi override is not printed (no plaque shows invisible characters).
    assert HOSTILE.replace("\u202e", "") in texts and b"<script" not in svg and "\u202e" not in svg.decode()
    assert f"颁发单位：{CONFIG.issuer}" in texts and "评定日期 2026年3月2日 · 4星" in texts
    p = CONFIG.plaque
    assert root.get("width") == f"{p.width_mm + 2 * p.bleed_mm:g}mm" and "样例" not in svg.decode()
    demo = ET.fromstring(artwork_svg(item(demo=True), qr_svg(qr_code(URL)), CONFIG))
    assert any("".join(t.itertext()) == "样例" for t in demo.iter(f"{ns}text"))
    assert demo.find(f"{ns}title").text.startswith("样例")


def _operations(page, reader) -> list:
    """The page's drawing operations, then those of the forms it draws (drawn untransformed)."""
    forms = [x.get_object() for x in page["/Resources"].get("/XObject", {}).values()]
    return [op for stream in (page.get_contents(), *forms) for op in ContentStream(stream, reader).operations]


def _lines(page, reader) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Straight segments (m … l) drawn with a hairline in registration colour."""
    out, hairline, start = [], False, None
    for operands, op in _operations(page, reader):
        if op == b"w":
            hairline = float(operands[0]) <= 0.3
        elif op == b"m":
            start = tuple(map(float, operands))
        elif op == b"l" and hairline and start is not None:
            out.append((start, tuple(map(float, operands))))
    return out


def test_print_pdf_size_bleed_crop_marks_and_embedded_fonts(tmp_path):
    data = plaques_pdf([item(HOSTILE, demo=True)], CONFIG)
    reader = pypdf.PdfReader(io.BytesIO(data))
    [page] = reader.pages
    p = CONFIG.plaque
    trim, bleed = page.trimbox, page.bleedbox
    assert float(trim.width) == pytest.approx(p.width_mm * MM, abs=0.01)
    assert float(trim.height) == pytest.approx(p.height_mm * MM, abs=0.01)
    assert float(bleed.width) == pytest.approx((p.width_mm + 2 * p.bleed_mm) * MM, abs=0.01)
    assert float(page.mediabox.width) > float(bleed.width) + 2 * p.crop_mark_mm * MM  # room for the marks
    text = page.extract_text()
    assert "评定日期 2026年3月2日" in text and CONFIG.issuer in text and "样例" in text
    assert "成品尺寸 600×400 毫米" in text and HOSTILE.replace("\u202e", "") in text
    fonts = [f.get_object() for f in page["/Resources"]["/Font"].values()]
    assert fonts
    for font in fonts:
        desc = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font).get("/FontDescriptor")
        assert desc is not None and any(k in desc.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")), font
    # Crop marks: eight hairlines on the trim's edge lines, starting outside the bleed.
    x0, y0, x1, y1 = (float(v) for v in (trim.left, trim.bottom, trim.right, trim.top))
    outside = (p.bleed_mm + CROP_GAP_MM) * MM - 0.01
    marks = [seg for seg in _lines(page, reader)
             if all(x < x0 - outside or x > x1 + outside or y < y0 - outside or y > y1 + outside for x, y in seg)
             and (any(abs(x - e) < 0.01 for x, _ in seg for e in (x0, x1)) or
                  any(abs(y - e) < 0.01 for _, y in seg for e in (y0, y1)))]
    assert len(marks) == 8, marks
    assert "JavaScript" not in data.decode("latin-1") and "/JS" not in data.decode("latin-1")


def test_pdf_is_the_same_bytes_for_the_same_plaques():
    assert plaques_pdf([item()], CONFIG) == plaques_pdf([item()], CONFIG)


def _qr_modules(page, reader) -> np.ndarray:
    """The page's dark modules, from its rectangles (drawn in module units: one per run), with
    the light quiet zone around them."""
    runs = [tuple(int(float(v)) for v in operands) for operands, op in ContentStream(page.get_contents(), reader)
            .operations if op == b"re"]
    n = max(x + w for x, _, w, _ in runs) + QUIET_ZONE
    m = np.zeros((n, n), dtype=bool)
    for x, y, w, h in runs:
        m[y:y + h, x:x + w] = True
    return m


def test_a_chunk_pdf_draws_the_shared_artwork_once_and_every_page_scans():
    plaques = [item(), item("海沧湾一号", stars=2, serial="350203-XM000002-01"),
               item("集美学村", demo=True, serial="350203-XM000003-01")]
    reader = pypdf.PdfReader(io.BytesIO(plaques_pdf(plaques, CONFIG)))
    assert len(reader.pages) == 3
    assert len({(tuple(page.trimbox), tuple(page.bleedbox)) for page in reader.pages}) == 1  # every page
    forms = {id(x.get_object()) for page in reader.pages for x in page["/Resources"]["/XObject"].values()}
    assert len(forms) == 1  # ground, frame, issuer and crop marks: one form shared by every page
    # One font dictionary for the document: each subset of the font is embedded once, not per page.
    assert len({page["/Resources"].raw_get("/Font").idnum for page in reader.pages}) == 1
    for page, plaque in zip(reader.pages, plaques):
        assert f"编号 {plaque.serial}" in page.extract_text() and CONFIG.issuer in page.extract_text()
        assert decode(raster(_qr_modules(page, reader))) == [plaque.url]


def test_no_cjk_font_is_one_clear_error(monkeypatch):
    import plaques.printfiles as pdf

    register_cjk_font.cache_clear()
    monkeypatch.setattr(pdf, "_fontconfig_candidates", lambda: ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"])
    try:
        with pytest.raises(ValueError, match="fonts-wqy-zenhei") as err:
            register_cjk_font(("/nonexistent.ttf",))
        assert "\n" not in str(err.value)
    finally:
        register_cjk_font.cache_clear()
