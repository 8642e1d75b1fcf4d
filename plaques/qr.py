"""QR codes for plaques: the module matrix, a compact vector SVG and a 600-dpi PNG.

The ``qrcode`` package encodes the data (segments, Reed–Solomon blocks; error correction
Q, for outdoor plaques that weather and get dirty). Placing the bits and choosing the mask
is done here with NumPy instead of ``qrcode``'s pure-Python loops (eight full builds scored
module by module, ~5 ms a code): the placement order of each version is computed once, and
the eight masks are applied and scored in one batch, with ``qrcode``'s own scoring rules so
both pick the same mask — a demo run prints thousands of codes. The PNG is written directly
(1-bit, PNG "Up" filter, fast deflate), several times faster than going through Pillow.
"""
from __future__ import annotations

import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import qrcode
from qrcode import util
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.main import precomputed_qr_blanks

from plaques.qr_codewords import create_data

QUIET_ZONE = 4  # modules of light margin on every side, as the standard asks
ERROR_CORRECTION = ERROR_CORRECT_Q
DEFAULT_MODULE_MM = 1.0
DEFAULT_DPI = 600
# The two finder-like patterns of rule 3 as 11-bit numbers (first module = highest bit).
_FINDER_LIKE = (0b10111010000, 0b00001011101)


def _grid(modules: list[list[bool | None]]) -> tuple[np.ndarray, np.ndarray]:
    """(value, is_set) arrays of a ``qrcode`` module grid that may hold ``None``."""
    is_set = np.array([[m is not None for m in row] for row in modules], dtype=bool)
    value = np.array([[bool(m) for m in row] for row in modules], dtype=bool)
    return value, is_set


@lru_cache(maxsize=128)
def _function_layer(version: int, error_correction: int, mask: int, test: bool = False
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Function patterns and format/version info of one version and mask: (values, data_area).

    ``test`` leaves format and version info light, as ``qrcode`` does while scoring masks.
    """
    qr = qrcode.QRCode(version=version, error_correction=error_correction, border=0)
    qr.modules_count = version * 4 + 17
    if version not in precomputed_qr_blanks:
        qr.add_data("0")
        qr.makeImpl(False, 0)
    qr.modules = [row[:] for row in precomputed_qr_blanks[version]]
    qr.setup_type_info(test, mask)
    if version >= 7:
        qr.setup_type_number(test)
    value, is_set = _grid(qr.modules)
    return value, ~is_set


@lru_cache(maxsize=64)
def _placement(version: int, error_correction: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the data modules in bit order (the standard's two-column zigzag)."""
    _, data_area = _function_layer(version, error_correction, 0)
    n = data_area.shape[0]
    rows, cols, upward = [], [], True
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1  # the vertical timing pattern shifts the zigzag left by one
        for r in (range(n - 1, -1, -1) if upward else range(n)):
            for c in (col, col - 1):
                if data_area[r, c]:
                    rows.append(r)
                    cols.append(c)
        upward = not upward
    return np.array(rows), np.array(cols)


@lru_cache(maxsize=64)
def _masks(version: int) -> np.ndarray:
    """The eight mask patterns of a version, shape (8, n, n)."""
    n = version * 4 + 17
    rows, cols = np.indices((n, n))
    return np.stack([np.vectorize(util.mask_func(k))(rows, cols).astype(bool) for k in range(8)])


@lru_cache(maxsize=64)
def _layers(version: int, error_correction: int, test: bool) -> np.ndarray:
    return np.stack([_function_layer(version, error_correction, k, test)[0] for k in range(8)])


def _run_penalties(a: np.ndarray) -> np.ndarray:
    """Rule 1 per symbol of a (k, n, n) stack: each row run of 5+ same-colour modules
    scores its length - 2."""
    k, n, _ = a.shape
    s = np.concatenate([a.astype(np.int8), np.full((k, n, 1), 2, np.int8)], axis=2).ravel()
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    lengths = np.diff(np.r_[starts, s.size])
    keep = (s[starts] != 2) & (lengths >= 5)
    return np.bincount(starts[keep] // (n * (n + 1)), weights=lengths[keep] - 2, minlength=k).astype(np.int64)


def _finder_penalties(a: np.ndarray) -> np.ndarray:
    """Rule 3 per symbol: 40 for every finder-like 1:1:3:1:1 pattern along a row."""
    width = a.shape[2] - 10
    code = np.zeros(a.shape[:2] + (width,), dtype=np.int16)
    for i in range(11):  # each window of 11 modules as an 11-bit number
        code = (code << 1) | a[:, :, i:i + width]
    return 40 * ((code == _FINDER_LIKE[0]) | (code == _FINDER_LIKE[1])).sum(axis=(1, 2))


def penalties(stack: np.ndarray) -> np.ndarray:
    """The mask penalty (ISO/IEC 18004 §7.8.3, as ``qrcode`` computes it) of each symbol
    of a (k, n, n) stack without quiet zone."""
    cols = stack.swapaxes(1, 2)
    n1 = _run_penalties(stack) + _run_penalties(np.ascontiguousarray(cols))
    a = stack
    same = (a[:, :-1, :-1] == a[:, 1:, :-1]) & (a[:, :-1, :-1] == a[:, :-1, 1:]) & (a[:, :-1, :-1] == a[:, 1:, 1:])
    n2 = 3 * same.sum(axis=(1, 2))
    n3 = _finder_penalties(stack) + _finder_penalties(cols)
    dark = stack.mean(axis=(1, 2)) * 100
    n4 = 10 * (np.abs(dark - 50) // 5).astype(np.int64)
    return n1 + n2 + n3 + n4


def penalty(m: np.ndarray) -> int:
    """The mask penalty of one symbol."""
    return int(penalties(m[None])[0])


def _symbol(url: str, error_correction: int) -> np.ndarray:
    """The symbol (no quiet zone) of ``url`` with the lowest-penalty mask."""
    qr = qrcode.QRCode(error_correction=error_correction, border=0)
    qr.add_data(url)
    version = qr.best_fit()
    data = create_data(version, error_correction, qr.data_list)
    bits = np.unpackbits(np.asarray(data, dtype=np.uint8)).astype(bool)
    rows, cols = _placement(version, error_correction)
    _, data_area = _function_layer(version, error_correction, 0)
    placed = np.zeros(data_area.shape, dtype=bool)
    placed[rows[:bits.size], cols[:bits.size]] = bits[:rows.size]
    masked = placed[None] ^ _masks(version)
    # Scored like qrcode scores it (format info blank), so both pick the same mask.
    scores = penalties(np.where(data_area, masked, _layers(version, error_correction, True)))
    best = int(np.argmin(scores))  # the first of equals, as qrcode takes
    return np.where(data_area, masked[best], _layers(version, error_correction, False)[best])


def qr_matrix(url: str, *, error_correction: int = ERROR_CORRECTION) -> np.ndarray:
    """The QR code of ``url`` as a boolean matrix (True = dark), quiet zone included."""
    return np.pad(_symbol(url, error_correction), QUIET_ZONE, constant_values=False)


def svg_path(matrix: np.ndarray) -> str:
    """One compact SVG path drawing the dark modules: a rectangle per horizontal run,
    stacked runs of the same position and width merged into one taller rectangle."""
    n_rows, n_cols = matrix.shape
    padded = np.zeros((n_rows, n_cols + 2), dtype=np.int8)
    padded[:, 1:-1] = matrix
    edges = np.diff(padded, axis=1)
    ys, xs = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    ws = ends - xs
    order = np.lexsort((ys, ws, xs))  # by x, then width, then row
    ys, xs, ws = ys[order], xs[order], ws[order]
    starts = np.ones(ys.size, dtype=bool)
    starts[1:] = (xs[1:] != xs[:-1]) | (ws[1:] != ws[:-1]) | (ys[1:] != ys[:-1] + 1)
    idx = np.flatnonzero(starts)
    heights = np.diff(np.r_[idx, ys.size])
    ys, xs, ws = ys[idx], xs[idx], ws[idx]
    order = np.lexsort((xs, ys))  # drawn top to bottom, left to right
    return "".join(
        f"M{x} {y}h{w}v{h}h-{w}z"
        for x, y, w, h in zip(xs[order].tolist(), ys[order].tolist(), ws[order].tolist(), heights[order].tolist())
    )


def qr_svg(url: str) -> str:
    """A standalone vector SVG of the QR code of ``url`` (one module = one user unit)."""
    m = qr_matrix(url)
    n = m.shape[0]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" width="{n}mm" height="{n}mm" '
        f'shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{svg_path(m)}"/></svg>\n'
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(matrix: np.ndarray, px_per_module: int, dpi: int) -> bytes:
    """A 1-bit greyscale PNG of a QR matrix, ``px_per_module`` pixels a module, tagged ``dpi``."""
    # Packed rows of one module row, repeated: white = 1 in a 1-bit greyscale PNG.
    rows = np.repeat(np.packbits(np.repeat(~matrix, px_per_module, axis=1), axis=1), px_per_module, axis=0)
    # PNG filter "Up": a row equal to the one above becomes zeros, which deflate at once.
    up = rows.copy()
    up[1:] -= rows[:-1]
    raw = np.concatenate([np.full((rows.shape[0], 1), 2, np.uint8), up], axis=1).tobytes()
    height, width = matrix.shape[0] * px_per_module, matrix.shape[1] * px_per_module
    ppm = round(dpi / 0.0254)
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + _chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1))
            + _chunk(b"IDAT", zlib.compress(raw, 1))
            + _chunk(b"IEND", b""))


def write_qr_png(url: str, path: Path, *, module_mm: float = DEFAULT_MODULE_MM, dpi: int = DEFAULT_DPI,
                 matrix: np.ndarray | None = None) -> Path:
    """Write the QR code of ``url`` as a 1-bit PNG at ``dpi`` with modules ``module_mm`` wide.

    A module is a whole number of pixels (rounded), so the printed module is within half a
    pixel (0.02 mm at 600 dpi) of ``module_mm``; pass ``matrix`` to reuse one already built.
    """
    m = qr_matrix(url) if matrix is None else matrix
    px = max(1, round(module_mm / 25.4 * dpi))
    path = Path(path)
    path.write_bytes(png_bytes(m, px, dpi))
    return path
