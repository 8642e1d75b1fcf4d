"""QR codes for plaques: the module matrix, a compact vector SVG and a 600-dpi PNG.

Contract: error correction Q (outdoor plaques weather and get dirty), a quiet zone of 4
light modules on every side, and in the PNG one module = ``DEFAULT_MODULE_MM`` (1 mm) at
``DEFAULT_DPI`` (600 dpi), rounded to whole pixels (24 px). Every matrix is the one the
``qrcode`` package builds for the same text, its mask choice included (the tests compare).

A print batch encodes 100,000 URLs of one pattern, so the work is done for many at once:
``qrcode`` chooses the segments and version once per layout (``plaques.qr_codewords``),
codewords and Reed–Solomon blocks are computed for the whole group with NumPy, and the
eight masks of every symbol are scored on bit-packed rows and columns (one 64-bit integer
per line: runs, 2×2 blocks and finder-like patterns become shifts, ANDs and popcounts),
with ``qrcode``'s own scoring rules. SVG paths come from run widths and heights of the
whole stack; the PNG is written directly (1-bit, PNG "Up" filter, deflated by ISA-L).
"""
from __future__ import annotations

import struct
import threading
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import qrcode

try:  # ISA-L deflates the PNGs' long zero runs several times faster than zlib
    from isal import isal_zlib as _deflate
except ImportError:  # pragma: no cover - same images, other compressed bytes
    _deflate = zlib
from qrcode import util
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.main import precomputed_qr_blanks

from plaques.qr_codewords import Layout, codewords, layout

QUIET_ZONE = 4  # modules of light margin on every side, as the standard asks
ERROR_CORRECTION = ERROR_CORRECT_Q
DEFAULT_MODULE_MM = 1.0
DEFAULT_DPI = 600
# The two finder-like patterns of rule 3 as 11-bit numbers (first module = highest bit).
_FINDER_LIKE = (0b10111010000, 0b00001011101)
DEFLATE_LEVEL = 1
GROUP = 256  # symbols scored together: 8 masks each, a few MB of arrays


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


def _penalties_dense(stack: np.ndarray) -> np.ndarray:
    """``penalties`` on module arrays (any size; the reference for the packed form)."""
    cols = stack.swapaxes(1, 2)
    n1 = _run_penalties(stack) + _run_penalties(np.ascontiguousarray(cols))
    a = stack
    same = (a[:, :-1, :-1] == a[:, 1:, :-1]) & (a[:, :-1, :-1] == a[:, :-1, 1:]) & (a[:, :-1, :-1] == a[:, 1:, 1:])
    n2 = 3 * same.sum(axis=(1, 2))
    n3 = _finder_penalties(stack) + _finder_penalties(cols)
    return n1 + n2 + n3 + _balance_penalty(stack.sum(axis=(1, 2)), stack.shape[1])


def _balance_penalty(dark: np.ndarray, n: int) -> np.ndarray:
    """Rule 4, in ``qrcode``'s own arithmetic: 10 per whole 5 % the dark share is off 50 %."""
    return 10 * np.trunc(np.abs(dark.astype(np.float64) / (n * n) * 100 - 50) / 5).astype(np.int64)


def pack_lines(stack: np.ndarray) -> np.ndarray:
    """The rows of a (..., n, n) module stack as (..., n) integers, bit c = column c (n <= 64)."""
    packed = np.packbits(stack, axis=-1, bitorder="little")
    wide = np.zeros(packed.shape[:-1] + (8,), dtype=np.uint8)
    wide[..., :packed.shape[-1]] = packed
    return wide.view("<u8")[..., 0]


def _low(bits: int) -> np.uint64:
    return np.uint64((1 << bits) - 1)


def _line_penalties(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rules 1 and 3 along the lines of (k, n) packed lines, and the equal-neighbour bits."""
    count = np.bitwise_count
    same = ~(x ^ (x >> 1)) & _low(n - 1)  # bit c: modules c and c + 1 alike
    five = same & (same >> 1) & (same >> 2) & (same >> 3) & _low(n - 4)  # bit c: c..c+4 alike
    # A run of L >= 5 has L - 4 windows of five and one start: L - 2 points.
    n1 = count(five).sum(axis=1, dtype=np.int64) + 2 * count(five & ~(same << 1)).sum(axis=1, dtype=np.int64)
    nx = ~x
    core = x & (nx >> 1) & (x >> 2) & (x >> 3) & (x >> 4) & (nx >> 5) & (x >> 6)  # 1011101 from c
    light = nx & (nx >> 1) & (nx >> 2) & (nx >> 3)  # 0000 from c
    finder = count(((core & (light >> 7)) | (light & (core >> 4))) & _low(n - 10)).sum(axis=1, dtype=np.int64)
    return n1 + 40 * finder, same


def penalties_packed(rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """``penalties`` of k symbols given as packed rows and packed columns, (k, n) each."""
    along_rows, same = _line_penalties(rows, n)
    along_cols, _ = _line_penalties(cols, n)
    # A 2x2 block: both rows alike across c, c + 1 and the two rows alike at c.
    block = same[:, :-1] & same[:, 1:] & ~(rows[:, :-1] ^ rows[:, 1:])
    n2 = 3 * np.bitwise_count(block).sum(axis=1, dtype=np.int64)
    dark = np.bitwise_count(rows).sum(axis=1, dtype=np.int64)
    return along_rows + along_cols + n2 + _balance_penalty(dark, n)


def penalties(stack: np.ndarray) -> np.ndarray:
    """The mask penalty (ISO/IEC 18004 §7.8.3, as ``qrcode`` computes it) of each symbol
    of a (k, n, n) stack without quiet zone."""
    n = stack.shape[1]
    if n > 64:
        return _penalties_dense(stack)
    return penalties_packed(pack_lines(stack), pack_lines(stack.swapaxes(1, 2)), n)


def penalty(m: np.ndarray) -> int:
    """The mask penalty of one symbol."""
    return int(penalties(m[None])[0])


@lru_cache(maxsize=64)
def _packed_layers(version: int, error_correction: int) -> tuple:
    """Masks, data area and scoring layers of a version as packed rows and columns."""
    _, area = _function_layer(version, error_correction, 0)
    masks, layers = _masks(version), _layers(version, error_correction, True)
    return tuple((pack_lines(masks.swapaxes(1, 2) if t else masks), pack_lines(area.T if t else area),
                  pack_lines(layers.swapaxes(1, 2) if t else layers)) for t in (False, True))


def _symbols(data: np.ndarray, lay: Layout, error_correction: int) -> np.ndarray:
    """The symbols (no quiet zone) of a (b, length) array of data bytes sharing ``lay``,
    each with its lowest-penalty mask."""
    version = lay.version
    bits = np.unpackbits(codewords(data, lay, error_correction), axis=1).astype(bool)
    rows, cols = _placement(version, error_correction)
    _, data_area = _function_layer(version, error_correction, 0)
    b, n = data.shape[0], data_area.shape[0]
    used = min(bits.shape[1], rows.size)
    placed = np.zeros((b, n, n), dtype=bool)
    placed[:, rows[:used], cols[:used]] = bits[:, :used]
    # Scored like qrcode scores it (format info blank), so both pick the same mask.
    if n <= 64:  # eight masked symbols as packed lines, rows and columns
        lines = []
        for view, (masks, area, layers) in zip((placed, placed.swapaxes(1, 2)), _packed_layers(version, error_correction)):
            lines.append((((pack_lines(view)[:, None] ^ masks) & area) | (layers & ~area)).reshape(b * 8, n))
        scores = penalties_packed(lines[0], lines[1], n)
    else:
        masked = placed[:, None] ^ _masks(version)[None]
        scores = penalties(np.where(data_area, masked, _layers(version, error_correction, True)).reshape(b * 8, n, n))
    best = np.argmin(scores.reshape(b, 8), axis=1)  # the first of equals, as qrcode takes
    final = placed ^ _masks(version)[best]
    return np.where(data_area, final, _layers(version, error_correction, False)[best])


def qr_matrices(urls: list[str], *, error_correction: int = ERROR_CORRECTION) -> list[np.ndarray]:
    """The QR codes of ``urls`` as boolean matrices (True = dark), quiet zone included.

    URLs of one pattern share a layout and are encoded together, ``GROUP`` at a time.
    """
    data = [u.encode("utf-8") for u in urls]
    groups: dict[Layout, list[int]] = {}
    for i, d in enumerate(data):
        groups.setdefault(layout(d, error_correction), []).append(i)
    out: list[np.ndarray | None] = [None] * len(urls)
    for lay, members in groups.items():
        for at in range(0, len(members), GROUP):
            idx = members[at:at + GROUP]
            chars = np.frombuffer(b"".join(data[i] for i in idx), dtype=np.uint8).reshape(len(idx), lay.length)
            stack = np.pad(_symbols(chars, lay, error_correction), ((0, 0), (QUIET_ZONE,) * 2, (QUIET_ZONE,) * 2))
            for i, m in zip(idx, stack):
                out[i] = m
    return out


def matrix_size(url: str, *, error_correction: int = ERROR_CORRECTION) -> int:
    """The side of ``url``'s QR matrix in modules, quiet zone included, without encoding it."""
    return layout(url.encode("utf-8"), error_correction).version * 4 + 17 + 2 * QUIET_ZONE


def qr_matrix(url: str, *, error_correction: int = ERROR_CORRECTION) -> np.ndarray:
    """The QR code of ``url`` as a boolean matrix (True = dark), quiet zone included."""
    return qr_matrices([url], error_correction=error_correction)[0]


@lru_cache(maxsize=8)
def _path_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    """``M{x} {y}`` and ``h{w}v{h}h-{w}z`` for every pair below ``size`` (index a * size + b)."""
    heads = np.array([f"M{x} {y}" for x in range(size) for y in range(size)], dtype=object)
    tails = np.array([f"h{w}v{h}h-{w}z" for w in range(size) for h in range(size)], dtype=object)
    return heads, tails


def svg_paths(stack: np.ndarray) -> list[str]:
    """``svg_path`` of each matrix of a (b, rows, cols) stack, computed together."""
    b, n_rows, n_cols = stack.shape
    stride = n_cols + 1  # a light column after each row keeps runs within their row
    cells = np.zeros((b, n_rows, stride), dtype=np.int8)
    cells[:, :, :n_cols] = stack
    flat = np.concatenate([np.zeros(1, np.int8), cells.ravel()])
    edges = np.diff(flat)
    starts = np.flatnonzero(edges == 1)
    widths = np.zeros(cells.size, dtype=np.int32)  # at the first module of each run: its width
    widths[starts] = np.flatnonzero(edges == -1) - starts
    widths = widths.reshape(b, n_rows, stride)
    # A run under a run of the same column and width extends that rectangle downwards.
    continues = np.zeros(widths.shape, dtype=bool)
    continues[:, 1:] = (widths[:, 1:] > 0) & (widths[:, 1:] == widths[:, :-1])
    heights = (widths > 0).astype(np.int32)
    for y in range(n_rows - 2, -1, -1):  # rows below first: how far each rectangle reaches
        heights[:, y] += np.where(continues[:, y + 1], heights[:, y + 1], 0)
    first = np.flatnonzero((widths > 0) & ~continues)  # symbol, row, column order: drawing order
    k, rest = np.divmod(first, n_rows * stride)
    ys, xs = np.divmod(rest, stride)
    size = max(n_rows, n_cols) + 1
    heads, tails = _path_tables(size)
    parts = np.empty(2 * first.size, dtype=object)
    parts[0::2] = heads[xs * size + ys]
    parts[1::2] = tails[widths.ravel()[first] * size + heights.ravel()[first]]
    bounds = (np.searchsorted(k, np.arange(b + 1)) * 2).tolist()
    flat_parts = parts.tolist()
    return ["".join(flat_parts[bounds[i]:bounds[i + 1]]) for i in range(b)]


def svg_path(matrix: np.ndarray) -> str:
    """One compact SVG path drawing the dark modules: a rectangle per horizontal run,
    stacked runs of the same position and width merged into one taller rectangle."""
    return svg_paths(matrix[None])[0]


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


@lru_cache(maxsize=16)
def _png_rows(height: int, width: int, thread: int) -> np.ndarray:
    """A reusable buffer of PNG scanlines with the filter byte of every row set to "Up"
    (one per thread: callers overwrite its rows)."""
    raw = np.zeros((height, width + 1), dtype=np.uint8)
    raw[:, 0] = 2
    return raw


def png_bytes(matrix: np.ndarray, px_per_module: int, dpi: int) -> bytes:
    """A 1-bit greyscale PNG of a QR matrix, ``px_per_module`` pixels a module, tagged ``dpi``."""
    # Packed pixels of each module row (white = 1 in a 1-bit greyscale PNG). With the PNG
    # filter "Up", every pixel row that repeats the one above is zeros: only the first row
    # of each module row holds bytes, its difference to the module row above.
    packed = np.packbits(np.repeat(~matrix, px_per_module, axis=1), axis=1)
    up = packed.copy()
    up[1:] -= packed[:-1]
    height, width = matrix.shape[0] * px_per_module, matrix.shape[1] * px_per_module
    raw = _png_rows(height, packed.shape[1], threading.get_ident())
    raw[::px_per_module, 1:] = up  # the other rows stay zero from the buffer's creation
    ppm = round(dpi / 0.0254)
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + _chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1))
            + _chunk(b"IDAT", _deflate.compress(raw, DEFLATE_LEVEL))
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
