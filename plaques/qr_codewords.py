"""The codewords of a QR symbol: ``qrcode``'s segments, encoded without its per-bit loops.

``qrcode.util.create_data`` builds the bit stream one bit at a time and divides
Reed–Solomon polynomials recursively; at thousands of codes a run that is most of the
QR cost. This does the same computation with an integer bit buffer and a table-driven
Reed–Solomon remainder; the tests compare whole symbols with ``qrcode``'s own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from qrcode import LUT, base, exceptions, util
from qrcode.main import QRCode

_EXP = base.EXP_TABLE
_LOG = base.LOG_TABLE


class _IntBuffer:
    """A bit buffer on one Python int (what ``QRData.write`` needs: ``put``)."""

    __slots__ = ("length", "value")

    def __init__(self) -> None:
        self.value = 0
        self.length = 0

    def put(self, num: int, length: int) -> None:
        self.value = (self.value << length) | (num & ((1 << length) - 1))
        self.length += length


def _generator(ec_count: int) -> list[int]:
    if ec_count in LUT.rsPoly_LUT:
        return list(LUT.rsPoly_LUT[ec_count])
    poly = base.Polynomial([1], 0)
    for i in range(ec_count):
        poly = poly * base.Polynomial([1, base.gexp(i)], 0)
    return [poly[i] for i in range(len(poly))]


def _ec_bytes(data: list[int], generator: list[int]) -> list[int]:
    """The Reed–Solomon remainder of ``data`` (the block's error-correction codewords)."""
    ec_count = len(generator) - 1
    gen_log = [_LOG[g] if g else None for g in generator]
    rem = list(data) + [0] * ec_count
    for i in range(len(data)):
        coef = rem[i]
        if coef:
            lc = _LOG[coef]
            for j in range(1, ec_count + 1):
                gl = gen_log[j]
                if gl is not None:
                    rem[i + j] ^= _EXP[(lc + gl) % 255]
    return rem[len(data):]


def create_data(version: int, error_correction: int, data_list: list) -> list[int]:
    """Interleaved data and error-correction codewords, as ``qrcode.util.create_data``."""
    buf = _IntBuffer()
    for data in data_list:
        buf.put(data.mode, 4)
        buf.put(len(data), util.length_in_bits(data.mode, version))
        data.write(buf)
    blocks = base.rs_blocks(version, error_correction)
    bit_limit = sum(b.data_count * 8 for b in blocks)
    if buf.length > bit_limit:
        raise exceptions.DataOverflowError(f"Code length overflow ({buf.length} > {bit_limit} bits)")
    buf.put(0, min(bit_limit - buf.length, 4))  # terminator
    if buf.length % 8:
        buf.put(0, 8 - buf.length % 8)
    for i in range((bit_limit - buf.length) // 8):
        buf.put(util.PAD0 if i % 2 == 0 else util.PAD1, 8)
    stream = list(buf.value.to_bytes(buf.length // 8, "big"))

    dc_blocks, ec_blocks, offset = [], [], 0
    for b in blocks:
        dc = stream[offset:offset + b.data_count]
        offset += b.data_count
        dc_blocks.append(dc)
        ec_blocks.append(_ec_bytes(dc, _generator(b.total_count - b.data_count)))
    out = []
    for group in (dc_blocks, ec_blocks):
        for i in range(max(len(x) for x in group)):
            out.extend(x[i] for x in group if i < len(x))
    return out


# --- Many symbols at once -------------------------------------------------------------
# A print batch encodes thousands of URLs that share one pattern (base URL, serial, signature):
# the same segments at the same positions, so the same bit layout. ``Layout`` is that shared
# layout, found once by ``qrcode`` itself; ``codewords`` then encodes a whole group of such
# URLs with array operations, one step per codeword position instead of per bit and symbol.

_EXP_NP = np.array(_EXP, dtype=np.int32)
_LOG_NP = np.array(_LOG, dtype=np.int32)
# The character class of each byte as qrcode's segmenter sees it: digits, the other
# alphanumeric characters, anything else.
_CLASS = bytes((ord("n") if chr(b).isdigit() and b < 128 else ord("a") if bytes([b]) in util.ALPHA_NUM
                else ord("b")) for b in range(256))
OPTIMIZE = 20  # qrcode's default: numeric and alphanumeric runs this long get their own segment
_NUMERIC_RUN = re.compile(rb"n{%d,}" % OPTIMIZE)
_ALNUM_VALUE = np.full(256, -1, dtype=np.int32)
_ALNUM_VALUE[np.frombuffer(util.ALPHA_NUM, dtype=np.uint8)] = np.arange(len(util.ALPHA_NUM))


@dataclass(frozen=True)
class Layout:
    """The segments (mode, start, length) and version ``qrcode`` chooses for data of a shape."""

    version: int
    segments: tuple[tuple[int, int, int], ...]
    length: int


def segment_key(data: bytes) -> bytes:
    """What ``qrcode``'s segmentation of ``data`` depends on, and all: the character
    classes, digits counting as alphanumeric except in runs long enough to become numeric
    segments (``optimal_data_chunks`` with ``OPTIMIZE``)."""
    shape = data.translate(_CLASS)
    if len(shape) <= OPTIMIZE:  # qrcode then only asks whether the whole is one mode
        return shape if shape.count(b"n") == len(shape) else shape.replace(b"n", b"a")
    if b"n" * OPTIMIZE in shape:
        shape = _NUMERIC_RUN.sub(lambda m: b"N" * len(m.group(0)), shape)
    return shape.replace(b"n", b"a")


_LAYOUTS: dict[tuple[bytes, int], Layout] = {}


def layout(data: bytes, error_correction: int) -> Layout:
    """The layout of ``data`` (computed by ``qrcode`` once per segment key)."""
    key = (segment_key(data), error_correction)
    found = _LAYOUTS.get(key)
    if found is None:
        if len(_LAYOUTS) > 1024:
            _LAYOUTS.clear()
        qr = QRCode(error_correction=error_correction, border=0)
        qr.add_data(data, optimize=OPTIMIZE)
        version = qr.best_fit()
        segments, start = [], 0
        for chunk in qr.data_list:
            segments.append((chunk.mode, start, len(chunk)))
            start += len(chunk)
        found = _LAYOUTS[key] = Layout(version=version, segments=tuple(segments), length=len(data))
    return found


def _int_bits(values: np.ndarray, width: int) -> np.ndarray:
    """(b, k) integers as (b, k * width) bits, most significant first."""
    shifts = np.arange(width - 1, -1, -1, dtype=np.int32)
    return ((values[:, :, None] >> shifts) & 1).astype(np.uint8).reshape(values.shape[0], -1)


def _segment_bits(chars: np.ndarray, mode: int) -> np.ndarray:
    """The data bits of one segment for a (b, length) array of byte values."""
    b, n = chars.shape
    if mode == util.MODE_8BIT_BYTE:
        return np.unpackbits(chars.astype(np.uint8), axis=1)
    parts = []
    if mode == util.MODE_ALPHA_NUM:
        v = _ALNUM_VALUE[chars]
        pairs = n // 2
        if pairs:
            parts.append(_int_bits(v[:, 0:2 * pairs:2] * 45 + v[:, 1:2 * pairs:2], 11))
        if n % 2:
            parts.append(_int_bits(v[:, -1:], 6))
    elif mode == util.MODE_NUMBER:
        d = chars.astype(np.int32) - ord("0")
        triples = n // 3
        if triples:
            parts.append(_int_bits(d[:, 0:3 * triples:3] * 100 + d[:, 1:3 * triples:3] * 10
                                   + d[:, 2:3 * triples:3], 10))
        rest = n % 3
        if rest:
            tail = d[:, 3 * triples:]
            value = tail[:, 0] * 10 + tail[:, 1] if rest == 2 else tail[:, 0]
            parts.append(_int_bits(value[:, None], util.NUMBER_LENGTH[rest]))
    else:
        raise ValueError(f"unsupported QR mode {mode}")
    return np.concatenate(parts, axis=1) if parts else np.zeros((b, 0), np.uint8)


def _const_bits(value: int, width: int, b: int) -> np.ndarray:
    return np.broadcast_to(_int_bits(np.array([[value]], dtype=np.int32), width), (b, width))


@lru_cache(maxsize=64)
def _interleave_order(version: int, error_correction: int) -> tuple[np.ndarray, tuple]:
    """Where each codeword of the blocks laid end to end (data blocks, then EC blocks) goes."""
    blocks = base.rs_blocks(version, error_correction)
    spans, at = [], 0
    for counts in ([b.data_count for b in blocks], [b.total_count - b.data_count for b in blocks]):
        group = []
        for c in counts:
            group.append((at, c))
            at += c
        spans.append(group)
    order = [start + i for group in spans for i in range(max(c for _, c in group))
             for start, c in group if i < c]
    return np.array(order), tuple((b.data_count, b.total_count - b.data_count) for b in blocks)


def _ec_codewords(data: np.ndarray, generator: list[int]) -> np.ndarray:
    """The Reed–Solomon remainders of a (b, k) array of data blocks, as ``_ec_bytes`` per row."""
    b, k = data.shape
    ec = len(generator) - 1
    gen = np.array(generator[1:], dtype=np.int32)
    gen_log, gen_used = _LOG_NP[gen], gen != 0
    rem = np.zeros((b, k + ec), dtype=np.int32)
    rem[:, :k] = data
    for i in range(k):
        coef = rem[:, i]
        terms = _EXP_NP[(_LOG_NP[coef][:, None] + gen_log) % 255]
        terms *= (coef != 0)[:, None] & gen_used
        rem[:, i + 1:i + 1 + ec] ^= terms
    return rem[:, k:]


def codewords(chars: np.ndarray, lay: Layout, error_correction: int) -> np.ndarray:
    """Interleaved codewords (b, total) of a (b, length) array of data bytes sharing ``lay``:
    row for row what ``create_data`` gives."""
    b = chars.shape[0]
    parts = []
    for mode, start, length in lay.segments:
        parts.append(_const_bits(mode, 4, b))
        parts.append(_const_bits(length, util.length_in_bits(mode, lay.version), b))
        parts.append(_segment_bits(chars[:, start:start + length], mode))
    n_bits = sum(p.shape[1] for p in parts)
    blocks = base.rs_blocks(lay.version, error_correction)
    bit_limit = sum(x.data_count * 8 for x in blocks)
    if n_bits > bit_limit:
        raise exceptions.DataOverflowError(f"Code length overflow ({n_bits} > {bit_limit} bits)")
    n_zero = min(bit_limit - n_bits, 4)
    n_zero += (-(n_bits + n_zero)) % 8
    parts.append(np.zeros((b, n_zero), np.uint8))
    data = np.packbits(np.concatenate(parts, axis=1), axis=1)
    pad = np.resize(np.array([util.PAD0, util.PAD1], dtype=np.uint8), bit_limit // 8 - data.shape[1])
    data = np.concatenate([data, np.broadcast_to(pad, (b, pad.size))], axis=1).astype(np.int32)

    order, sizes = _interleave_order(lay.version, error_correction)
    dc, ec, at = [], [], 0
    for data_count, ec_count in sizes:
        block = data[:, at:at + data_count]
        at += data_count
        dc.append(block)
        ec.append(_ec_codewords(block, _generator(ec_count)))
    return np.concatenate(dc + ec, axis=1)[:, order].astype(np.uint8)
