"""Record the landing files' digests in a warehouse made before `ops.file_hashes` existed, so
a benchmark's next nightly run shows what a night costs once the digests are recorded (a
warehouse built by this code records them itself, on its first run).

    nice python -m bench.prime_file_hashes /tmp/me/wh.duckdb /tmp/me/landing

Each file is read once; its digest is recorded with its stamp, as ingestion would record it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from ingest.filehash import stamped_sha256
from ingest.landing import _landing_files, _sources_root
from ingest.upsert import HASHES, HASHES_DDL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path, help="a warehouse file (not one another process has open)")
    parser.add_argument("data", type=Path, help="the DATA_DIR the runs ingest (only read)")
    args = parser.parse_args()
    rows = []
    for folder in sorted(p for p in _sources_root(args.data).iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in _landing_files(folder):
            sha, known = stamped_sha256(path)
            if known is not None:  # not one modified a moment ago
                s = known.stamp
                rows.append((path.relative_to(args.data).as_posix(), s.device, s.inode, s.size, s.mtime_ns, sha))
    with duckdb.connect(str(args.warehouse)) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS ops")
        conn.execute(HASHES_DDL)
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"DELETE FROM {HASHES}")
        conn.executemany(f"INSERT INTO {HASHES} VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    print(f"recorded {len(rows)} digests in {args.warehouse}")


if __name__ == "__main__":
    main()
