"""QR codes for plaques: the module matrix, a compact vector SVG and a 600-dpi PNG.

The ``qrcode`` package encodes the data (error correction Q, for outdoor plaques that
weather and get dirty). Choosing the mask is the slow part of ``qrcode`` (eight full
builds scored in pure Python, ~5 ms); here the eight candidates are derived from one build
by XOR on the data area and scored with NumPy, using the standard's penalty rules, which
brings a code to about a millisecond — a demo run prints thousands.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import qrcode
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.main import precomputed_qr_blanks
from qrcode.util import mask_func

QUIET_ZONE = 4  # modules of light margin on every side, as the standard asks
ERROR_CORRECTION = ERROR_CORRECT_Q
DEFAULT_MODULE_MM = 1.0
DEFAULT_DPI = 600
_FINDER_LIKE = (
    np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool),
    np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1], dtype=bool),
)


def _grid(modules: list[list[bool | None]]) -> tuple[np.ndarray, np.ndarray]:
    """(value, is_set) arrays of a ``qrcode`` module grid that may hold ``None``."""
    is_set = np.array([[m is not None for m in row] for row in modules], dtype=bool)
    value = np.array([[bool(m) for m in row] for row in modules], dtype=bool)
    return value, is_set


@lru_cache(maxsize=64)
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
def _mask_pattern(version: int, mask: int) -> np.ndarray:
    n = version * 4 + 17
    rows, cols = np.indices((n, n))
    return np.vectorize(mask_func(mask))(rows, cols).astype(bool)


def _runs(m: np.ndarray) -> int:
    """Penalty N1: every row run of 5+ same-colour modules scores its length - 2."""
    n = m.shape[0]
    a = np.concatenate([m.astype(np.int8), np.full((n, 1), 2, np.int8)], axis=1).ravel()
    starts = np.r_[0, np.flatnonzero(np.diff(a)) + 1]
    lengths = np.diff(np.r_[starts, a.size])
    lengths = lengths[a[starts] != 2]
    long = lengths[lengths >= 5]
    return int((long - 2).sum())


def _finder_like(m: np.ndarray) -> int:
    """Penalty N3: patterns that look like a finder pattern, 40 each."""
    windows = sliding_window_view(m, 11, axis=1)
    return 40 * int(sum((windows == p).all(axis=-1).sum() for p in _FINDER_LIKE))


def penalty(m: np.ndarray) -> int:
    """The standard's mask penalty (ISO/IEC 18004 §7.8.3) of a symbol without quiet zone."""
    n1 = _runs(m) + _runs(m.T)
    same = (m[:-1, :-1] == m[1:, :-1]) & (m[:-1, :-1] == m[:-1, 1:]) & (m[:-1, :-1] == m[1:, 1:])
    n2 = 3 * int(same.sum())
    n3 = _finder_like(m) + _finder_like(m.T)
    dark = m.mean() * 100
    n4 = 10 * int(abs(dark - 50) // 5)
    return n1 + n2 + n3 + n4


def _symbol(url: str, error_correction: int) -> np.ndarray:
    """The symbol (no quiet zone) of ``url`` with the lowest-penalty mask."""
    qr = qrcode.QRCode(error_correction=error_correction, border=0, mask_pattern=0)
    qr.add_data(url)
    qr.make(fit=True)
    version = qr.version
    m0 = np.array(qr.modules, dtype=bool)
    _, data_area = _function_layer(version, error_correction, 0)
    unmasked = m0 ^ (_mask_pattern(version, 0) & data_area)
    best_mask, best_score = 0, None
    for mask in range(8):
        # Scored like qrcode scores it (format info blank), so both pick the same mask.
        test_layer, _ = _function_layer(version, error_correction, mask, True)
        score = penalty(np.where(data_area, unmasked ^ _mask_pattern(version, mask), test_layer))
        if best_score is None or score < best_score:
            best_mask, best_score = mask, score
    final_layer, _ = _function_layer(version, error_correction, best_mask)
    return np.where(data_area, unmasked ^ _mask_pattern(version, best_mask), final_layer)


def qr_matrix(url: str, *, error_correction: int = ERROR_CORRECTION) -> np.ndarray:
    """The QR code of ``url`` as a boolean matrix (True = dark), quiet zone included."""
    return np.pad(_symbol(url, error_correction), QUIET_ZONE, constant_values=False)


def svg_path(matrix: np.ndarray) -> str:
    """One compact SVG path drawing the dark modules, a rectangle per horizontal run."""
    n_rows, n_cols = matrix.shape
    padded = np.zeros((n_rows, n_cols + 2), dtype=np.int8)
    padded[:, 1:-1] = matrix
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return "".join(
        f"M{x} {y}h{w}v1h-{w}z" for y, x, w in zip(rows.tolist(), starts.tolist(), (ends - starts).tolist())
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


def qr_image(matrix: np.ndarray, px_per_module: int) -> Image.Image:
    """A 1-bit image of a QR matrix, ``px_per_module`` pixels a module (dark = 0)."""
    big = np.repeat(np.repeat(~matrix, px_per_module, axis=0), px_per_module, axis=1)
    # Packing the bits ourselves is several times faster than PIL converting a bool array.
    return Image.frombytes("1", (big.shape[1], big.shape[0]), np.packbits(big, axis=1).tobytes())


def write_qr_png(url: str, path: Path, *, module_mm: float = DEFAULT_MODULE_MM, dpi: int = DEFAULT_DPI,
                 matrix: np.ndarray | None = None) -> Path:
    """Write the QR code of ``url`` as a 1-bit PNG at ``dpi`` with modules ``module_mm`` wide.

    A module is a whole number of pixels (rounded), so the printed module is within half a
    pixel (0.02 mm at 600 dpi) of ``module_mm``; pass ``matrix`` to reuse one already built.
    """
    m = qr_matrix(url) if matrix is None else matrix
    px = max(1, round(module_mm / 25.4 * dpi))
    path = Path(path)
    # Level 1: rows repeat, so fast deflate is nearly as small as the default and 2x faster.
    qr_image(m, px).save(path, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return path
