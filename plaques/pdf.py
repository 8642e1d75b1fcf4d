"""The print-ready PDF of a plaque (reportlab): trim size plus bleed, crop marks outside the
bleed, TrimBox and BleedBox set, the CJK font embedded (a subset), the QR code as vectors.

reportlab embeds TrueType outlines only; the PostScript-outline (CFF) ``.ttc`` of Noto Sans
CJK cannot be embedded, so a TrueType CJK font is looked for (``config/plaques.yaml``
``pdf_fonts``, then every Chinese font fontconfig lists). Without one, ``CJKFontError``
says what to install.
"""
from __future__ import annotations

import io
import shutil
import subprocess
from functools import lru_cache

import qrcode
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas

from plaques.artwork import GOLD, RED, PlaqueItem, layout
from plaques.config import PlaqueConfig

FONT_NAME = "PlaqueCJK"
CROP_GAP_MM = 1.0  # crop marks start this far outside the bleed


class CJKFontError(ValueError):
    """No Chinese font the PDF library can embed (the message says what to install)."""


def _fontconfig_candidates() -> list[str]:
    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})


@lru_cache(maxsize=1)
def register_cjk_font(candidates: tuple[str, ...]) -> str:
    """Register the first embeddable CJK font of ``candidates`` (then of fontconfig's list)
    under ``FONT_NAME``; returns its file."""
    tried = []
    for path in (*candidates, *_fontconfig_candidates()):
        if path in tried:
            continue
        tried.append(path)
        try:
            font = TTFont(FONT_NAME, path, subfontIndex=0)
            if not font.face.charToGlyph.get(ord("平")):
                continue
        except (TTFError, OSError):
            continue  # missing, or PostScript outlines reportlab cannot embed
        pdfmetrics.registerFont(font)
        return path
    raise CJKFontError("no Chinese TrueType font to embed in the print PDF: install one (Debian/Ubuntu: "
                       "apt-get install fonts-wqy-zenhei) or list its file under pdf_fonts in config/plaques.yaml; "
                       "or pull with --no-pdf")


def plaque_pdf(item: PlaqueItem, code: qrcode.QRCode, config: PlaqueConfig) -> bytes:
    """One page: the plaque at 100 % with its bleed, crop marks and a slug line stating the
    physical size and material."""
    register_cjk_font(tuple(config.pdf_fonts))
    matrix = code.get_matrix()
    lay = layout(item, config, len(matrix))
    w, h, bleed = lay["width"], lay["height"], lay["bleed"]
    mark = config.plaque.crop_mark_mm
    margin = bleed + CROP_GAP_MM + mark + 2
    page = ((w + 2 * margin) * mm, (h + 2 * margin) * mm)

    def X(x: float) -> float:
        return (margin + x) * mm

    def Y(y: float) -> float:
        return (margin + h - y) * mm

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=page, invariant=True, pageCompression=1, initialFontName=FONT_NAME)
    c.setTitle(lay["title"])
    c.setAuthor(config.issuer)
    c.setSubject(f"成品尺寸 {w:g}×{h:g} 毫米，出血 {bleed:g} 毫米，{config.plaque.material}")
    c.setCreator("SafeStar plaques")
    c.setTrimBox((X(0), Y(h), X(w), Y(0)))
    c.setBleedBox((X(-bleed), Y(h + bleed), X(w + bleed), Y(-bleed)))

    c.setFillColor(RED)
    c.rect(X(-bleed), Y(h + bleed), (w + 2 * bleed) * mm, (h + 2 * bleed) * mm, stroke=0, fill=1)
    c.setStrokeColor(GOLD)
    c.setLineWidth(3 * mm)
    c.roundRect(X(10), Y(h - 10), (w - 20) * mm, (h - 20) * mm, 8 * mm, stroke=1, fill=0)

    for x, y, size, colour, anchor, text, _bold in lay["texts"]:
        c.setFont(FONT_NAME, size * mm)
        c.setFillColor(colour)
        draw = {"start": c.drawString, "middle": c.drawCentredString, "end": c.drawRightString}[anchor]
        draw(X(x), Y(y), text)

    for star in lay["stars"]:
        path = c.beginPath()
        (x0, y0), *rest = star["points"]
        path.moveTo(X(x0), Y(y0))
        for x, y in rest:
            path.lineTo(X(x), Y(y))
        path.close()
        c.saveState()
        c.setFillColor(GOLD)
        c.setStrokeColor(GOLD)
        if star["earned"]:
            c.drawPath(path, stroke=0, fill=1)
        else:
            c.setStrokeAlpha(0.45)
            c.setLineWidth(1.5 * mm)
            c.drawPath(path, stroke=1, fill=0)
        c.restoreState()

    qr = lay["qr"]
    unit = qr["scale"]
    c.setFillColor("#ffffff")
    c.rect(X(qr["x"]), Y(qr["y"] + qr["size"]), qr["size"] * mm, qr["size"] * mm, stroke=0, fill=1)
    c.setFillColor("#000000")
    dark = c.beginPath()
    for r, row in enumerate(matrix):
        col = 0
        while col < len(row):  # one rectangle per run of dark modules in a row
            if row[col]:
                start = col
                while col < len(row) and row[col]:
                    col += 1
                dark.rect(X(qr["x"] + start * unit), Y(qr["y"] + (r + 1) * unit), (col - start) * unit * mm, unit * mm)
            col += 1
    c.drawPath(dark, stroke=0, fill=1)

    if lay["demo"]:
        d = lay["demo"]
        c.saveState()
        c.translate(X(d["x"]), Y(d["y"]))
        c.rotate(-d["angle"])
        c.setFillColor("#ffffff")
        c.setFillAlpha(0.5)
        c.setFont(FONT_NAME, d["size"] * mm)
        c.drawCentredString(0, 0, d["text"])
        c.restoreState()

    _crop_marks(c, X, Y, w, h, bleed + CROP_GAP_MM, mark)
    c.setFont(FONT_NAME, 7)
    c.setFillColorCMYK(1, 1, 1, 1)
    c.drawString(X(0), Y(h + bleed + CROP_GAP_MM + 4), f"{item.serial} · 成品尺寸 {w:g}×{h:g} 毫米 · 出血 {bleed:g} 毫米 · "
                 f"{config.plaque.material} · 数量 {config.plaque.quantity} · 100% 比例输出")
    c.showPage()
    c.save()
    return buf.getvalue()


def _crop_marks(c: canvas.Canvas, X, Y, w: float, h: float, offset: float, length: float) -> None:
    """Hairlines in registration colour at the trim's corners, outside the bleed."""
    c.saveState()
    c.setStrokeColorCMYK(1, 1, 1, 1)
    c.setLineWidth(0.25)
    for cx, sx in ((0, -1), (w, 1)):
        for cy, sy in ((0, -1), (h, 1)):
            c.line(X(cx + sx * offset), Y(cy), X(cx + sx * (offset + length)), Y(cy))
            c.line(X(cx), Y(cy + sy * offset), X(cx), Y(cy + sy * (offset + length)))
    c.restoreState()
