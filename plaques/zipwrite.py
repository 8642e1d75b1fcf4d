"""Deterministic zip archives assembled from members built anywhere, even in other processes.

A print batch zips 300,000 files. ``zipfile`` would read each one back and compress it in
the writing process; here each member (local header + data) is built where its file is
made, by ``member``, runs of members are appended as they are (``ZipAssembler.append``),
and the central directory is written at the end, with ZIP64 records when the archive needs
them. Fixed timestamps, Unix permissions 0644 and the caller's member order (which must be
sorted) make the same files give the same bytes.
"""
from __future__ import annotations

import os
import shutil
import struct
import zlib
from datetime import date
from pathlib import Path
from typing import BinaryIO, NamedTuple

try:  # ISA-L deflates several times faster than zlib, with smaller output at level 1
    from isal import isal_zlib as _deflate
except ImportError:  # pragma: no cover - same archive contents, other compressed bytes
    _deflate = zlib

STORED, DEFLATED = 0, 8
DEFLATE_LEVEL = 1
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64 = struct.Struct("<4sLQL")
_MAX16, _MAX32 = 0xFFFF, 0xFFFFFFFF
_UTF8 = 0x800
_VERSION, _VERSION64, _UNIX = 20, 45, 3
_MODE = 0o644 << 16


class Member(NamedTuple):
    """A member's central-directory facts; ``offset`` counts from the start of its run."""

    name: bytes
    flags: int
    method: int
    crc: int
    compressed: int
    size: int
    offset: int


def dos_stamp(day: date) -> tuple[int, int]:
    """(time, date) in MS-DOS form: midnight of ``day``."""
    return 0, (day.year - 1980) << 9 | day.month << 5 | day.day


def member(name: str, data: bytes, *, stamp: tuple[int, int], compress: bool, offset: int = 0
           ) -> tuple[bytes, Member]:
    """The local header and data of one member (deflated when ``compress``), and its facts."""
    raw_name = name.encode("utf-8")
    flags = 0 if raw_name.isascii() else _UTF8
    crc = zlib.crc32(data) if _deflate is zlib else _deflate.crc32(data)
    body = _deflate.compress(data, DEFLATE_LEVEL, -15) if compress else data
    method = DEFLATED if compress else STORED
    header = _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, flags, method, stamp[0], stamp[1], crc, len(body), len(data),
                         len(raw_name), 0)
    return header + raw_name + body, Member(raw_name, flags, method, crc, len(body), len(data), offset)


class MemberRun:
    """Members built one after another into one bytes run (a worker's share of an archive)."""

    def __init__(self, stamp: tuple[int, int]) -> None:
        self.stamp = stamp
        self.parts: list[bytes] = []
        self.members: list[Member] = []
        self.size = 0

    def add(self, name: str, data: bytes, *, compress: bool) -> None:
        blob, m = member(name, data, stamp=self.stamp, compress=compress, offset=self.size)
        self.parts.append(blob)
        self.members.append(m)
        self.size += len(blob)

    def write(self, path: Path) -> list[Member]:
        """Write the run to ``path``; returns its members (offsets within the file)."""
        with open(path, "wb") as f:
            f.writelines(self.parts)
        return self.members


class ZipAssembler:
    """Writes an archive from runs of members, then the central directory (``close``)."""

    def __init__(self, path: Path, *, stamp: tuple[int, int]) -> None:
        self.path = Path(path)
        self.stamp = stamp
        self._tmp = self.path.with_name(self.path.name + ".part")
        # Open across calls (add, append, close); close() or abort() closes it.
        self._f: BinaryIO = open(self._tmp, "wb")  # noqa: SIM115
        self._members: list[Member] = []
        self._last = b""

    def _record(self, members: list[Member], base: int) -> None:
        for m in members:
            if m.name <= self._last:
                raise ValueError(f"zip members out of order: {m.name!r} after {self._last!r}")
            self._last = m.name
            self._members.append(m._replace(offset=base + m.offset))

    def add(self, name: str, data: bytes, *, compress: bool) -> None:
        """One member from bytes in memory."""
        blob, m = member(name, data, stamp=self.stamp, compress=compress)
        base = self._f.tell()
        self._record([m], base)
        self._f.write(blob)

    def append(self, run: Path, members: list[Member]) -> None:
        """A run of members written by ``MemberRun.write``, copied as it is."""
        base = self._f.tell()
        self._record(members, base)
        self._f.flush()
        size = os.path.getsize(run)
        copied = 0
        with open(run, "rb") as src:
            try:  # an in-kernel copy, at explicit offsets (the file positions stay put)
                while copied < size:
                    n = os.copy_file_range(src.fileno(), self._f.fileno(), size - copied, copied, base + copied)
                    if n == 0:
                        break
                    copied += n
            except OSError:
                pass
            if copied < size:
                src.seek(copied)
                self._f.seek(base + copied)
                shutil.copyfileobj(src, self._f)
        self._f.seek(base + size)

    def close(self) -> Path:
        """Write the central directory and move the archive into place."""
        start = self._f.tell()
        central = []
        for m in self._members:
            extra, offset, version = b"", m.offset, _VERSION
            if m.offset >= _MAX32:
                extra, offset, version = struct.pack("<HHQ", 1, 8, m.offset), _MAX32, _VERSION64
            central.append(_CENTRAL.pack(b"PK\x01\x02", version, _UNIX, version, 0, m.flags, m.method, self.stamp[0],
                                         self.stamp[1], m.crc, m.compressed, m.size, len(m.name), len(extra), 0, 0,
                                         0, _MODE, offset) + m.name + extra)
        self._f.writelines(central)
        end = self._f.tell()
        count, size = len(self._members), end - start
        if count >= _MAX16 or start >= _MAX32 or size >= _MAX32:
            self._f.write(_END64.pack(b"PK\x06\x06", 44, _VERSION64, _VERSION64, 0, 0, count, count, size, start))
            self._f.write(_LOCATOR64.pack(b"PK\x06\x07", 0, end, 1))
        self._f.write(_END.pack(b"PK\x05\x06", 0, 0, min(count, _MAX16), min(count, _MAX16), min(size, _MAX32),
                                min(start, _MAX32), 0))
        self._f.close()
        self._tmp.replace(self.path)
        return self.path

    def abort(self) -> None:
        """Drop the unfinished archive."""
        self._f.close()
        self._tmp.unlink(missing_ok=True)
