"""File digests that are not recomputed while the file system says the file is unchanged.

The landing zone holds gigabytes that are hashed every night only to learn that they were
loaded before. A digest is recorded with the file's stamp (device, inode, size, mtime in
ns); while the stamp is unchanged the recorded digest is taken without reading the file.
This is the trust git's index places in stat data, minus ctime (hard-linking a file, as
copies of a landing zone made with `cp -al` do, changes its ctime, not its content). A file
rewritten in place gets a new mtime (and usually size), so it is read again; `touch` forces
that. As in git, a file modified within `RACY_NS` of being hashed is not recorded: a write
landing in the same timestamp tick as the hash could otherwise hide behind an equal stamp.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

RACY_NS = 2_000_000_000  # further than any file-system timestamp granularity or lag


def file_sha256(path: Path, chunk: int = 8 << 20) -> str:
    """The SHA-256 of the file's bytes (hex), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileStamp:
    """What the file system says about a file without reading it (ctime left out)."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp:
        st = os.stat(path)
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class KnownHash:
    """A file's digest as recorded with the stamp it had when it was read."""

    stamp: FileStamp
    sha256: str


def stamped_sha256(path: Path, known: KnownHash | None = None) -> tuple[str, KnownHash | None]:
    """The file's SHA-256 and what to record for next time.

    `known` (what was recorded for this file) is trusted when the file's stamp still equals
    its stamp: the file is not opened and nothing new is returned to record. Otherwise the
    file is read; the digest is returned to record only when the stamp was the same before
    and after the read and the file was not modified just before it (else it is read again
    next time).
    """
    before = FileStamp.of(path)
    if known is not None and known.stamp == before:
        return known.sha256, None
    stat_ns = time.time_ns()
    sha = file_sha256(path)
    settled = FileStamp.of(path) == before and before.mtime_ns < stat_ns - RACY_NS
    return sha, KnownHash(before, sha) if settled else None


def cached_file_sha256(path: Path, record: Path) -> str:
    """The file's SHA-256, kept in the small JSON file `record` (one file per record) so an
    unchanged file is not read again: for single inputs outside the warehouse (e.g. the
    compound outlines). A missing or unreadable record only costs one read of the file."""
    try:
        kept = json.loads(Path(record).read_text(encoding="utf-8"))
        known = KnownHash(FileStamp(**kept["stamp"]), kept["sha256"])
    except Exception:  # noqa: BLE001 - absent, half-written or of another layout: hash afresh
        known = None
    sha, fresh = stamped_sha256(Path(path), known)
    if fresh is not None:
        record = Path(record)
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_name(f".{record.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"stamp": asdict(fresh.stamp), "sha256": fresh.sha256}), encoding="utf-8")
        os.replace(tmp, record)
    return sha
