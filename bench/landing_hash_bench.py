"""Landing-zone digests: every file read and hashed (before) against digests recorded with
the files' stamps (after: a night where no file changed), CPU and wall seconds.

    nice python -m bench.landing_hash_bench /tmp/ss20/data

The landing zone is only read. The first pass also warms the page cache, so the figures
are those of a night whose files are cached in memory (the best case for reading them).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ingest.filehash import FileStamp, KnownHash, file_sha256, stamped_sha256


def _timed(label: str, work) -> object:
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    print(f"{label:38s} cpu {time.process_time() - cpu:6.2f}s  wall {time.perf_counter() - wall:6.2f}s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a DATA_DIR with sources/<source>/ (only read)")
    args = parser.parse_args()
    files = sorted(p for p in (args.data / "sources").rglob("*") if p.is_file() and not p.name.startswith("."))
    size = sum(p.stat().st_size for p in files)
    print(f"{len(files)} files, {size / 2**30:.2f} GiB")
    _timed("warm-up read (page cache)", lambda: [file_sha256(p) for p in files])
    digests = _timed("before: hash every file", lambda: {p: file_sha256(p) for p in files})
    known = {p: KnownHash(FileStamp.of(p), sha) for p, sha in digests.items()}
    after = _timed("after: stamps equal, digests recorded", lambda: {p: stamped_sha256(p, known[p])[0] for p in files})
    assert after == digests


if __name__ == "__main__":
    main()
