"""Plaque artwork (牌匾设计稿) as print-ready SVG, one per plaque.

A 600 × 400 mm landscape plaque: the programme title, the compound's name, its stars as
star shapes, the rating year, the serial and the signed QR code as vector paths. Chinese
text stays text (with a CJK font stack) so the printer's RIP sets it sharply.
"""
from __future__ import annotations

import math
from typing import Self

import numpy as np

from plaques.qr import qr_matrix, svg_path
from plaques.stencil import Stencils, esc, slot
from plaques.templates import FONT_STACK, template

WIDTH_MM, HEIGHT_MM = 600, 400
QR_SIZE_MM = 150.0
NAME_BOX_MM = 340.0
STAR_RADIUS_MM = 26.0


def star_points(cx: float, cy: float, r: float) -> str:
    """The ``points`` of a five-pointed star centred on (cx, cy), outer radius ``r``."""
    inner = r * math.sin(math.radians(18)) / math.sin(math.radians(54))
    pts = []
    for k in range(10):
        rad = r if k % 2 == 0 else inner
        a = math.radians(-90 + 36 * k)
        pts.append(f"{cx + rad * math.cos(a):.2f},{cy + rad * math.sin(a):.2f}")
    return " ".join(pts)


def _star_row(stars: int, x0: float, y: float) -> list[dict]:
    step = STAR_RADIUS_MM * 2.3
    return [{"points": star_points(x0 + STAR_RADIUS_MM + i * step, y, STAR_RADIUS_MM), "earned": i < stars}
            for i in range(5)]


def name_font_size(name: str, box_mm: float = NAME_BOX_MM, largest: float = 64.0) -> float:
    """A font size (mm) at which ``name`` fits on one line of ``box_mm``."""
    # CJK glyphs are about one em wide, Latin letters and digits about half.
    ems = sum(1.0 if ord(ch) > 0x2E80 else 0.62 for ch in name) or 1.0
    return round(min(largest, box_mm / ems), 1)


def _context(*, name: str, stars: int, year: int | str, serial: str, n: int, d: str, district: str,
             street: str) -> dict:
    qr_x, qr_y = WIDTH_MM - 40 - QR_SIZE_MM, 130.0
    return {
        "width": WIDTH_MM, "height": HEIGHT_MM, "name": name,
        "name_size": name.size if isinstance(name, Slot) else name_font_size(name),
        "stars": stars, "star_row": _star_row(stars, 40.0, 280.0), "year": year, "serial": serial,
        "district": district, "street": street, "font_stack": FONT_STACK,
        "qr": {"x": qr_x, "y": qr_y, "size": QR_SIZE_MM, "scale": QR_SIZE_MM / n, "n": n, "d": d},
    }


def render_plaque_svg(*, name: str, stars: int, year: int, serial: str, url: str,
                      matrix: np.ndarray | None = None, district: str = "", street: str = "",
                      qr_path: str | None = None) -> str:
    """The SVG artwork of one plaque; ``matrix`` (and its ``qr_path``) reuse a QR code
    already built for ``url``."""
    m = qr_matrix(url) if matrix is None else matrix
    d = svg_path(m) if qr_path is None else qr_path
    return template("plaque_artwork.svg.j2").render(**_context(
        name=name, stars=stars, year=year, serial=serial, n=m.shape[0], d=d, district=district, street=street))


class Slot(str):
    """The name's slot marker, carrying the font size of the names it stands for."""

    size: float

    def __new__(cls, size: float) -> Self:
        marker = super().__new__(cls, slot("name"))
        marker.size = size
        return marker


class ArtworkRenderer:
    """``render_plaque_svg`` for a whole batch: one template render per variant (stars, name
    size, QR size, whether there is a district or street line), string fills for the rest."""

    FIELDS = ("name", "year", "serial", "d", "district", "street")

    def __init__(self, year: int) -> None:
        self.year = year
        self.stencils = Stencils(lambda: template("plaque_artwork.svg.j2"), self.FIELDS, self._marked,
                                 lambda item: _context(year=self.year, **item))

    def _marked(self, key: tuple) -> dict:
        stars, size, n, placed = key
        return _context(name=Slot(size), stars=stars, year=slot("year"), serial=slot("serial"), n=n, d=slot("d"),
                        district=slot("district") if placed else "", street=slot("street") if placed else "")

    @staticmethod
    def key(*, name: str, stars: int, n: int, district: str = "", street: str = "") -> tuple:
        """The variant of a plaque: what the template computes with."""
        return stars, name_font_size(name), n, bool(district or street)

    def render(self, *, name: str, stars: int, serial: str, n: int, d: str, district: str = "",
               street: str = "") -> str:
        """The artwork of one plaque (the same text ``render_plaque_svg`` gives)."""
        key = self.key(name=name, stars=stars, n=n, district=district, street=street)
        values = (esc(name), str(self.year), esc(serial), esc(d), esc(district), esc(street))
        item = {"name": name, "stars": stars, "serial": serial, "n": n, "d": d, "district": district, "street": street}
        return self.stencils.fill(key, values, item)
