"""The print files of one plaque, made in the pull's worker processes (no Polars, no template
environment): the QR code as ``qrcode``'s SVG and PNG images and the print-ready PDF
(reportlab: trim plus bleed, crop marks, TrimBox and BleedBox, the QR code as vectors, an
embedded subset of a TrueType CJK font — reportlab cannot embed the CFF ``.ttc`` of Noto Sans
CJK). Each file is written under a temporary name and renamed: a file that exists is whole,
so an interrupted pull resumes by skipping what exists.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import lru_cache
from itertools import groupby
from pathlib import Path

import qrcode
from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas

from plaques.artwork import GOLD, RED, WHITE, PlaqueItem, layout, qr_code, qr_png, qr_svg
from plaques.config import PlaqueConfig, load_plaque_config

FONT_NAME = "PlaqueCJK"
CROP_GAP_MM = 1.0  # crop marks start this far outside the bleed
REGISTRATION = (1, 1, 1, 1)  # CMYK: crop marks print on every plate
rl_config.useA85 = 0  # binary compressed streams: ASCII85 only makes a print PDF larger and slower


class CJKFontError(ValueError):
    """No Chinese font the PDF library can embed (the message says what to install)."""


def files_of(serial: str, pdf: bool = True) -> list[str]:
    """The batch-relative files of a plaque."""
    return [f"pdf/{serial}.pdf"] * pdf + [f"art/{serial}.svg", f"qr/{serial}.svg", f"qr/{serial}.png"]


def write_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def make_files(item: PlaqueItem, dest: Path, config: PlaqueConfig, pdf: bool = True) -> int:
    """Make the missing QR and PDF files of ``item`` under ``dest``; returns how many were made."""
    makers = {f"qr/{item.serial}.svg": qr_svg, f"qr/{item.serial}.png": lambda code: qr_png(code, config)}
    if pdf:
        makers[f"pdf/{item.serial}.pdf"] = lambda code: plaque_pdf(item, code, config)
    wanted = [rel for rel in makers if not (dest / rel).exists()]
    code = qr_code(item.url) if wanted else None
    for rel in wanted:
        write_file(dest / rel, makers[rel](code))
    return len(wanted)


def make_chunk(items: list[PlaqueItem], dest: Path, pdf: bool = True, config_path: str | None = None) -> int:
    """``make_files`` for a chunk of plaques (a worker's unit of work)."""
    config = load_plaque_config(Path(config_path) if config_path else None)
    return sum(make_files(item, Path(dest), config, pdf) for item in items)


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
    for path in dict.fromkeys((*candidates, *_fontconfig_candidates())):
        try:
            font = TTFont(FONT_NAME, path, subfontIndex=0)
        except (TTFError, OSError):
            continue  # missing, or PostScript outlines reportlab cannot embed
        if font.face.charToGlyph.get(ord("平")):
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
    p = config.plaque
    w, h, bleed = lay["width"], lay["height"], lay["bleed"]
    margin = bleed + CROP_GAP_MM + p.crop_mark_mm + 2

    def X(x: float) -> float:
        return (margin + x) * mm

    def Y(y: float) -> float:
        return (margin + h - y) * mm

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=((w + 2 * margin) * mm, (h + 2 * margin) * mm), invariant=True,
                      pageCompression=1, initialFontName=FONT_NAME)
    c.setTitle(lay["title"])
    c.setAuthor(config.issuer)
    c.setSubject(f"成品尺寸 {w:g}×{h:g} 毫米，出血 {bleed:g} 毫米，{p.material}")
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

    c.setFillColor(GOLD)
    c.setStrokeColor(GOLD)
    c.setLineWidth(1.5 * mm)
    for star in lay["stars"]:
        path = c.beginPath()
        (x0, y0), *rest = star["points"]
        path.moveTo(X(x0), Y(y0))
        for x, y in rest:
            path.lineTo(X(x), Y(y))
        path.close()
        c.saveState()
        if not star["earned"]:
            c.setStrokeAlpha(0.45)
        c.drawPath(path, stroke=not star["earned"], fill=star["earned"])
        c.restoreState()

    qr = lay["qr"]
    c.saveState()
    c.translate(X(qr["x"]), Y(qr["y"]))
    c.scale(qr["scale"] * mm, -qr["scale"] * mm)  # one unit per module, rows downwards
    c.setFillColor(WHITE)
    c.rect(0, 0, qr["n"], qr["n"], stroke=0, fill=1)
    c.setFillColor("#000000")
    dark = c.beginPath()
    for r, row in enumerate(matrix):
        col = 0
        for is_dark, run in groupby(row):  # one rectangle per run of dark modules
            n = len(list(run))
            if is_dark:
                dark.rect(col, r, n, 1)
            col += n
    c.drawPath(dark, stroke=0, fill=1)
    c.restoreState()

    if lay["demo"]:
        d = lay["demo"]
        c.saveState()
        c.translate(X(d["x"]), Y(d["y"]))
        c.rotate(-d["angle"])
        c.setFillColor(WHITE)
        c.setFillAlpha(0.5)
        c.setFont(FONT_NAME, d["size"] * mm)
        c.drawCentredString(0, 0, d["text"])
        c.restoreState()

    # Crop marks: hairlines in registration colour on the trim's edge lines, outside the bleed.
    c.setStrokeColorCMYK(*REGISTRATION)
    c.setLineWidth(0.25)
    start, end = bleed + CROP_GAP_MM, bleed + CROP_GAP_MM + p.crop_mark_mm
    for cx, sx in ((0, -1), (w, 1)):
        for cy, sy in ((0, -1), (h, 1)):
            c.line(X(cx + sx * start), Y(cy), X(cx + sx * end), Y(cy))
            c.line(X(cx), Y(cy + sy * start), X(cx), Y(cy + sy * end))
    c.setFont(FONT_NAME, 7)
    c.setFillColorCMYK(*REGISTRATION)
    c.drawString(X(0), Y(h + bleed + CROP_GAP_MM + 4), f"{item.serial} · 成品尺寸 {w:g}×{h:g} 毫米 · 出血 {bleed:g} 毫米 · "
                 f"{p.material} · 数量 {p.quantity} · 100% 比例输出")
    c.showPage()
    c.save()
    return buf.getvalue()
