"""Decoding helpers for the QR tests (zxing-cpp), and an SVG-path rasteriser.

The rasteriser reads the ``M x y h w v h h-w z`` rectangles of the SVG path back into a module
matrix, independently of how the path was written, so decoding it checks the SVG's
geometry, not the matrix it came from.
"""
from __future__ import annotations

import re

import numpy as np
import zxingcpp
from PIL import Image

_RUN = re.compile(r"M(\d+) (\d+)h(\d+)v(\d+)h-(\d+)z")


def decode(image: Image.Image) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(image)]


def matrix_from_path(d: str, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=bool)
    consumed = 0
    for match in _RUN.finditer(d):
        x, y, w, h, w2 = map(int, match.groups())
        assert w == w2 and h >= 1
        assert not m[y:y + h, x:x + w].any(), "rectangles overlap"
        m[y:y + h, x:x + w] = True
        consumed += len(match.group(0))
    assert consumed == len(d), "the path holds something other than module runs"
    return m


def raster(matrix: np.ndarray, px: int = 4) -> Image.Image:
    big = np.repeat(np.repeat(~matrix, px, axis=0), px, axis=1)
    return Image.fromarray(big.astype(np.uint8) * 255, mode="L")


def decode_batch(batch_dir) -> list[tuple[str, list[str]]]:
    """Every QR PNG of a batch that does not decode to its manifest URL: (serial, decoded)."""
    import csv
    from pathlib import Path

    batch_dir = Path(batch_dir)
    failures = []
    with open(batch_dir / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            if row["action"] == "withdraw":
                continue
            img = Image.open(batch_dir / "qr" / f"{row['serial']}.png").convert("L")
            # Decoding at a quarter of the 600-dpi size keeps ≥ 6 px a module and is much faster.
            got = decode(img.reduce(4))
            if got != [row["url"]]:
                failures.append((row["serial"], got))
    return failures
