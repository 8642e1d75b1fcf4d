"""Decoding helpers for the QR tests (zxing-cpp), and an SVG-path rasteriser.

The rasteriser reads the ``Mx,yHx2Vy2Hxz`` rectangles of ``qrcode``'s SVG path back into a module
matrix, independently of how the path was written, so decoding it checks the SVG's
geometry, not the matrix it came from.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import zxingcpp
from PIL import Image

_RUN = re.compile(r"M(\d+),(\d+)H(\d+)V(\d+)H(\d+)z")


def decode(image: Image.Image) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(image)]


def matrix_from_path(d: str, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=bool)
    consumed = 0
    for match in _RUN.finditer(d):
        x, y, x2, y2, back = map(int, match.groups())
        w, h = x2 - x, y2 - y
        assert back == x and w >= 1 and h >= 1
        assert not m[y:y + h, x:x + w].any(), "rectangles overlap"
        m[y:y + h, x:x + w] = True
        consumed += len(match.group(0))
    assert consumed == len(d), "the path holds something other than module runs"
    return m


def raster(matrix: np.ndarray, px: int = 4) -> Image.Image:
    big = np.repeat(np.repeat(~matrix, px, axis=0), px, axis=1)
    return Image.fromarray(big.astype(np.uint8) * 255, mode="L")


def decode_svg(data: bytes) -> list[str]:
    """What the QR code of ``qrcode``'s SVG path image decodes to, from its path's geometry."""
    svg = ET.fromstring(data)
    n = int(svg.get("viewBox").split()[2])
    return decode(raster(matrix_from_path(svg.find("{http://www.w3.org/2000/svg}path").get("d"), n)))
