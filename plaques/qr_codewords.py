"""The codewords of a QR symbol: ``qrcode``'s segments, encoded without its per-bit loops.

``qrcode.util.create_data`` builds the bit stream one bit at a time and divides
Reed–Solomon polynomials recursively; at thousands of codes a run that is most of the
QR cost. This does the same computation with an integer bit buffer and a table-driven
Reed–Solomon remainder; the tests compare whole symbols with ``qrcode``'s own.
"""
from __future__ import annotations

from qrcode import LUT, base, exceptions, util

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
