"""The print files of a chunk of plaques, made in the pull's worker processes (no Polars, no
template environment): each plaque's QR code SVG and the chunk's print-ready PDF (docs/PLAQUES.md).
Each file is written under a temporary name and renamed: a file that exists is whole, so an
interrupted pull resumes by skipping what exists.
"""
from __future__ import annotations

import io
import os
import subprocess
from functools import lru_cache
from itertools import groupby
from pathlib import Path

from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas

from plaques.artwork import GOLD, RED, WHITE, PlaqueItem, layout, qr_code, qr_svg
from plaques.config import PlaqueConfig, load_plaque_config

FONT_NAME = "PlaqueCJK"
CROP_GAP_MM = 1.0  # crop marks start this far outside the bleed
REGISTRATION = (1, 1, 1, 1)  # CMYK: crop marks print on every plate
rl_config.useA85 = 0  # binary compressed streams: ASCII85 only makes a print PDF larger and slower


def chunks(items: list[PlaqueItem], size: int) -> list[list[PlaqueItem]]:
    """The pull's units of work, one PDF each: up to ``size`` plaques of one district (the
    serial's first part), in the order of ``items`` (by serial)."""
    districts = (list(group) for _, group in groupby(items, key=lambda it: it.serial.split("-")[0]))
    return [d[i:i + size] for d in districts for i in range(0, len(d), size)]


def pdf_of(chunk: list[PlaqueItem]) -> str:
    """The batch-relative PDF of a chunk, named by its first and last serial."""
    return f"pdf/{chunk[0].serial}{'_' + chunk[-1].serial if len(chunk) > 1 else ''}.pdf"


def files_of(serial: str) -> list[str]:
    """The batch-relative files of one plaque (its page of the chunk's PDF aside): its artwork
    (made by the pull's main process) and its QR code."""
    return [f"art/{serial}.svg", f"qr/{serial}.svg"]


def write_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def make_files(item: PlaqueItem, dest: Path) -> int:
    """Make the missing QR code file of ``item`` under ``dest``; returns how many were made."""
    path = dest / "qr" / f"{item.serial}.svg"
    if path.exists():
        return 0
    write_file(path, qr_svg(qr_code(item.url)))
    return 1


def make_chunk(items: list[PlaqueItem], dest: Path, pdf: bool = True) -> int:
    """The missing files of a chunk of plaques, its PDF last (a worker's unit of work); returns
    how many were made."""
    made = sum(make_files(item, dest) for item in items)
    if pdf and not (dest / pdf_of(items)).exists():
        write_file(dest / pdf_of(items), plaques_pdf(items, load_plaque_config()))
        made += 1
    return made


def _fontconfig_candidates() -> list[str]:
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):  # no fontconfig
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
    raise ValueError("no Chinese TrueType font to embed in the print PDF: install one (Debian/Ubuntu: "
                       "apt-get install fonts-wqy-zenhei) or list its file under pdf_fonts in config/plaques.yaml; "
                       "or pull with --no-pdf")


def _draw_texts(c: canvas.Canvas, texts: list[tuple], X, Y) -> None:
    for x, y, size, colour, anchor, text, _bold in texts:
        c.setFont(FONT_NAME, size * mm)
        c.setFillColor(colour)
        draw = {"start": c.drawString, "middle": c.drawCentredString, "end": c.drawRightString}[anchor]
        draw(X(x), Y(y), text)


def plaques_pdf(items: list[PlaqueItem], config: PlaqueConfig) -> bytes:
    """One page a plaque at 100 % with its bleed, crop marks and a slug line stating the
    physical size and material. What every plaque shares (ground, frame, fixed texts, crop
    marks) is one form XObject drawn on every page, and the font subset is embedded once."""
    register_cjk_font(tuple(config.pdf_fonts))
    p = config.plaque
    w, h, bleed = p.width_mm, p.height_mm, p.bleed_mm
    margin = bleed + CROP_GAP_MM + p.crop_mark_mm + 2

    def X(x: float) -> float:
        return (margin + x) * mm

    def Y(y: float) -> float:
        return (margin + h - y) * mm

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=((w + 2 * margin) * mm, (h + 2 * margin) * mm), invariant=True,
                      pageCompression=1, initialFontName=FONT_NAME)
    demo = "样例 " if any(it.demo for it in items) else ""
    c.setTitle(f"{demo}平安星级小区牌匾 {items[0].serial} – {items[-1].serial}（{len(items)} 块）")
    c.setAuthor(config.issuer)
    c.setSubject(f"成品尺寸 {w:g}×{h:g} 毫米，出血 {bleed:g} 毫米，{p.material}")
    c.setCreator("SafeStar plaques")
    c.setTrimBox((X(0), Y(h), X(w), Y(0)))
    c.setBleedBox((X(-bleed), Y(h + bleed), X(w + bleed), Y(-bleed)))

    lay = layout(items[0], config, 1)
    qr = lay["qr"]
    c.beginForm("plaque")
    c.setFillColor(RED)
    c.rect(X(-bleed), Y(h + bleed), (w + 2 * bleed) * mm, (h + 2 * bleed) * mm, stroke=0, fill=1)
    c.setStrokeColor(GOLD)
    c.setLineWidth(3 * mm)
    c.roundRect(X(10), Y(h - 10), (w - 20) * mm, (h - 20) * mm, 8 * mm, stroke=1, fill=0)
    _draw_texts(c, lay["static"], X, Y)
    c.setFillColor(WHITE)
    c.rect(X(qr["x"]), Y(qr["y"] + qr["size"]), qr["size"] * mm, qr["size"] * mm, stroke=0, fill=1)
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
    c.drawString(X(0), Y(h + bleed + CROP_GAP_MM + 4), f"成品尺寸 {w:g}×{h:g} 毫米 · 出血 {bleed:g} 毫米 · {p.material} · "
                 f"数量 {p.quantity} · 100% 比例输出")
    c.endForm()

    for item in items:
        matrix = qr_code(item.url).get_matrix()
        lay = layout(item, config, len(matrix))
        c.doForm("plaque")
        _draw_texts(c, lay["texts"], X, Y)
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
            c.setStrokeAlpha(1 if star["earned"] else 0.45)  # nothing is stroked after the stars
            c.drawPath(path, stroke=not star["earned"], fill=star["earned"])

        qr = lay["qr"]
        c.saveState()
        c.translate(X(qr["x"]), Y(qr["y"]))
        c.scale(qr["scale"] * mm, -qr["scale"] * mm)  # one unit per module, rows downwards
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

        if d := lay["demo"]:
            c.saveState()
            c.translate(X(d["x"]), Y(d["y"]))
            c.rotate(-d["angle"])
            c.setFillColor(WHITE)
            c.setFillAlpha(0.5)
            c.setFont(FONT_NAME, d["size"] * mm)
            c.drawCentredString(0, 0, d["text"])
            c.restoreState()

        c.setFont(FONT_NAME, 7)
        c.setFillColorCMYK(*REGISTRATION)
        c.drawRightString(X(w), Y(h + bleed + CROP_GAP_MM + 4), item.serial)
        c.showPage()
    c.save()
    return buf.getvalue()
