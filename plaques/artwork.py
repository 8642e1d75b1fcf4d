"""A plaque's design: its QR code (the ``qrcode`` package's encoder and SVG path image), its
layout in millimetres, drawn alike by the artwork SVG (``plaque_artwork.svg.j2``) and by the
print PDF (``plaques.printfiles``), and the artwork SVG itself. Chinese text stays text.
"""
from __future__ import annotations

import math
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import qrcode
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.image.svg import SvgPathImage

from plaques.config import PlaqueConfig
from reports.templating import cn_date, render_template

QUIET_ZONE = 4  # modules of light margin on every side, as the QR standard asks
RED, GOLD, WHITE, PINK = "#b0141e", "#f4d27a", "#ffffff", "#fbe3e4"
DEMO_MARK = "样例"  # on demo plaques: signed with the public demo key, not for a wall
STAR_RADIUS_MM = 26.0
NAME_BOX_MM = 340.0
# Chinese text must never fall back to a font without the glyphs (tofu on a printed
# plaque); Noto/Source Han on Linux printers' RIPs, YaHei on Windows.
FONT_STACK = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", '
              '"PingFang SC", sans-serif')


@dataclass(frozen=True)
class PlaqueItem:
    """One plaque to print, as the print batch holds it."""

    serial: str
    url: str
    name: str
    stars: int
    district: str
    street: str
    rated_on: date
    demo: bool


@lru_cache(maxsize=256)  # a worker's chunk encodes each URL once for its QR files and its PDF
def qr_code(url: str) -> qrcode.QRCode:
    """The QR code of a URL: error correction Q (outdoor plaques weather and get dirty), a
    4-module quiet zone, the smallest version."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=QUIET_ZONE)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_svg(code: qrcode.QRCode) -> bytes:
    """The QR code as ``qrcode``'s SVG path image; box size 10 draws one module per millimetre."""
    code.box_size = 10
    return code.make_image(image_factory=SvgPathImage).to_string(encoding="utf-8") + b"\n"


def star_points(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """The ten corners of a five-pointed star centred on (cx, cy), outer radius ``r``."""
    inner = r * math.sin(math.radians(18)) / math.sin(math.radians(54))
    return [(cx + (r if k % 2 == 0 else inner) * math.cos(math.radians(-90 + 36 * k)),
             cy + (r if k % 2 == 0 else inner) * math.sin(math.radians(-90 + 36 * k))) for k in range(10)]


def name_font_size(name: str, box_mm: float = NAME_BOX_MM, largest: float = 64.0) -> float:
    """A font size (mm) at which ``name`` fits on one line of ``box_mm``."""
    # CJK glyphs are about one em wide, Latin letters and digits about half.
    ems = sum(1.0 if ord(ch) > 0x2E80 else 0.62 for ch in name) or 1.0
    return round(min(largest, box_mm / ems), 1)


def printable(text: str) -> str:
    """``text`` without control and format characters (bidi overrides, zero-width marks):
    a plaque prints no invisible characters, and no font has a glyph for them."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))


def layout(item: PlaqueItem, config: PlaqueConfig, modules: int) -> dict:
    """Every element of the plaque in millimetres from the trim's top-left corner: ``static``
    texts (alike on every plaque) and the plaque's own ``texts`` are (x, y baseline, size,
    colour, anchor, text, bold)."""
    p = config.plaque
    w, h = p.width_mm, p.height_mm
    qr = {"x": w - 40 - p.qr_size_mm, "y": 130.0, "size": p.qr_size_mm, "n": modules, "scale": p.qr_size_mm / modules}
    name, place = printable(item.name), printable(f"{item.district}{item.street}")
    name_size = name_font_size(name)
    static = [
        (w / 2, 72, 46, GOLD, "middle", "平安星级小区", True),
        (w - 40, 378, 16, PINK, "end", f"颁发单位：{config.issuer}", False),
        (qr["x"] + qr["size"] / 2, qr["y"] + qr["size"] + 26, 17, WHITE, "middle", "扫码查看平安档案", False),
        (qr["x"] + qr["size"] / 2, qr["y"] + qr["size"] + 48, 17, WHITE, "middle", "反映安全需求", False),
    ]
    texts = [
        (40, 128 + name_size * 0.85, name_size, WHITE, "start", name, True),
        (40, 346, 24, WHITE, "start", f"评定日期 {cn_date(item.rated_on)} · {item.stars}星", False),
        (40, 378, 16, PINK, "start", f"编号 {item.serial}", False),
    ]
    if place:
        texts.append((40, 226, 20, PINK, "start", place, False))
    step = STAR_RADIUS_MM * 2.3
    stars = [{"points": star_points(40 + STAR_RADIUS_MM + i * step, 280, STAR_RADIUS_MM), "earned": i < item.stars}
             for i in range(5)]
    # Left of the QR code, which it must not cover (the code would stop scanning).
    demo = {"x": qr["x"] / 2 + 20, "y": h / 2 + 50, "size": 140, "angle": -18, "text": DEMO_MARK} if item.demo else None
    return {"width": w, "height": h, "bleed": p.bleed_mm, "static": static, "texts": texts, "stars": stars, "qr": qr,
            "demo": demo, "title": f"{DEMO_MARK + ' ' if item.demo else ''}平安星级小区 {name} {item.stars}星 "
            f"{cn_date(item.rated_on)} {item.serial}"}


def artwork_svg(item: PlaqueItem, qr: bytes, config: PlaqueConfig) -> bytes:
    """The plaque's artwork: an SVG of the trim size plus bleed, in millimetres, the QR code
    drawn with the path of its ``qr_svg`` image (one module per unit of its viewBox)."""
    image = ET.fromstring(qr)
    path = image.find("{http://www.w3.org/2000/svg}path")
    lay = layout(item, config, int(float(image.get("viewBox").split()[2])))
    stars = [{"points": " ".join(f"{x:.2f},{y:.2f}" for x, y in s["points"]), "earned": s["earned"]}
             for s in lay["stars"]]
    return render_template("plaque_artwork.svg.j2", lay=lay, stars=stars, qr_d=path.get("d"), font_stack=FONT_STACK,
                           red=RED, gold=GOLD).encode("utf-8")
